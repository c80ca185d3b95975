package io.lethe.forget;

import java.util.List;
import java.util.Map;

/**
 * What a forget batch will do, computed without changing anything. Counts only: no subject id.
 *
 * @param storeVersion the store version the plan was computed on
 * @param ensembleVersion the published ensemble it starts from (null if none is published)
 * @param requestedSubjects distinct subject ids in the batch
 * @param foundSubjects how many of them have rows in the store
 * @param rowsToDelete rows that the delete will remove
 * @param rowsPerShard rows to delete, by shard
 * @param hitShards shards holding at least one of those rows: their sub-models are retrained
 * @param totalShards the store's shard count
 * @param expectedShardsHit S * (1 - (1 - 1/S)^k) for k = found subjects: what chance predicts
 */
public record ForgetPlan(
    long storeVersion,
    Long ensembleVersion,
    int requestedSubjects,
    long foundSubjects,
    long rowsToDelete,
    Map<Integer, Long> rowsPerShard,
    List<Integer> hitShards,
    int totalShards,
    double expectedShardsHit) {

  public ForgetPlan {
    rowsPerShard = Map.copyOf(rowsPerShard);
    hitShards = List.copyOf(hitShards);
  }

  public long unknownSubjects() {
    return requestedSubjects - foundSubjects;
  }

  /** Share of a full retrain this batch costs: hit shards over all shards. */
  public double retrainFraction() {
    return totalShards == 0 ? 0 : (double) hitShards.size() / totalShards;
  }

  public boolean changesNothing() {
    return rowsToDelete == 0;
  }

  public static double expectedShardsHit(int shards, long subjects) {
    return shards * (1 - Math.pow(1 - 1.0 / shards, subjects));
  }
}
