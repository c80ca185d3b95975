package io.lethe.types;

import io.lethe.Evolving;
import java.util.List;
import java.util.Map;

/**
 * What a training run did.
 *
 * @param storeVersion the store version the selected shards were fitted on (a shard retrained
 *     because a delete landed while publishing read a later one)
 * @param trainedShards shards that got a new sub-model
 * @param emptyShards selected shards that had no rows (they have no sub-model)
 * @param published the new ensemble version, or null when nothing needed training
 * @param seconds wall time by step
 * @param cost by step: wall time, Spark jobs started, Delta commits made
 */
@Evolving
public record TrainResult(long storeVersion, List<Integer> trainedShards, List<Integer> emptyShards,
    EnsembleManifest published, Map<String, Double> seconds, Map<String, io.lethe.types.StepCost> cost) {

  public boolean changed() {
    return published != null;
  }
}
