package io.lethe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lethe.api.Lethe;
import io.lethe.api.Status;
import io.lethe.types.ForgetPlan;
import io.lethe.types.ForgetRequest;
import io.lethe.types.ForgetResult;
import io.lethe.types.IngestPlan;
import io.lethe.types.PurgePlan;
import io.lethe.types.PurgeReport;
import io.lethe.types.TrainPlan;
import io.lethe.types.TrainResult;
import io.lethe.types.VerifyReport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The public API end to end on a small Adult store: every operation's plan() changes nothing, its
 * execute() does the work; failures are the named exceptions. The lifecycle (ingest, train,
 * forget, purge) runs once, taking each plan and the state around it at the moment a user would;
 * each test then checks one behaviour of it, so that one failure hides no other.
 */
class LetheApiTest extends LetheTestBase {
  @TempDir
  static Path dir;

  private static final ForgetRequest REQUEST = ForgetRequest.ofSubjects(List.of("5", "77", "404"));
  private static LetheConfig config;
  private static Lethe lethe;
  private static Throwable trainBeforeIngest;
  private static IngestPlan ingestPlan;
  private static boolean storeAfterIngestPlan;
  private static long ingested;
  private static Throwable secondIngest;
  private static boolean appendCreates;
  private static TrainPlan trainPlan;
  private static boolean publishedAfterTrainPlan;
  private static boolean modelsAfterTrainPlan;
  private static TrainResult trained;
  private static List<Integer> staleAfterTraining;
  private static long versionBeforeForget;
  private static ForgetPlan forgetPlan;
  private static long versionAfterForgetPlan;
  private static boolean ledgerAfterForgetPlan;
  private static ForgetResult forgot;
  private static long versionAfterForget;
  private static PurgePlan purgePlan;
  private static long requestsAfterSecondPurgePlan;
  private static PurgeReport purged;
  private static long requestsAfterPurge;

  @BeforeAll
  static void lifecycle() {
    // Forgetting leaves purging to purge, so that purge has requests to plan for.
    config = adultConfig(2, dir, Map.of("train.param.maxIter", "20", "forget.purge", "false",
        "purge.retention-hours", "0"));
    lethe = Lethe.get(spark(), config);
    trainBeforeIngest = catchThrowable(() -> lethe.train().plan());
    ingestPlan = lethe.ingest(adultTrain(600)).plan();
    storeAfterIngestPlan = Files.exists(Path.of(config.get(LetheConfig.STORE_PATH)));
    ingested = lethe.ingest(adultTrain(600)).execute().rows();
    secondIngest = catchThrowable(() -> lethe.ingest(adultTrain(600)).plan());
    appendCreates = lethe.ingest(adultTrain(600)).append(true).plan().creates();

    trainPlan = lethe.train().plan();
    publishedAfterTrainPlan = lethe.internals().registry().latest().isPresent();
    modelsAfterTrainPlan = Files.exists(Path.of(config.get(LetheConfig.MODELS_PATH)));
    trained = lethe.train().execute();
    staleAfterTraining = lethe.train().staleShards().plan().shards();

    versionBeforeForget = lethe.internals().store().currentVersion();
    forgetPlan = lethe.forget(REQUEST).plan();
    versionAfterForgetPlan = lethe.internals().store().currentVersion();
    ledgerAfterForgetPlan = lethe.internals().ledger().exists();
    forgot = lethe.forget(REQUEST).membershipAudit(adultTest(300)).execute();
    versionAfterForget = lethe.internals().store().currentVersion();

    purgePlan = lethe.purge().plan();
    requestsAfterSecondPurgePlan = lethe.purge().plan().requests();
    purged = lethe.purge().execute();
    requestsAfterPurge = lethe.purge().plan().requests();
  }

  private static Throwable catchThrowable(Runnable call) {
    try {
      call.run();
      return null;
    } catch (RuntimeException e) {
      return e;
    }
  }

  @Test
  void theStoreIsOpenedOnFirstUse() {
    assertThat(trainBeforeIngest).isInstanceOf(StoreNotFoundException.class).hasMessageContaining("No Lethe store at");
  }

  @Test
  void anIngestPlanWritesNothingAndItsExecuteWritesTheRows() {
    assertThat(ingestPlan.creates()).isTrue();
    assertThat(ingestPlan.layout().shards()).isEqualTo(2);
    assertThat(ingestPlan.layout().labelClasses()).containsExactly("<=50K", ">50K");
    assertThat(storeAfterIngestPlan).as("an ingest plan writes nothing").isFalse();
    assertThat(ingested).isEqualTo(600);
  }

  @Test
  void aSecondIngestMustSayAppend() {
    assertThat(secondIngest).isInstanceOf(InvalidRequestException.class).hasMessageContaining("use --append");
    assertThat(appendCreates).isFalse();
  }

  @Test
  void aTrainPlanPublishesNothingAndItsExecuteTrainsEveryShard() {
    assertThat(trainPlan.shards()).containsExactly(0, 1);
    assertThat(trainPlan.engine()).isEqualTo("tasks");
    assertThat(trainPlan.strategy()).isEqualTo("shard-retrain");
    assertThat(publishedAfterTrainPlan).as("a train plan publishes nothing").isFalse();
    assertThat(modelsAfterTrainPlan).isFalse();
    assertThat(trained.trainedShards()).containsExactly(0, 1);
    assertThat(staleAfterTraining).as("nothing is stale after training").isEmpty();
  }

  @Test
  void aForgetPlanDeletesAndRecordsNothing() {
    assertThat(forgetPlan.found()).isEqualTo(3);
    assertThat(versionAfterForgetPlan).as("a forget plan deletes nothing").isEqualTo(versionBeforeForget);
    assertThat(ledgerAfterForgetPlan).as("nor records anything").isFalse();
  }

  @Test
  void aForgetRetrainsThePlannedShardsAndLeavesThePurge() {
    assertThat(forgot.retrainedShards()).isEqualTo(forgetPlan.shardsToRetrain());
    assertThat(forgot.purgePending()).isEqualTo(3);
    assertThat(versionAfterForget).isGreaterThan(versionBeforeForget);
  }

  @Test
  void aPurgePlanPurgesNothingAndItsExecuteFinishesTheRequests() {
    assertThat(purgePlan.requests()).isEqualTo(3);
    assertThat(purgePlan.shards()).containsExactlyInAnyOrderElementsOf(forgetPlan.hitShards());
    assertThat(requestsAfterSecondPurgePlan).as("a purge plan purges nothing").isEqualTo(3);
    assertThat(purged.forgotten()).isEqualTo(3);
    assertThat(requestsAfterPurge).isZero();
  }

  @Test
  void verifyChecksTheLatestBatchAndRefusesAnUnknownOne() {
    assertThat(lethe.verify().plan().batchId()).as("the latest batch by default").isEqualTo(forgot.batchId());
    assertThat(lethe.verify().plan().ids()).isZero();
    VerifyReport report = lethe.verify().batch(forgot.batchId()).heldOut(adultTest(300)).execute();
    assertThat(report.passed()).as(report.checks().toString()).isTrue();
    assertThat(report.evidence()).as("the forget run recorded membership evidence").isNotNull();
    assertThatThrownBy(() -> lethe.verify().batch("no-such-batch").execute())
        .isInstanceOf(InvalidRequestException.class).hasMessageContaining("No forget batch no-such-batch");
  }

  @Test
  void scoreUsesThePublishedEnsemble() {
    assertThat(lethe.score(adultTest(50)).plan()).isEqualTo(new io.lethe.api.Score.Plan(forgot.ensembleVersion(), 2));
    Dataset<Row> scored = lethe.score(adultTest(50)).execute();
    assertThat(scored.count()).isEqualTo(50);
    assertThat(scored.select("predicted_label").distinct().collectAsList()).extracting(r -> r.getString(0))
        .isSubsetOf("<=50K", ">50K");
    assertThat(scored.select("probability").head().<Object>getList(0)).hasSize(2);
    assertThatThrownBy(() -> lethe.score(adultTest(5)).ensembleVersion(99).plan())
        .isInstanceOf(InvalidRequestException.class);
  }

  @Test
  void theEnsembleIsASparkMlModelAndItsAccuracyBeatsTheMajorityClass() {
    org.apache.spark.ml.Model<?> model = lethe.score(adultTest(400)).model();
    assertThat(model.transform(adultTest(400)).columns()).contains("prediction", "probability");
    model.set(model.getParam("aggregation"), "hard");
    double[] votes = model.transform(adultTest(400)).select("probability").head().<org.apache.spark.ml.linalg.Vector>getAs(0)
        .toArray();
    assertThat(java.util.Arrays.stream(votes).boxed().toList()).as("two sub-models' votes").isSubsetOf(0.0, 0.5, 1.0);
    double accuracy = lethe.score(adultTest(400)).evaluate();
    assertThat(accuracy).isGreaterThan(majorityRate(adultTest(400), "income") + 0.02);
  }

  @Test
  void statusSaysWhatTheLifecycleLeft() {
    Status.Report status = lethe.status().execute();
    assertThat(status.storeVersion()).isEqualTo(lethe.internals().store().currentVersion());
    assertThat(status.rowsPerShard().values().stream().mapToLong(Long::longValue).sum()).isEqualTo(597);
    assertThat(status.published().version()).isEqualTo(forgot.ensembleVersion());
    assertThat(status.staleShards()).isEmpty();
    assertThat(status.shardsTrainedOnDeletedRows()).isEmpty();
    assertThat(status.ledger().requestsByStatus()).containsEntry("forgotten", 3L);
  }

  @Test
  void aShardThatDoesNotExistIsRefused() {
    assertThatThrownBy(() -> lethe.train().shards(List.of(7)).plan()).isInstanceOf(InvalidRequestException.class)
        .hasMessageContaining("Shard 7 does not exist");
  }
}
