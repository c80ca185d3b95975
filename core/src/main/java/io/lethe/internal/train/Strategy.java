package io.lethe.internal.train;

import io.lethe.LetheConfig;
import io.lethe.internal.registry.ModelRegistry;
import io.lethe.types.EnsembleManifest;
import io.lethe.types.StoreLayout;
import io.lethe.types.SubModelEntry;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * How a shard's sub-model learns and unlearns: the extension point of forgetting. One
 * implementation per strategy, each in its own file, registered in {@code io.lethe.internal.unlearn.Strategies}; training,
 * forget, verify, bench and the configuration keys ({@code forget.strategy.<estimator>}) read that
 * registry, so a new strategy is a new file plus one registration.
 *
 * <p>Each declares what it supports ({@link #estimators}, {@link #unsupported}), its own
 * configuration keys ({@link #keys}, read by {@link #configure}), how it trains ({@link #train},
 * {@link #fitEstimator}: by default the shard's pipeline fitted as usual), how it unlearns
 * ({@link #unlearn}, or why it falls back to a shard retrain), its guarantee in words, and the state
 * it keeps beside each sub-model ({@link #stateFiles}), retired with the sub-model, and how a
 * sub-model it made is fitted again from that state ({@link #retraining}).
 */
public interface Strategy {
  /** The name in configuration ({@code forget.strategy.<estimator>}), summaries and reports. */
  String id();

  /**
   * Its own configuration keys and their defaults (conf/lethe.properties documents each): the
   * configuration accepts them, and {@link #configure} reads them. Empty for a strategy with none.
   */
  default Map<String, String> keys() {
    return Map.of();
  }

  /** This strategy with the values a configuration gives its {@link #keys}; itself when it has none. */
  default Strategy configure(LetheConfig config) {
    return this;
  }

  /** Whether its result is the model a retrain of the shard gives (else an approximation). */
  boolean exact();

  /** What a sub-model it made is, in words, for reports. */
  String guarantee();

  /** The built-in estimators it applies to; empty when it applies to every estimator. */
  List<String> estimators();

  /** The built-in estimators it is the default strategy of. */
  default List<String> defaultFor() {
    return List.of();
  }

  /** Whether it applies to an estimator. */
  default boolean appliesTo(String estimator) {
    return estimators().isEmpty() || estimators().contains(estimator);
  }

  /**
   * Why it cannot apply to these settings although it applies to the estimator (a parameter
   * outside what its state determines), or empty when it can. Forgetting then retrains, and says why.
   */
  default Optional<String> unsupported(StoreLayout layout, TrainSettings settings) {
    return Optional.empty();
  }

  /** Why its training does not run on the task engine (a solver of its own), or empty when it can. */
  default Optional<String> ownSolver() {
    return Optional.empty();
  }

  /**
   * Whether its sub-models are trained its own way (a solver of its own, or its own fit in a task),
   * so that a retrain of one, by verify or after a fallback, must train the same way.
   */
  default boolean ownTraining() {
    return ownSolver().isPresent();
  }

  /**
   * Whether a training of the shard from scratch grows the very model its sub-models are (the same
   * trees, node for node), whatever the order of the rows: verify then compares the models
   * themselves, not only their predictions.
   */
  default boolean sameModelForSeed() {
    return false;
  }

  /**
   * What the task engine runs on a shard's featurized rows under this strategy: the estimator's
   * own fit ({@code usual}), or one of its own that also returns the state it keeps
   * ({@link io.lethe.internal.engine.LocalFit.WithState}).
   */
  default io.lethe.internal.engine.LocalFit localFit(io.lethe.internal.engine.LocalFit usual) {
    return usual;
  }

  /** The files it keeps beside each sub-model: the state a forget starts from. */
  List<String> stateFiles();

  /** The state files a published sub-model keeps beside it, read by name as the type its strategy names. */
  @FunctionalInterface
  interface KeptState {
    <T> Optional<T> read(String name, Class<T> type);
  }

  /**
   * The trainer that fits a sub-model this strategy made again, as it was fitted (verify's retrain):
   * {@code trainer}, whose settings carry this strategy, unless the fit depends on what the
   * sub-model kept (a certified model's noise, a sliced one's number of slices).
   */
  default ShardTrainer retraining(ShardTrainer trainer, int shard, KeptState kept) {
    return trainer;
  }

  /** Whether it trains a shard its own way ({@link #train}) instead of the usual fit of the shard's pipeline. */
  default boolean trainsShards() {
    return false;
  }

  /**
   * Trains one shard its own way, when {@link #trainsShards}: the rows are that shard's at a store
   * version, to read in at most {@code maxPartitions} partitions. Null when the shard has no rows.
   */
  default ShardTrainer.FittedShard train(ShardTrainer trainer, int shard, Dataset<Row> rows, long version,
      int maxPartitions) {
    throw new UnsupportedOperationException(id() + " trains shards by the usual fit");
  }

  /**
   * Fits the estimator of one shard its own way on the featurized rows, with the state it keeps, or
   * empty for the estimator's own fit.
   */
  default Optional<EstimatorFit> fitEstimator(ShardTrainer trainer, int shard, PipelineModel features,
      Dataset<Row> featurized) {
    return Optional.empty();
  }

  /** An estimator's fitted model made by a strategy's own solver, and the state kept beside the sub-model. */
  record EstimatorFit(org.apache.spark.ml.Model<?> model, Map<String, Object> state) {}

  /**
   * Brings one hit shard's sub-model to a store version from what its published sub-model keeps:
   * saves the new sub-model (unpublished) and returns it with the step, or says why the shard is
   * retrained instead.
   */
  ShardOutcome unlearn(ShardUnlearn shard);

  /** What the published sub-model of a shard, made by this strategy, guarantees. */
  default Guarantee guaranteeOf(ModelRegistry registry, EnsembleManifest manifest, SubModelEntry entry) {
    return new Guarantee(exact(), guarantee(), null);
  }

  /** A guarantee in words, whether it is exact, and a certificate's figures when it has one (else null). */
  record Guarantee(boolean exact, String words, Map<String, Double> certificate) {}

  /** A configuration it applies to, which bench measures it with; empty for none. */
  default Optional<Example> example() {
    return Optional.empty();
  }

  /** An estimator and its parameters by spark.ml name. */
  record Example(String estimator, Map<String, String> params) {}
}
