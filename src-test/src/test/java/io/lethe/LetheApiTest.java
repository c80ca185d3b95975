package io.lethe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lethe.api.Lethe;
import io.lethe.api.Status;
import io.lethe.forget.ForgetPlan;
import io.lethe.forget.ForgetRequest;
import io.lethe.forget.ForgetResult;
import io.lethe.forget.Purger;
import io.lethe.store.ShardedStore;
import io.lethe.train.TrainPlan;
import io.lethe.train.TrainResult;
import io.lethe.verify.VerifyReport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The public API end to end on a small Adult store: every operation's plan() changes nothing, its
 * execute() does the work; failures are the named exceptions.
 */
class LetheApiTest extends LetheTestBase {
  @TempDir
  static Path dir;

  @Test
  void plansChangeNothingAndExecuteDoesTheWork() {
    // Forgetting leaves purging to purge, so that purge has requests to plan for.
    LetheConfig config = adultConfig(2, dir, Map.of("train.param.maxIter", "20", "forget.purge", "false",
        "purge.retention-hours", "0"));
    Lethe lethe = Lethe.get(spark(), config);
    assertThatThrownBy(() -> lethe.train().plan()).as("the store is opened on first use")
        .isInstanceOf(StoreNotFoundException.class).hasMessageContaining("No Lethe store at");
    ShardedStore.IngestPlan ingestPlan = lethe.ingest(adultTrain(600)).plan();
    assertThat(ingestPlan.creates()).isTrue();
    assertThat(ingestPlan.layout().shards()).isEqualTo(2);
    assertThat(ingestPlan.layout().labelClasses()).containsExactly("<=50K", ">50K");
    assertThat(Files.exists(Path.of(config.get(LetheConfig.STORE_PATH)))).as("an ingest plan writes nothing").isFalse();
    assertThat(lethe.ingest(adultTrain(600)).execute().rows()).isEqualTo(600);
    assertThatThrownBy(() -> lethe.ingest(adultTrain(600)).plan()).isInstanceOf(InvalidRequestException.class)
        .hasMessageContaining("use --append");
    assertThat(lethe.ingest(adultTrain(600)).append(true).plan().creates()).isFalse();

    TrainPlan trainPlan = lethe.train().plan();
    assertThat(trainPlan.shards()).containsExactly(0, 1);
    assertThat(trainPlan.engine()).isEqualTo("tasks");
    assertThat(trainPlan.strategy()).isEqualTo("shard-retrain");
    assertThat(lethe.registry().latest()).as("a train plan publishes nothing").isEmpty();
    assertThat(Files.exists(Path.of(config.get(LetheConfig.MODELS_PATH)))).isFalse();
    TrainResult trained = lethe.train().execute();
    assertThat(trained.trainedShards()).containsExactly(0, 1);
    assertThat(lethe.train().staleShards().plan().shards()).as("nothing is stale after training").isEmpty();

    ForgetRequest request = ForgetRequest.ofSubjects(List.of("5", "77", "404"));
    long version = lethe.store().currentVersion();
    ForgetPlan forgetPlan = lethe.forget(request).plan();
    assertThat(forgetPlan.found()).isEqualTo(3);
    assertThat(lethe.store().currentVersion()).as("a forget plan deletes nothing").isEqualTo(version);
    assertThat(lethe.ledger().exists()).as("nor records anything").isFalse();
    ForgetResult forgot = lethe.forget(request).membershipAudit(adultTest(300)).execute();
    assertThat(forgot.retrainedShards()).isEqualTo(forgetPlan.shardsToRetrain());
    assertThat(forgot.purgePending()).isEqualTo(3);
    assertThat(lethe.store().currentVersion()).isGreaterThan(version);

    Purger.Plan purgePlan = lethe.purge().plan();
    assertThat(purgePlan.requests()).isEqualTo(3);
    assertThat(purgePlan.shards()).containsExactlyInAnyOrderElementsOf(forgetPlan.hitShards());
    assertThat(lethe.purge().plan().requests()).as("a purge plan purges nothing").isEqualTo(3);
    Purger.Report purged = lethe.purge().execute();
    assertThat(purged.forgotten()).isEqualTo(3);
    assertThat(lethe.purge().plan().requests()).isZero();

    assertThat(lethe.verify().plan()).as("the latest batch by default").isEqualTo(forgot.batchId());
    VerifyReport report = lethe.verify().batch(forgot.batchId()).heldOut(adultTest(300)).execute();
    assertThat(report.passed()).as(report.checks().toString()).isTrue();
    assertThat(report.evidence()).as("the forget run recorded membership evidence").isNotNull();
    assertThatThrownBy(() -> lethe.verify().batch("no-such-batch").execute())
        .isInstanceOf(InvalidRequestException.class).hasMessageContaining("No forget batch no-such-batch");
    long published = lethe.score(adultTest(50)).plan();
    assertThat(published).isEqualTo(forgot.ensembleVersion());
    Dataset<Row> scored = lethe.score(adultTest(50)).execute();
    assertThat(scored.count()).isEqualTo(50);
    assertThat(scored.select("predicted_label").distinct().collectAsList()).extracting(r -> r.getString(0))
        .isSubsetOf("<=50K", ">50K");
    assertThat(scored.select("probability").head().<Object>getList(0)).hasSize(2);
    assertThatThrownBy(() -> lethe.score(adultTest(5)).ensembleVersion(99).plan())
        .isInstanceOf(InvalidRequestException.class);

    Status.Report status = lethe.status().execute();
    assertThat(status.storeVersion()).isEqualTo(lethe.store().currentVersion());
    assertThat(status.rowsPerShard().values().stream().mapToLong(Long::longValue).sum()).isEqualTo(597);
    assertThat(status.published().version()).isEqualTo(forgot.ensembleVersion());
    assertThat(status.staleShards()).isEmpty();
    assertThat(status.shardsTrainedOnDeletedRows()).isEmpty();
    assertThat(status.ledger().requestsByStatus()).containsEntry("forgotten", 3L);

    assertThatThrownBy(() -> lethe.train().shards(List.of(7)).plan()).isInstanceOf(InvalidRequestException.class)
        .hasMessageContaining("Shard 7 does not exist");
  }
}
