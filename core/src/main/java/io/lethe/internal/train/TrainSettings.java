package io.lethe.internal.train;

import io.lethe.LetheConfig;
import java.util.Map;
import java.util.function.BiFunction;

/**
 * How sub-models are fitted.
 *
 * @param estimator an estimator name from {@link Estimators#NAMES}, the class name of the user's own, or
 *     {@link Estimators#PIPELINE} when {@code pipeline} is set
 * @param params estimator parameters by spark.ml name (e.g. maxIter, regParam), as text
 * @param seed base seed; each shard's seed is derived from it and the shard number
 * @param parallelism how many shards fit at the same time (concurrent Spark jobs)
 * @param impute fill missing numeric values with the shard's mean (fitted per shard)
 * @param scale scale features to unit standard deviation (fitted per shard)
 * @param strategy how forgetting unlearns this estimator's sub-models, with its own parameters
 *     ({@link Strategy#configure}); training keeps what it needs (the shard's statistics for
 *     {@code exact-statistics}, and the objective's noise for {@code certified-removal}, whose
 *     training is Lethe's own)
 * @param engine how shards are fitted: in tasks, as spark.ml jobs, or chosen per run
 * @param taskMemoryMb the memory one task may hold a shard in, for {@link Engine#AUTO}'s choice
 * @param pipeline the path of the user's unfitted spark.ml Pipeline that each shard fits
 *     ({@code train.pipeline}), or empty for Lethe's featurization and {@code estimator}
 */
public record TrainSettings(String estimator, Map<String, String> params, long seed, int parallelism,
    boolean impute, boolean scale, Strategy strategy, Engine engine,
    long taskMemoryMb, String pipeline) {

  /** The key under which an ensemble's recorded estimator parameters hold the user's pipeline path. */
  public static final String PIPELINE_PARAM = LetheConfig.TRAIN_PIPELINE;

  public TrainSettings {
    params = Map.copyOf(params);
    pipeline = pipeline == null ? "" : pipeline.trim();
    if (parallelism < 1) {
      throw new io.lethe.LetheException("train.parallelism must be at least 1, got " + parallelism);
    }
    if (taskMemoryMb < 1) {
      throw new io.lethe.LetheException("train.task-memory-mb must be at least 1, got " + taskMemoryMb);
    }
  }

  /**
   * The settings a configuration gives, with the strategy {@code strategyFor} names for the
   * estimator (the registry of strategies, {@code io.lethe.internal.unlearn.Strategies#settings}, passes
   * its own); shard retrain for a user's pipeline.
   */
  public static TrainSettings from(LetheConfig config, BiFunction<LetheConfig, String, Strategy> strategyFor) {
    String pipeline = config.get(LetheConfig.TRAIN_PIPELINE).trim();
    String estimator = pipeline.isEmpty() ? config.get(LetheConfig.TRAIN_ESTIMATOR) : Estimators.PIPELINE;
    return new TrainSettings(
        estimator,
        config.withPrefix(LetheConfig.TRAIN_PARAM_PREFIX),
        config.getLong(LetheConfig.TRAIN_SEED),
        config.getInt(LetheConfig.TRAIN_PARALLELISM),
        config.getBoolean(LetheConfig.TRAIN_IMPUTE),
        config.getBoolean(LetheConfig.TRAIN_SCALE),
        pipeline.isEmpty() ? strategyFor.apply(config, estimator).configure(config) : ShardRetrainStrategy.INSTANCE,
        Engine.parse(config.get(LetheConfig.TRAIN_ENGINE)),
        config.getLong(LetheConfig.TRAIN_TASK_MEMORY_MB),
        pipeline);
  }

  /**
   * The settings an ensemble records as its estimator and parameters, with this run's seed,
   * parallelism and the rest: what forget and verify retrain a published sub-model with.
   */
  public TrainSettings asRecorded(String recordedEstimator, Map<String, String> recordedParams) {
    Map<String, String> p = new java.util.TreeMap<>(recordedParams);
    String recordedPipeline = p.remove(PIPELINE_PARAM);
    return new TrainSettings(recordedEstimator, p, seed, parallelism, impute, scale, strategy, engine, taskMemoryMb,
        recordedPipeline);
  }

  /** Whether each shard fits the user's own pipeline ({@code train.pipeline}). */
  public boolean hasPipeline() {
    return !pipeline.isEmpty();
  }

  /** What an ensemble records as its estimator parameters: the parameters, and the pipeline's path if any. */
  public Map<String, String> recordedParams() {
    if (!hasPipeline()) {
      return params;
    }
    Map<String, String> p = new java.util.TreeMap<>(params);
    p.put(PIPELINE_PARAM, pipeline);
    return p;
  }

  /** The same settings with another strategy. */
  public TrainSettings withStrategy(Strategy other) {
    return new TrainSettings(estimator, params, seed, parallelism, impute, scale, other, engine, taskMemoryMb, pipeline);
  }

  /** The same settings with another engine. */
  public TrainSettings withEngine(Engine other) {
    return new TrainSettings(estimator, params, seed, parallelism, impute, scale, strategy, other, taskMemoryMb, pipeline);
  }

  /** The seed of one shard's sub-model: the same shard and base seed always give the same seed. */
  public long seedFor(int shard) {
    return seed + 1_000_003L * shard;
  }
}
