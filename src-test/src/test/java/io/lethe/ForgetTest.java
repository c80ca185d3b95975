package io.lethe;

import static org.apache.spark.sql.functions.col;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.lethe.demo.AdultData;
import io.lethe.forget.ForgetPlan;
import io.lethe.forget.ForgetRequest;
import io.lethe.forget.ForgetResult;
import io.lethe.forget.Forgetter;
import io.lethe.model.ShardColumns;
import io.lethe.registry.EnsembleManifest;
import io.lethe.registry.ModelRegistry;
import io.lethe.registry.SubModelEntry;
import io.lethe.store.ShardedStore;
import io.lethe.train.ShardTrainer;
import io.lethe.train.TrainSettings;
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

  static ShardedStore store;
  static ModelRegistry registry;
  static TrainSettings settings;
  static Forgetter forgetter;
  static EnsembleManifest before;

  @BeforeAll
  static void trainEnsemble() {
    Trained fixture = ingestAndTrain(adultConfig(4, dir, Map.of()), adultTrain(2000));
    store = fixture.store();
    registry = fixture.registry();
    settings = fixture.settings();
    before = fixture.published();
    forgetter = new Forgetter(store, registry, fixture.training());
  }

  @Test
  void forgettingRetrainsOnlyTheHitShardsAndEqualsAFromScratchFit() {
    List<String> people = List.of("17", "1234", "1999");
    ForgetRequest request = ForgetRequest.ofSubjects(people);
    EnsembleManifest previous = registry.latest().orElseThrow();
    ForgetPlan plan = forgetter.plan(request);
    assertThat(plan.foundSubjects()).isEqualTo(3);
    assertThat(plan.rowsToDelete()).isEqualTo(3);
    assertThat(plan.hitShards()).isNotEmpty().hasSizeLessThanOrEqualTo(3);

    ForgetResult result = forgetter.execute(request, plan);

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
        assertThat(e.storeVersion()).isEqualTo(result.storeVersion());
        assertThat(e.path()).isNotEqualTo(old.path());
        assertThat(e.rows()).isEqualTo(old.rows() - plan.rowsPerShard().get(e.shard()));
      } else {
        assertThat(e).as("untouched shard %d", e.shard()).isEqualTo(old);
      }
    }

    // A hit shard's new sub-model is the model a from-scratch fit of that shard gives.
    int shard = plan.hitShards().get(0);
    PipelineModel published = registry.load(result.ensembleVersion()).subModel(shard);
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

    // The previous version stays loadable until retired.
    assertThat(registry.load(previous.version()).transform(test).count()).isEqualTo(500);
  }

  @Test
  void unknownIdsAreReportedNotFatalAndAnEmptyBatchChangesNothing() {
    ForgetPlan unknown = forgetter.plan(ForgetRequest.ofSubjects(List.of("no-such-person", "-5")));
    assertThat(unknown.requestedSubjects()).isEqualTo(2);
    assertThat(unknown.unknownSubjects()).isEqualTo(2);
    assertThat(unknown.changesNothing()).isTrue();

    long storeVersion = store.currentVersion();
    long ensembleVersion = registry.latest().orElseThrow().version();
    ForgetResult result = forgetter.execute(ForgetRequest.ofSubjects(List.of()), forgetter.plan(ForgetRequest.ofSubjects(List.of())));
    assertThat(result.retrainedShards()).isEmpty();
    assertThat(store.currentVersion()).isEqualTo(storeVersion);
    assertThat(registry.latest().orElseThrow().version()).isEqualTo(ensembleVersion);
  }

  @Test
  void expectedShardsHitFollowsTheSisaCostModel() {
    assertThat(ForgetPlan.expectedShardsHit(16, 1)).isCloseTo(1.0, within(1e-12));
    assertThat(ForgetPlan.expectedShardsHit(8, 3)).isCloseTo(8 * (1 - Math.pow(7.0 / 8, 3)), within(1e-12));
    assertThat(before.shards()).hasSize(4);
  }
}
