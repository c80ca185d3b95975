package io.lethe.internal.engine;

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

  /** Fits the shard's rows, made by feature stages of these fitted values. */
  default Serializable fit(ShardMatrix rows, Features features) {
    return fit(rows);
  }

  /** What the driver's log says about a result, after the rows and seconds: " (12 optimizer iterations)". */
  default String describe(Serializable fitted) {
    return "";
  }

  /**
   * A result that brings state for the unlearning strategy to keep beside the sub-model: the
   * solver reads {@code fitted}; {@code state} is saved by file name (DaRE's statistics).
   */
  record WithState(Serializable fitted, java.util.Map<String, Serializable> state) implements Serializable {}
}
