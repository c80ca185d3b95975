package io.lethe.internal.train;

import io.lethe.internal.model.ShardColumns;
import io.lethe.types.StoreLayout;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.feature.Imputer;
import org.apache.spark.ml.feature.OneHotEncoder;
import org.apache.spark.ml.feature.StandardScaler;
import org.apache.spark.ml.feature.StringIndexer;
import org.apache.spark.ml.feature.VectorAssembler;

/**
 * The pipeline of one shard's sub-model, defined here once: the data-dependent preprocessing
 * (imputer, string indexers, one-hot encoder, assembler, scaler, as the settings ask) and then the
 * estimator, each stage writing the shard's own columns. Everything in it is fitted on the shard's
 * rows alone.
 */
public final class ShardPipeline {
  private ShardPipeline() {}

  /** The unfitted estimator of one shard, its columns and seed set. */
  public static Estimator<?> estimator(StoreLayout layout, TrainSettings settings, int shard) {
    return Estimators.create(settings, layout.task(), ShardColumns.features(shard), StoreLayout.LABEL_INDEX_COLUMN,
        ShardColumns.prediction(shard), ShardColumns.probability(shard), ShardColumns.rawPrediction(shard),
        settings.seedFor(shard));
  }

  /** The unfitted data-dependent preprocessing of one shard: imputer, indexers, one-hot, assembler, scaler. */
  public static Pipeline features(StoreLayout layout, TrainSettings settings, int shard) {
    List<PipelineStage> stages = new ArrayList<>();
    List<String> vectorInputs = new ArrayList<>();
    List<String> numeric = layout.numericFeatures();
    if (!numeric.isEmpty()) {
      if (settings.impute()) {
        String[] out = numeric.stream().map(c -> ShardColumns.of(shard, "imp_" + c)).toArray(String[]::new);
        stages.add(new Imputer().setInputCols(numeric.toArray(new String[0])).setOutputCols(out).setStrategy("mean"));
        vectorInputs.addAll(List.of(out));
      } else {
        vectorInputs.addAll(numeric);
      }
    }
    List<String> categorical = layout.categoricalFeatures();
    if (!categorical.isEmpty()) {
      String[] indexed = categorical.stream().map(c -> ShardColumns.of(shard, "idx_" + c)).toArray(String[]::new);
      String[] encoded = categorical.stream().map(c -> ShardColumns.of(shard, "ohe_" + c)).toArray(String[]::new);
      stages.add(new StringIndexer().setInputCols(categorical.toArray(new String[0])).setOutputCols(indexed)
          .setHandleInvalid("keep"));
      stages.add(new OneHotEncoder().setInputCols(indexed).setOutputCols(encoded));
      vectorInputs.addAll(List.of(encoded));
    }
    String assembled = settings.scale() ? ShardColumns.of(shard, "assembled") : ShardColumns.features(shard);
    stages.add(new VectorAssembler().setInputCols(vectorInputs.toArray(new String[0])).setOutputCol(assembled));
    if (settings.scale()) {
      stages.add(new StandardScaler().setInputCol(assembled).setOutputCol(ShardColumns.features(shard))
          .setWithMean(false).setWithStd(true));
    }
    return new Pipeline().setStages(stages.toArray(new PipelineStage[0]));
  }
}
