package io.lethe;

import static org.apache.spark.sql.functions.col;
import static org.assertj.core.api.Assertions.assertThat;

import io.lethe.api.Lethe;
import io.lethe.demo.AdultData;
import io.lethe.internal.model.ShardColumns;
import io.lethe.internal.model.ShardEnsembleModel;
import io.lethe.internal.run.Json;
import io.lethe.internal.train.ShardTrainer;
import io.lethe.internal.unlearn.Checkpoints.Checkpoint;
import io.lethe.internal.unlearn.Checkpoints;
import io.lethe.types.EnsembleManifest;
import io.lethe.types.ForgetRequest;
import io.lethe.types.ForgetResult;
import io.lethe.types.ShardUnlearning;
import io.lethe.types.SubModelEntry;
import io.lethe.types.VerifyReport;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.classification.MultilayerPerceptronClassificationModel;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Slicing with checkpoints for the multilayer perceptron on 800 Adult people in two shards of
 * two slices: a forget retrains from the checkpoint before the earliest slice that held a
 * deleted row, reuses the earlier checkpoints by name, retires the later ones, and gives the
 * model a sliced training from scratch gives.
 */
class SlicedTest extends LetheTestBase {
  @TempDir
  static Path dir;

  @Test
  void aForgetRetrainsFromTheLastCheckpointThatSawNoDeletedRow() {
    LetheConfig config = adultConfig(2, dir, Map.of(
        LetheConfig.TRAIN_ESTIMATOR, "multilayer_perceptron",
        LetheConfig.FORGET_STRATEGY_PREFIX + "multilayer_perceptron", "sliced",
        "forget.slices", "2",
        "train.param.hiddenLayers", "4",
        "train.param.maxIter", "3",
        // Nothing here reads storage after the forget: the purge is left pending.
        LetheConfig.FORGET_PURGE, "false"));
    Trained trained = ingestAndTrain(config, adultTrain(800));
    EnsembleManifest first = trained.published();
    for (SubModelEntry e : first.shards()) {
      Checkpoints checkpoints = trained.registry().stateFile(first.version(), e, Checkpoints.FILE_NAME, Checkpoints.class).orElseThrow();
      assertThat(checkpoints.slices()).isEqualTo(2);
      assertThat(checkpoints.checkpoints()).extracting(Checkpoint::slice).containsExactly(0, 1);
      assertThat(checkpoints.checkpoints()).extracting(Checkpoint::rows).isSorted();
      assertThat(checkpoints.checkpoints().get(0).rows()).isLessThan(e.rows());
      assertThat(checkpoints.checkpoints().get(1).rows()).isEqualTo(e.rows());
      assertThat(checkpoints.checkpoints().get(0).name())
          .isEqualTo(Checkpoint.nameOf(e.shard(), 0, e.storeVersion()));
    }

    // A subject of the last slice of shard 0: only the last step is retrained.
    String subject = subjectIn(trained, 0, 2, 1);
    ForgetResult result = forgetter(trained, config).execute(ForgetRequest.ofSubjects(List.of(subject)));
    ShardUnlearning step = result.unlearning().get(0);
    assertThat(step.shard()).isZero();
    assertThat(step.strategy()).isEqualTo("sliced");
    assertThat(step.exact()).isTrue();
    assertThat(step.rowsRemoved()).isEqualTo(1);
    assertThat(step.detail()).isEqualTo("retrained slices 1 to 1 from the checkpoint of slices 0 to 0;"
        + " 1 checkpoint(s) reused, 1 retired");

    EnsembleManifest published = trained.registry().manifest(result.ensembleVersion());
    SubModelEntry entry = published.shard(0).orElseThrow();
    List<Checkpoint> before = trained.registry().stateFile(published.version(), entry, Checkpoints.FILE_NAME,
        Checkpoints.class).orElseThrow().checkpoints();
    assertThat(before).extracting(Checkpoint::name).containsExactly(
        Checkpoint.nameOf(0, 0, first.shard(0).orElseThrow().storeVersion()),
        Checkpoint.nameOf(0, 1, entry.storeVersion()));
    assertThat(trained.registry().versions()).as("the version holding the old checkpoints is retired")
        .doesNotContain(first.version());

    // The same as a sliced training of the remaining rows from scratch: verify's retrain of the hit
    // shard (its slices fitted again on the version the sub-model was trained on) is that model.
    Dataset<Row> test = adultTest(300);
    VerifyReport report = Lethe.get(spark(), config).internals().verifier().verify(result.batchId(), test);
    assertThat(report.passed()).as(report.checks().toString()).isTrue();
    assertThat(report.unlearning()).singleElement().satisfies(s -> {
      assertThat(s.strategy()).isEqualTo("sliced");
      assertThat(s.exact()).isTrue();
    });
    PipelineModel unlearned = ShardEnsembleModel.load(trained.registry(), published.version()).subModel(0);
    double[] weights = ((MultilayerPerceptronClassificationModel) ShardTrainer.estimatorModel(unlearned)).weights()
        .toArray();
    assertThat(report.retrain()).singleElement().satisfies(r -> {
      assertThat(r.shard()).isZero();
      assertThat(r.rows()).isEqualTo(entry.rows());
      // Partitioning may order the optimiser's sums differently: equal up to that.
      assertThat(r.parameterDistance()).isLessThan(1e-3 * Math.sqrt(Vectors.sqdist(Vectors.dense(weights),
          Vectors.zeros(weights.length))));
      assertThat(r.agreement()).as("predictions on 300 held-out rows").isGreaterThanOrEqualTo(0.99);
    });
    assertThat(ReportSchema.errors(Json.write(report))).isEmpty();
  }

  /** A subject of a shard whose rows lie in the given slice. */
  private static String subjectIn(Trained trained, int shard, int slices, int slice) {
    var layout = trained.store().layout();
    return trained.store().readShard(shard, trained.store().currentVersion())
        .where(layout.sliceOf(col(AdultData.SUBJECT), slices).equalTo(slice))
        .select(AdultData.SUBJECT).head().get(0).toString();
  }
}
