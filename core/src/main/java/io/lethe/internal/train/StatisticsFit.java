package io.lethe.internal.train;

import io.lethe.internal.engine.Features;
import io.lethe.internal.engine.ShardStatistics;
import io.lethe.types.StoreLayout;
import java.util.Optional;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.Transformer;

/**
 * How an estimator's model follows from a shard's sufficient statistics, with no pass over its rows:
 * a capability its entry in {@link Estimators} declares (naive Bayes, linear regression). The task
 * engine fits such an estimator this way, and the exact-statistics strategy unlearns with it.
 */
public interface StatisticsFit {
  /** Why this configured estimator's model is not a function of the statistics, or empty when it is. */
  Optional<String> unsupported(Estimator<?> estimator);

  /**
   * The model the estimator's fit on the rows these statistics sum gives, on the features
   * {@code f} (the fitted feature stages' values).
   *
   * @throws StatisticsModel.SingularException where Spark's fit would take another route
   */
  Transformer fit(Estimator<?> estimator, Features f, ShardStatistics stats, StoreLayout layout);
}
