package io.lethe.internal.unlearn;

import static org.apache.spark.sql.functions.col;

import io.lethe.internal.model.ShardColumns;
import io.lethe.internal.train.Estimators;
import io.lethe.internal.train.ShardPipeline;
import io.lethe.internal.train.StatisticsModel;
import io.lethe.internal.train.TrainSettings;
import io.lethe.types.StoreLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.classification.LogisticRegression;
import org.apache.spark.ml.classification.LogisticRegressionModel;
import org.apache.spark.ml.feature.StringIndexerModel;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.storage.StorageLevel;

/**
 * Certified removal for L2-regularised logistic regression: training by {@link CertifiedLogistic}
 * with secret noise, removal by one Newton step whose exact gradient residual is checked against
 * the budget of the configured (epsilon, delta).
 */
public final class CertifiedRemoval {
  private CertifiedRemoval() {}

  /** Why these settings cannot use certified removal, or empty when they can. */
  public static Optional<String> unsupported(StoreLayout layout, TrainSettings settings) {
    // A user's class is no logistic regression here, even one that extends it.
    Estimator<?> e = Estimators.builtIn(settings.estimator()) ? ShardPipeline.estimator(layout, settings, 0) : null;
    if (!(e instanceof LogisticRegression lr)) {
      return Optional.of("certified removal is for logistic_regression, not " + settings.estimator());
    }
    if (layout.labelClasses().size() != 2) {
      return Optional.of("certified removal is for two classes; the store has " + layout.labelClasses().size());
    }
    if (!(lr.getRegParam() > 0)) {
      return Optional.of("certified removal needs an L2 penalty: set train.param.regParam above 0");
    }
    if (lr.getElasticNetParam() != 0) {
      return Optional.of("certified removal needs a pure L2 penalty (elasticNetParam = 0)");
    }
    if (lr.isDefined(lr.weightCol()) && !lr.getWeightCol().isEmpty()) {
      return Optional.of("certified removal does not take a weight column");
    }
    return Optional.empty();
  }

  /**
   * The feature names of a shard's fitted feature stages, in vector order, the intercept last:
   * numeric columns, then each categorical column's indexed values (the last, unknown, dropped by
   * the one-hot encoder).
   */
  public static List<String> featureNames(Transformer[] featureStages, StoreLayout layout) {
    List<String> names = new ArrayList<>(layout.numericFeatures());
    for (Transformer t : featureStages) {
      if (t instanceof StringIndexerModel indexer) {
        for (int j = 0; j < indexer.labelsArray().length; j++) {
          String column = layout.categoricalFeatures().get(j);
          Arrays.stream(indexer.labelsArray()[j]).forEach(v -> names.add(column + "=" + v));
        }
      }
    }
    names.add(CertifiedState.INTERCEPT);
    return names;
  }

  /** A fitted model and its state. */
  public record Fit(LogisticRegressionModel model, CertifiedState state, CertifiedLogistic.Point point) {}

  /** Rows of featurized data as (features, label), cached until {@link #release}. */
  public static JavaRDD<CertifiedLogistic.LabeledVector> rows(Dataset<Row> featurized, int shard) {
    return featurized.select(col(ShardColumns.features(shard)), col(StoreLayout.LABEL_INDEX_COLUMN)).toJavaRDD()
        .map(r -> new CertifiedLogistic.LabeledVector((Vector) r.get(0), r.getDouble(1)))
        .persist(StorageLevel.MEMORY_AND_DISK());
  }

  public static void release(JavaRDD<?> rows) {
    rows.unpersist(false);
  }

  /**
   * Solves the perturbed objective on featurized rows from a start (zeros for a first fit), with
   * the given noise, to its exact optimum.
   */
  public static Fit solve(JavaRDD<CertifiedLogistic.LabeledVector> rows, List<String> names, double[] start,
      double[] noise, double sigma, StoreLayout layout, TrainSettings settings, Certification c, int shard) {
    LogisticRegression estimator = (LogisticRegression) ShardPipeline.estimator(layout, settings, shard);
    double lambda = estimator.getRegParam();
    CertifiedLogistic.Point optimum = CertifiedLogistic.solve(rows, start, lambda, noise);
    return fit(estimator, names, optimum, noise, sigma, c, 0);
  }

  /**
   * The model and state of a point: the weights it holds and the residual measured there, with the
   * budget of the configured (epsilon, delta) for noise of standard deviation sigma.
   */
  private static Fit fit(LogisticRegression estimator, List<String> names, CertifiedLogistic.Point point,
      double[] noise, double sigma, Certification c, int removals) {
    double[] w = point.w();
    int d = w.length - 1;
    LogisticRegressionModel model = StatisticsModel.copyParams(estimator,
        new LogisticRegressionModel(estimator.uid(), Vectors.dense(Arrays.copyOf(w, d)).compressed(), w[d]));
    CertifiedState state = new CertifiedState(c.epsilon(), c.delta(), sigma, estimator.getRegParam(), names,
        noise, w, point.residual(), CertifiedLogistic.budget(c.epsilon(), c.delta(), sigma), removals);
    return new Fit(model, state, point);
  }

  /**
   * Removes the rows that are no longer in {@code rows} from a certified model: one Newton step
   * from its weights (mapped to the new feature list) on the remaining rows, then the exact
   * gradient residual there. Within the budget the step is the result (certified, approximate);
   * over it, Newton's method continues to the exact optimum (what a retrain gives).
   */
  public static Fit remove(JavaRDD<CertifiedLogistic.LabeledVector> rows, List<String> names, CertifiedState before,
      StoreLayout layout, TrainSettings settings, Certification c, int shard) {
    LogisticRegression estimator = (LogisticRegression) ShardPipeline.estimator(layout, settings, shard);
    double lambda = estimator.getRegParam();
    double[] start = CertifiedState.remap(before.features(), before.weights(), names);
    double[] noise = before.noiseFor(names);
    CertifiedLogistic.Point after = CertifiedLogistic.removalStep(CertifiedLogistic.of(rows), start, lambda, noise);
    if (after.residual() <= CertifiedLogistic.budget(c.epsilon(), c.delta(), before.sigma())) {
      return fit(estimator, names, after, noise, before.sigma(), c, before.removals() + 1);
    }
    return solve(rows, names, after.w(), noise, before.sigma(), layout, settings, c, shard);
  }
}
