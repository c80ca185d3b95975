package io.lethe;

import static org.apache.spark.sql.functions.col;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.lethe.demo.AdultData;
import io.lethe.internal.forget.Forgetter;
import io.lethe.internal.ledger.ForgetLedger;
import io.lethe.internal.ledger.LedgerKey;
import io.lethe.internal.model.ShardColumns;
import io.lethe.internal.model.ShardEnsembleModel;
import io.lethe.internal.registry.ModelRegistry;
import io.lethe.internal.store.CommitRetry;
import io.lethe.internal.store.ShardedStore;
import io.lethe.internal.train.ShardTrainer;
import io.lethe.internal.train.TrainSettings;
import io.lethe.internal.train.Training;
import io.lethe.types.EnsembleManifest;
import io.lethe.types.ForgetPlan;
import io.lethe.types.ForgetRequest;
import io.lethe.types.ForgetResult;
import io.lethe.types.ForgetStep;
import io.lethe.types.IdKind;
import io.lethe.types.Retirement;
import io.lethe.types.ShardMath;
import io.lethe.types.ShardSelection;
import io.lethe.types.SubModelEntry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.classification.LogisticRegressionModel;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Forgetting on a store of 2,000 Adult people in four shards, trained once for the class. */
class ForgetTest extends LetheTestBase {
  @TempDir
  static Path dir;

  static LetheConfig config;
  static ShardedStore store;
  static ModelRegistry registry;
  static TrainSettings settings;
  static Forgetter forgetter;
  static ForgetLedger ledger;
  static EnsembleManifest before;
  static Training training;

  @BeforeAll
  static void trainEnsemble() {
    config = sharedAdultConfig(dir);
    Trained fixture = sharedAdult(dir);
    store = fixture.store();
    registry = fixture.registry();
    settings = fixture.settings();
    before = fixture.published();
    training = fixture.training();
    forgetter = forgetter(fixture, config);
    ledger = forgetter.ledger();
  }

  @Test
  void forgettingRetrainsOnlyTheHitShardsEqualsAFromScratchFitAndRetiresTheOldVersion() throws IOException {
    List<String> people = List.of("17", "1234", "1999");
    ForgetRequest request = ForgetRequest.ofSubjects(people);
    EnsembleManifest previous = registry.latest().orElseThrow();
    ForgetPlan plan = forgetter.plan(request);
    assertThat(plan.found()).isEqualTo(3);
    assertThat(plan.rowsToDelete()).isEqualTo(3);
    assertThat(plan.hitShards()).isNotEmpty().hasSizeLessThanOrEqualTo(3);
    assertThat(plan.shardsToRetrain()).isEqualTo(plan.hitShards());
    assertThat(plan.ensembleVersionsToRetire()).as("every version so far holds the hit shards").contains(previous.version());
    assertThat(plan.fullRetrainSeconds()).isGreaterThan(plan.estimatedRetrainSeconds()).isPositive();

    ForgetResult result = forgetter.execute(request);

    // The rows are gone from the current version (read the rows, not statistics).
    Dataset<Row> current = store.read(store.currentVersion());
    assertThat(current.where(col(AdultData.SUBJECT).cast("string").isin(people.toArray())).collectAsList()).isEmpty();
    assertThat(current.count()).isEqualTo(previous.rows() - 3);

    // Only the hit shards got new sub-models; the others kept their exact artifacts and versions.
    EnsembleManifest after = registry.manifest(result.ensembleVersion());
    assertThat(result.retrainedShards()).containsExactlyElementsOf(plan.hitShards());
    for (SubModelEntry e : after.shards()) {
      SubModelEntry old = previous.shard(e.shard()).orElseThrow();
      if (plan.hitShards().contains(e.shard())) {
        assertThat(e.storeVersion()).isGreaterThanOrEqualTo(result.storeVersion());
        assertThat(e.path()).isNotEqualTo(old.path());
        assertThat(e.rows()).isEqualTo(old.rows() - plan.rowsPerShard().get(e.shard()));
      } else {
        assertThat(e).as("untouched shard %d", e.shard()).isEqualTo(old);
        // One path from either version: loading both reads the sub-model once (the membership audit does).
        assertThat(registry.subModelPath(result.ensembleVersion(), e))
            .isEqualTo(registry.subModelPath(previous.version(), old));
      }
    }

    // A hit shard's new sub-model is the model a from-scratch fit of that shard gives.
    int shard = plan.hitShards().get(0);
    PipelineModel published = ShardEnsembleModel.load(registry, result.ensembleVersion()).subModel(shard);
    PipelineModel scratch = new ShardTrainer(store, settings).fitShard(shard, store.currentVersion()).model();
    LogisticRegressionModel a = (LogisticRegressionModel) ShardTrainer.estimatorModel(published);
    LogisticRegressionModel b = (LogisticRegressionModel) ShardTrainer.estimatorModel(scratch);
    assertThat(a.coefficients().toArray()).containsExactly(b.coefficients().toArray(), within(1e-9));
    assertThat(a.intercept()).isCloseTo(b.intercept(), within(1e-9));
    Dataset<Row> test = adultTest(500);
    String prediction = ShardColumns.prediction(shard);
    long differ = published.transform(test).select(col(AdultData.SUBJECT), col(prediction).as("a"))
        .join(scratch.transform(test).select(col(AdultData.SUBJECT), col(prediction).as("b")), AdultData.SUBJECT)
        .where(col("a").notEqual(col("b"))).count();
    assertThat(differ).isZero();

    // The previous version held the old sub-models of the hit shards: it is retired, files and all.
    assertThat(result.retirement().ensembleVersions()).contains(previous.version());
    assertThat(registry.versions()).doesNotContain(previous.version()).contains(result.ensembleVersion());
    assertThat(Files.exists(Path.of(registry.ensembleDir(previous.version()).toUri()))).isFalse();
    for (int hit : plan.hitShards()) {
      assertThat(Files.exists(Path.of(registry.subModelPath(previous.version(), previous.shard(hit).orElseThrow()).toUri())))
          .as("old sub-model of shard %d", hit).isFalse();
    }
    assertThat(registry.retirements()).anySatisfy(r -> assertThat(r.ensembleVersions()).contains(previous.version()));

    // A retirement that stopped after its commit leaves the directory of a version the log no
    // longer publishes: the next retirement deletes it.
    Path leftover = Path.of(registry.ensembleDir(previous.version()).toUri());
    Files.createDirectories(leftover);
    Files.writeString(leftover.resolve(EnsembleManifest.FILE_NAME), "{}");
    Retirement swept = registry.retire((s, v) -> false, "sweep", "test");
    assertThat(swept.ensembleVersions()).containsExactly(previous.version());
    assertThat(leftover).doesNotExist();
    assertThat(registry.versions()).contains(result.ensembleVersion());
  }

  @Test
  void aShardFittedWhileItsDeleteRunsIsKeptOnlyWhenTheDeleteLandsRightOnTheVersionItRead() {
    // What a forget fits while its delete runs: the version the delete starts from, without its rows.
    String person = "42";
    List<Integer> shard = List.of(store.layout().shardOf(person));
    long read = store.currentVersion();
    Training.Prefit prefit = training.prefit(shard, read, AdultData.SUBJECT, List.of(person)).orElseThrow();
    long deleted = store.deleteMatching(AdultData.SUBJECT, List.of(person), shard, new CommitRetry(3), false);
    assertThat(deleted).isEqualTo(read + 1);

    Training.Unlearned kept = training.adopt(prefit, shard, deleted).orElseThrow();

    SubModelEntry entry = kept.entries().get(0);
    assertThat(entry.storeVersion()).isEqualTo(deleted);
    assertThat(entry.rows()).isEqualTo(store.rowsPerShardFromLog(deleted, shard).get(shard.get(0)))
        .isEqualTo(store.rowsPerShardFromLog(read, shard).get(shard.get(0)) - 1);
    long version = training.publish(kept.entries(), shard, deleted).published().version();
    PipelineModel published = ShardEnsembleModel.load(registry, version).subModel(shard.get(0));
    PipelineModel scratch = new ShardTrainer(store, settings).fitShard(shard.get(0), deleted).model();
    LogisticRegressionModel a = (LogisticRegressionModel) ShardTrainer.estimatorModel(published);
    LogisticRegressionModel b = (LogisticRegressionModel) ShardTrainer.estimatorModel(scratch);
    assertThat(a.coefficients().toArray()).containsExactly(b.coefficients().toArray(), within(1e-9));
    assertThat(a.intercept()).isCloseTo(b.intercept(), within(1e-9));

    // Another commit between the version the fit read and the delete: the fit is not kept.
    String second = "43";
    String elsewhere = subjectOutside(store.layout().shardOf(second), 1000);
    List<Integer> secondShard = List.of(store.layout().shardOf(second));
    long read2 = store.currentVersion();
    Training.Prefit stale = training.prefit(secondShard, read2, AdultData.SUBJECT, List.of(second)).orElseThrow();
    store.deleteMatching(AdultData.SUBJECT, List.of(elsewhere), List.of(store.layout().shardOf(elsewhere)),
        new CommitRetry(3), false);
    long deleted2 = store.deleteMatching(AdultData.SUBJECT, List.of(second), secondShard, new CommitRetry(3), false);
    assertThat(training.adopt(stale, secondShard, deleted2)).isEmpty();

    // A delete that removed other rows than the fit left out: the log's count differs, not kept.
    String third = "45";
    int thirdShard = store.layout().shardOf(third);
    String neighbour = subjectInside(thirdShard, third);
    long read3 = store.currentVersion();
    Training.Prefit partial = training.prefit(List.of(thirdShard), read3, AdultData.SUBJECT, List.of(third)).orElseThrow();
    long deleted3 = store.deleteMatching(AdultData.SUBJECT, List.of(third, neighbour), List.of(thirdShard),
        new CommitRetry(3), false);
    assertThat(deleted3).isEqualTo(read3 + 1);
    assertThat(training.adopt(partial, List.of(thirdShard), deleted3)).isEmpty();

    // The other tests start from an ensemble trained on the current rows.
    training.run(ShardSelection.stale());
    assertThat(Training.shardsTrainedOnDeletedRows(store, registry.latest().orElseThrow())).isEmpty();

    // A forget run of one person, alone and with another writer's commit landing before its delete:
    // either way the published sub-model is the fit of the shard's rows at the version after it.
    for (boolean concurrent : List.of(false, true)) {
      String forgotten = concurrent ? "48" : "47";
      String other = subjectOutside(store.layout().shardOf(forgotten), concurrent ? 1300 : 1200);
      List<Long> rowsBefore = new java.util.ArrayList<>();
      ForgetResult result = forgetter.withHook((step, attempt) -> {
        if (concurrent && step == ForgetStep.DELETE && attempt == 1) {
          store.deleteMatching(AdultData.SUBJECT, List.of(other), List.of(store.layout().shardOf(other)),
              new CommitRetry(3), false);
        }
      }).withAudit(moment -> rowsBefore.add(store.rowsMatching(moment.idColumn(), moment.ids(), moment.hitShards(),
          moment.versionBefore()).count())).execute(ForgetRequest.ofSubjects(List.of(forgotten)));
      // The membership evidence reads the forgotten rows where they still were, whatever committed between.
      assertThat(rowsBefore).as("concurrent: %s", concurrent).containsExactly(1L);
      int hit = store.layout().shardOf(forgotten);
      assertThat(result.retrainedShards()).as("concurrent: %s", concurrent).contains(hit);
      SubModelEntry now = registry.manifest(result.ensembleVersion()).shard(hit).orElseThrow();
      assertThat(now.storeVersion()).isEqualTo(result.storeVersion());
      assertThat(now.rows()).isEqualTo(store.rowsPerShardFromLog(result.storeVersion(), List.of(hit)).get(hit));
      LogisticRegressionModel fitted = (LogisticRegressionModel) ShardTrainer.estimatorModel(
          ShardEnsembleModel.load(registry, result.ensembleVersion()).subModel(hit));
      LogisticRegressionModel fresh = (LogisticRegressionModel) ShardTrainer.estimatorModel(
          new ShardTrainer(store, settings).fitShard(hit, store.currentVersion()).model()); // same rows, purged files
      assertThat(fitted.coefficients().toArray()).containsExactly(fresh.coefficients().toArray(), within(1e-9));
    }
    training.run(ShardSelection.stale());
  }

  @Test
  void aResumedRunAuditsTheRowsAnEarlierRunOfItsBatchDeleted() {
    List<String> person = List.of("1601");
    Forgetter crashing = forgetter.withHook((step, attempt) -> {
      if (step == ForgetStep.RETRAIN) {
        throw new IllegalStateException("injected crash");
      }
    });
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> crashing.execute(ForgetRequest.ofSubjects(person)))
        .isInstanceOf(RunStoppedException.class);
    assertThat(store.match(AdultData.SUBJECT, person, null, store.currentVersion())).as("deleted by the first run")
        .isEmpty();

    List<io.lethe.internal.forget.ForgetAudit.Moment> moments = new java.util.ArrayList<>();
    List<Long> rowsBefore = new java.util.ArrayList<>();
    ForgetResult finished = forgetter.withAudit(moment -> {
      moments.add(moment);
      rowsBefore.add(store.rowsMatching(moment.idColumn(), moment.ids(), moment.hitShards(), moment.versionBefore())
          .count());
    }).execute(ForgetRequest.ofSubjects(person));

    assertThat(finished.plan().resumed()).isEqualTo(1);
    assertThat(finished.forgotten()).isEqualTo(1);
    assertThat(moments).singleElement().satisfies(m -> assertThat(m.ids()).containsExactly("1601"));
    assertThat(rowsBefore).as("the person's row, read where it still was").containsExactly(1L);
  }

  /** A subject of the store, from {@code from} up, whose shard is not {@code shard}. */
  private static String subjectOutside(int shard, int from) {
    return java.util.stream.IntStream.range(from, from + 100).mapToObj(Integer::toString)
        .filter(s -> store.layout().shardOf(s) != shard).findFirst().orElseThrow();
  }

  /** Another subject of the store, from 1100 up, in {@code shard}. */
  private static String subjectInside(int shard, String not) {
    return java.util.stream.IntStream.range(1100, 1200).mapToObj(Integer::toString)
        .filter(s -> store.layout().shardOf(s) == shard && !s.equals(not)).findFirst().orElseThrow();
  }

  @Test
  void afterForgetNoRetainedVersionChangeFeedFileLedgerOrModelHoldsTheRows() throws IOException {
    List<String> people = List.of("5", "250", "1500", "1777");
    String storePath = store.path();
    assertThat(rowsOnStorage(storePath, AdultData.SUBJECT, people)).as("before").isEqualTo(4);

    ForgetResult result = forgetter.execute(ForgetRequest.ofSubjects(people));

    assertThat(result.forgotten()).isEqualTo(4);
    assertThat(result.purge().retentionHours()).isZero();
    assertThat(rowsByTimeTravel(storePath, AdultData.SUBJECT, people).values()).as("every version").containsOnly(0L);
    long inChangeFeed;
    try {
      inChangeFeed = spark().read().format("delta").option("readChangeFeed", "true").option("startingVersion", 0)
          .load(storePath).where(col(AdultData.SUBJECT).cast("string").isin(people.toArray())).collectAsList().size();
    } catch (Exception changeDataGone) {
      inChangeFeed = 0;
    }
    assertThat(inChangeFeed).as("change data feed").isZero();
    assertThat(rowsOnStorage(storePath, AdultData.SUBJECT, people)).as("any Parquet file of the store").isZero();

    // No published sub-model was trained on a version that still held the rows.
    EnsembleManifest latest = registry.latest().orElseThrow();
    assertThat(Training.shardsTrainedOnDeletedRows(store, latest)).isEmpty();
    for (SubModelEntry e : latest.shards()) {
      if (result.plan().hitShards().contains(e.shard())) {
        assertThat(e.storeVersion()).isGreaterThanOrEqualTo(result.storeVersion());
      }
    }
    // Every sub-model directory left on storage was fitted after the last delete in its shard.
    Map<Integer, Long> removals = store.lastRemovalsSince(-1);
    assertThat(registry.subModelDirs()).allSatisfy(d ->
        assertThat(d.storeVersion()).isGreaterThanOrEqualTo(removals.getOrDefault(d.shard(), -1L)));

    // The ledger knows each request as forgotten, by keyed hash only.
    LedgerKey key = LedgerKey.of(LEDGER_KEY);
    Object[] hashes = people.stream().map(p -> key.hash(IdKind.SUBJECT, p)).toArray();
    List<Row> requests = ledger.current().where(col("subject_hash").isin(hashes)).collectAsList();
    assertThat(requests).hasSize(4).allSatisfy(r -> {
      assertThat(r.<String>getAs("step")).isEqualTo("complete");
      assertThat(r.<String>getAs("phase")).isEqualTo("done");
      assertThat(r.<Long>getAs("ensemble_version")).isEqualTo(result.ensembleVersion());
    });
    assertThat(ledger.events().where(col("subject_hash").isin(hashes)).select("step").distinct().count())
        .as("every step recorded").isEqualTo(8);
    assertThat(ledger.events().select("subject_hash").collectAsList()).allSatisfy(r ->
        assertThat(r.getString(0)).matches("[0-9a-f]{64}"));
  }

  @Test
  void unknownIdsAreRecordedAsNotFoundAndAnEmptyBatchChangesNothing() {
    ForgetPlan unknown = forgetter.plan(ForgetRequest.ofSubjects(List.of("99999", "-5")));
    assertThat(unknown.requested()).isEqualTo(2);
    assertThat(unknown.notFound()).isEqualTo(2);
    assertThat(unknown.changesNothing()).isTrue();

    long storeVersion = store.currentVersion();
    long ensembleVersion = registry.latest().orElseThrow().version();
    ForgetResult result = forgetter.execute(ForgetRequest.ofSubjects(List.of("99999", "-5")));
    assertThat(result.requests()).isZero();
    assertThat(result.retrainedShards()).isEmpty();
    assertThat(store.currentVersion()).isEqualTo(storeVersion);
    assertThat(registry.latest().orElseThrow().version()).isEqualTo(ensembleVersion);
    String hash = LedgerKey.of(LEDGER_KEY).hash(IdKind.SUBJECT, "99999");
    List<Row> recorded = ledger.current().where(col("subject_hash").equalTo(hash)).collectAsList();
    assertThat(recorded).hasSize(1);
    assertThat(recorded.get(0).<String>getAs("step")).isEqualTo("complete");
    assertThat(recorded.get(0).<String>getAs("detail")).isEqualTo("no rows found");

    ForgetResult empty = forgetter.execute(ForgetRequest.ofSubjects(List.of()));
    assertThat(empty.requests()).isZero();
    assertThat(store.currentVersion()).isEqualTo(storeVersion);
  }

  @Test
  void expectedShardsHitFollowsTheSisaCostModel() {
    assertThat(ShardMath.expectedShardsHit(16, 1)).isCloseTo(1.0, within(1e-12));
    assertThat(ShardMath.expectedShardsHit(8, 3)).isCloseTo(8 * (1 - Math.pow(7.0 / 8, 3)), within(1e-12));
    assertThat(ShardMath.idealSpeedup(16, 1)).isCloseTo(16.0, within(1e-9));
    // A quarter of the shards hit at most: 1 - (1 - 1/S)^k <= 1/4.
    int suggested = ShardMath.suggestedShards(100);
    assertThat(ShardMath.expectedShardsHit(suggested, 100)).isLessThanOrEqualTo(suggested / 4.0);
    assertThat(ShardMath.expectedShardsHit(suggested - 1, 100)).isGreaterThan((suggested - 1) / 4.0);
    assertThat(ShardMath.advice(16, 1)).isEmpty();
    assertThat(ShardMath.advice(16, 100)).get().asString().contains("full retrain costs about the same")
        .contains(suggested + " shards").contains("batches of up to 4 people");
    // 16 * (1 - (15/16)^4) = 3.7 shards, a quarter at most; 5 people would hit 4.6.
    assertThat(ShardMath.worthwhileBatch(16)).isEqualTo(4);
    assertThat(before.shards()).hasSize(4);
  }
}
