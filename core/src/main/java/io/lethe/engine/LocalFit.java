package io.lethe.engine;

import java.io.Serializable;

/**
 * What fits one shard's model inside its Spark task, on the shard's featurized rows: shipped to
 * the task with the job, its result shipped back to the driver, which turns it into the
 * estimator's spark.ml model. A linear objective ({@link LinearSpec}) and a tree learner
 * ({@link LocalTrees.Spec}) are two.
 */
public interface LocalFit extends Serializable {
  /** Fits the shard's rows. */
  Serializable fit(ShardMatrix rows);

  /** What the driver's log says about a result, after the rows and seconds: " (12 optimizer iterations)". */
  default String describe(Serializable fitted) {
    return "";
  }
}
