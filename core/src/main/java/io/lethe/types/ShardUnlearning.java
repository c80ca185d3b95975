package io.lethe.types;

import io.lethe.Evolving;

/**
 * How one shard's sub-model was brought up to date by a forget run. Counts and times only.
 *
 * @param shard the shard
 * @param strategy the strategy that made the new sub-model (shard-retrain, exact-statistics,
 *     certified-removal, sliced)
 * @param exact whether the new sub-model is what a retrain of the shard gives (else approximate)
 * @param detail why this strategy: configured, or the reason the configured one fell back to a
 *     shard retrain; for statistics, whether they were updated from the changed rows or recomputed
 * @param rowsRemoved rows whose statistics were subtracted (0 for a retrain)
 * @param rowsAdded rows whose statistics were added, appended since the last sub-model (0 for a retrain)
 * @param seconds wall time of this shard's update
 * @param certificate for certified removal: epsilon, delta, noise (sigma), budget and the gradient
 *     residual left; null for the exact strategies
 * @param engine the engine behind the new sub-model: {@code tasks} or {@code jobs} (the statistics,
 *     certified and sliced updates run as Spark jobs)
 * @param figures what the strategy measured of its update, by name (for dare: {@code updateSeconds},
 *     the deletion itself; {@code readSeconds}, reading the remaining rows when a node needed them;
 *     {@code nodesVisited}, {@code nodesRecomputed}, {@code subtreesRebuilt}, {@code shareRebuilt},
 *     the share of the forest's nodes grown again); null when it measures nothing more
 */
@Evolving
public record ShardUnlearning(int shard, String strategy, boolean exact, String detail, long rowsRemoved,
    long rowsAdded, double seconds, java.util.Map<String, Double> certificate, String engine,
    java.util.Map<String, Double> figures) {

  /** A step with no figures of its own. */
  public ShardUnlearning(int shard, String strategy, boolean exact, String detail, long rowsRemoved, long rowsAdded,
      double seconds, java.util.Map<String, Double> certificate, String engine) {
    this(shard, strategy, exact, detail, rowsRemoved, rowsAdded, seconds, certificate, engine, null);
  }
}
