package io.lethe.types;

import io.lethe.Evolving;
import java.util.List;

/**
 * What a training run would do, worked out with no side effect.
 *
 * @param storeVersion the store version the shards would be fitted on
 * @param shards the shards it would fit (empty: nothing is stale)
 * @param estimator the estimator, the class name of the user's own, or {@code pipeline}
 * @param strategy the unlearning strategy training keeps state for
 * @param engine the engine that would fit them, and {@code engineReason} why
 */
@Evolving
public record TrainPlan(long storeVersion, List<Integer> shards, String estimator, String strategy, String engine,
    String engineReason) {
  public TrainPlan {
    shards = List.copyOf(shards);
  }
}
