package io.lethe.internal.train;

import io.lethe.LetheException;
import io.lethe.internal.engine.FeatureSpec;
import io.lethe.internal.engine.Features;
import io.lethe.internal.engine.ShardStatistics;
import io.lethe.types.StoreLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.feature.Imputer;
import org.apache.spark.ml.feature.ImputerModel;
import org.apache.spark.ml.feature.OneHotEncoder;
import org.apache.spark.ml.feature.OneHotEncoderModel;
import org.apache.spark.ml.feature.StandardScaler;
import org.apache.spark.ml.feature.StandardScalerModel;
import org.apache.spark.ml.feature.StringIndexer;
import org.apache.spark.ml.feature.StringIndexerModel;
import org.apache.spark.ml.feature.VectorAssembler;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.Params;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.sql.types.StructType;

/**
 * Rebuilds a shard's fitted pipeline from its {@link ShardStatistics}, with no pass over its rows:
 * the same stages, parameters and fitted values that spark.ml's fit of the shard gives (the
 * imputer's means, the indexers' frequency order, the one-hot sizes, the scaler's sample
 * deviations, then the predictor by the {@link StatisticsFit} its estimator's entry declares).
 */
public final class StatisticsModel {
  private final StoreLayout layout;
  private final TrainSettings settings;
  private final StructType schema;

  /**
   * @param schema the store's schema: the imputer writes its mean back in the column's own type
   *     (a whole-number column gets the mean truncated), and the features see that value
   */
  public StatisticsModel(StoreLayout layout, TrainSettings settings, StructType schema) {
    this.layout = layout;
    this.settings = settings;
    this.schema = schema;
  }

  /** The feature spec of this store and these settings. */
  public FeatureSpec featureSpec() {
    return new FeatureSpec(settings.impute(), settings.scale(), layout.numericFeatures(),
        layout.numericFeatures().stream().map(c -> schema.apply(c).dataType()).toList());
  }

  /** The fitted values of the feature stages on the rows these statistics sum. */
  public static Features features(ShardStatistics stats, FeatureSpec spec) {
    return new Features(stats, spec);
  }

  /**
   * Why these settings cannot be unlearned by statistics (the model is not a function of sums of
   * the rows), or empty when they can.
   */
  public Optional<String> unsupported() {
    if (!Estimators.builtIn(settings.estimator())) {
      return Optional.of("the estimator " + settings.estimator() + " is the user's own class");
    }
    return Estimators.statisticsFit(settings.estimator())
        .map(fit -> fit.unsupported(ShardPipeline.estimator(layout, settings, 0)))
        .orElse(Optional.of("the estimator " + settings.estimator() + " is not a function of sums of its rows"));
  }

  /** The shard's pipeline as a fit on the rows these statistics sum would give. */
  public PipelineModel build(ShardStatistics stats, int shard) {
    Features f = new Features(stats, featureSpec());
    List<Transformer> stages = new ArrayList<>(List.of(features(f, shard)));
    Estimator<?> estimator = ShardPipeline.estimator(layout, settings, shard);
    StatisticsFit fit = Estimators.statisticsFit(settings.estimator()).orElseThrow(() ->
        new LetheException(unsupported().orElse(settings.estimator() + " has no statistics model")));
    stages.add(copyParams(estimator, fit.fit(estimator, f, stats, layout)));
    return new PipelineModel(Identifiable.randomUID("pipeline"), stages.toArray(new Transformer[0]));
  }

  /** The shard's fitted feature stages (imputer to scaler) as a fit on these statistics' rows would give. */
  public Transformer[] features(ShardStatistics stats, int shard) {
    return features(new Features(stats, featureSpec()), shard);
  }

  /** The feature stages (imputer to scaler) with the given fitted values. */
  public Transformer[] features(Features f, int shard) {
    List<Transformer> stages = new ArrayList<>();
    for (PipelineStage stage : ShardPipeline.features(layout, settings, shard).getStages()) {
      if (stage instanceof Imputer imputer) {
        stages.add(copyParams(imputer, new ImputerModel(imputer.uid(), imputer.getInputCols(), f.imputed())));
      } else if (stage instanceof StringIndexer indexer) {
        stages.add(copyParams(indexer, new StringIndexerModel(indexer.uid(), f.labels())));
      } else if (stage instanceof OneHotEncoder encoder) {
        // The indexers keep invalid values, which adds one category after the labels.
        int[] sizes = Arrays.stream(f.labels()).mapToInt(l -> l.length + 1).toArray();
        stages.add(copyParams(encoder, new OneHotEncoderModel(encoder.uid(), sizes)));
      } else if (stage instanceof VectorAssembler assembler) {
        stages.add(assembler);
      } else if (stage instanceof StandardScaler scaler) {
        stages.add(copyParams(scaler,
            new StandardScalerModel(scaler.uid(), Vectors.dense(f.std()), Vectors.dense(f.mean()))));
      } else {
        throw new IllegalStateException("No statistics model for the stage " + stage);
      }
    }
    return stages.toArray(new Transformer[0]);
  }

  /** Copies the parameters set on an unfitted stage to its model, as fit() does. */
  public static <T extends Params> T copyParams(Params from, T to) {
    for (Param<?> p : from.params()) {
      if (from.isSet(p) && to.hasParam(p.name())) {
        to.set(to.getParam(p.name()), from.getOrDefault(p));
      }
    }
    return to;
  }

  /** The statistics cannot give Spark's model here; the shard is retrained instead. */
  public static final class SingularException extends LetheException {
    public SingularException(String message) {
      super(message);
    }
  }
}
