package io.lethe.train;

import io.lethe.LetheConfig;
import io.lethe.unlearn.Certification;
import io.lethe.unlearn.Strategy;
import java.util.Map;

/**
 * How sub-models are fitted.
 *
 * @param estimator an estimator name from {@link Estimators#NAMES}
 * @param params estimator parameters by spark.ml name (e.g. maxIter, regParam), as text
 * @param seed base seed; each shard's seed is derived from it and the shard number
 * @param parallelism how many shards fit at the same time (concurrent Spark jobs)
 * @param impute fill missing numeric values with the shard's mean (fitted per shard)
 * @param scale scale features to unit standard deviation (fitted per shard)
 * @param strategy how forgetting unlearns this estimator's sub-models; training keeps what it needs
 *     (the shard's statistics for {@link Strategy#EXACT_STATISTICS}, and the objective's noise for
 *     {@link Strategy#CERTIFIED_REMOVAL}, whose training is Lethe's own)
 * @param certification the parameters of certified removal
 * @param slices R, the slices of each shard for {@link Strategy#SLICED}
 * @param engine how shards are fitted: in tasks, as spark.ml jobs, or chosen per run
 * @param taskMemoryMb the memory one task may hold a shard in, for {@link Engine#AUTO}'s choice
 */
public record TrainSettings(String estimator, Map<String, String> params, long seed, int parallelism,
    boolean impute, boolean scale, Strategy strategy, Certification certification, int slices, Engine engine,
    long taskMemoryMb) {

  public TrainSettings {
    params = Map.copyOf(params);
    if (parallelism < 1) {
      throw new io.lethe.LetheException("train.parallelism must be at least 1, got " + parallelism);
    }
    if (slices < 1) {
      throw new io.lethe.LetheException("forget.slices must be at least 1, got " + slices);
    }
    if (taskMemoryMb < 1) {
      throw new io.lethe.LetheException("train.task-memory-mb must be at least 1, got " + taskMemoryMb);
    }
  }

  public static TrainSettings from(LetheConfig config) {
    return new TrainSettings(
        config.get(LetheConfig.TRAIN_ESTIMATOR),
        config.withPrefix(LetheConfig.TRAIN_PARAM_PREFIX),
        config.getLong(LetheConfig.TRAIN_SEED),
        config.getInt(LetheConfig.TRAIN_PARALLELISM),
        config.getBoolean(LetheConfig.TRAIN_IMPUTE),
        config.getBoolean(LetheConfig.TRAIN_SCALE),
        strategy(config, config.get(LetheConfig.TRAIN_ESTIMATOR)),
        Certification.from(config),
        config.getInt(LetheConfig.FORGET_SLICES),
        Engine.parse(config.get(LetheConfig.TRAIN_ENGINE)),
        config.getLong(LetheConfig.TRAIN_TASK_MEMORY_MB));
  }

  /** The configured strategy for an estimator (shard retrain for a name that is no estimator). */
  public static Strategy strategy(LetheConfig config, String estimator) {
    String key = LetheConfig.FORGET_STRATEGY_PREFIX + estimator;
    return config.keys().contains(key) ? Strategy.parse(config.get(key), estimator) : Strategy.SHARD_RETRAIN;
  }

  /** The same settings with another strategy. */
  public TrainSettings withStrategy(Strategy other) {
    return new TrainSettings(estimator, params, seed, parallelism, impute, scale, other, certification, slices,
        engine, taskMemoryMb);
  }

  /** The same settings with another engine. */
  public TrainSettings withEngine(Engine other) {
    return new TrainSettings(estimator, params, seed, parallelism, impute, scale, strategy, certification, slices,
        other, taskMemoryMb);
  }

  /** The seed of one shard's sub-model: the same shard and base seed always give the same seed. */
  public long seedFor(int shard) {
    return seed + 1_000_003L * shard;
  }
}
