package io.lethe.api;

import static org.apache.spark.sql.functions.array;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.element_at;
import static org.apache.spark.sql.functions.lit;

import io.lethe.Evolving;
import io.lethe.InvalidRequestException;
import io.lethe.LetheException;
import io.lethe.internal.model.Evaluation;
import io.lethe.internal.model.ShardEnsembleModel;
import io.lethe.internal.registry.ModelRegistry;
import io.lethe.types.EnsembleManifest;
import io.lethe.types.Task;
import org.apache.spark.ml.Model;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;

/**
 * Scores rows with a published ensemble (the latest by default): adds {@code prediction}, and for
 * classification {@code predicted_label} (the class itself) and {@code probability} (an array in
 * class order). The result is a lazy Dataset: nothing runs until it is written or collected.
 */
@Evolving
public final class Score {
  private final Lethe lethe;
  private final Dataset<Row> rows;
  private Long version;

  Score(Lethe lethe, Dataset<Row> rows) {
    this.lethe = lethe;
    this.rows = rows;
  }

  /** Score with this ensemble version instead of the latest. */
  public Score ensembleVersion(long v) {
    this.version = v;
    return this;
  }

  /**
   * What a score run will use.
   *
   * @param ensembleVersion the published ensemble version it scores with
   * @param shards the shards of that version, one sub-model each
   */
  public record Plan(long ensembleVersion, int shards) {}

  /** The ensemble version it scores with; reads the publish log only. */
  public Plan plan() {
    ModelRegistry registry = lethe.internals().registry();
    EnsembleManifest manifest = version != null ? registry.manifest(version)
        : registry.latest().orElseThrow(() -> new InvalidRequestException(
            "No ensemble is published in " + registry.root() + "; run train first"));
    return new Plan(manifest.version(), manifest.shards().size());
  }

  /**
   * The published ensemble it scores with, as a spark.ml {@code Model}: {@code transform} adds
   * prediction, probability and rawPrediction; its params {@code aggregation} (soft, hard or
   * weighted) and {@code fused} set how sub-models are combined and run; {@code write()} saves it.
   */
  public Model<?> model() {
    return ShardEnsembleModel.load(lethe.internals().registry(), plan().ensembleVersion());
  }

  /**
   * How well the ensemble predicts these rows' labels (the store's label column): accuracy for
   * classification, RMSE for regression.
   */
  public double evaluate() {
    return Evaluation.score(model(), rows, lethe.internals().store().layout());
  }

  public Dataset<Row> execute() {
    long v = plan().ensembleVersion();
    ShardEnsembleModel model = ShardEnsembleModel.load(lethe.internals().registry(), v);
    Dataset<Row> scored;
    try {
      scored = model.transform(rows);
    } catch (Exception e) {
      throw new InvalidRequestException("Cannot score these rows with ensemble version " + v + ": "
          + LetheException.firstLine(e), e);
    }
    if (model.task() != Task.CLASSIFICATION) {
      return scored;
    }
    Column classes = array(model.manifest().classes().stream().map(functions::lit).toArray(Column[]::new));
    return scored
        .withColumn("predicted_label", element_at(classes, col("prediction").cast("int").plus(lit(1))))
        .withColumn("probability", org.apache.spark.ml.functions.vector_to_array(col("probability"), "float64"))
        .drop("rawPrediction");
  }
}
