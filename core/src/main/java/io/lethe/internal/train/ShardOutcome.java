package io.lethe.internal.train;

import io.lethe.types.ShardUnlearning;
import io.lethe.types.SubModelEntry;

/**
 * What a strategy did with one hit shard: its new sub-model, saved and unpublished, and the step
 * for the run summary; or why the shard is retrained instead.
 */
public record ShardOutcome(SubModelEntry entry, ShardUnlearning step, String retrainBecause) {
  public static ShardOutcome done(SubModelEntry entry, ShardUnlearning step) {
    return new ShardOutcome(entry, step, null);
  }

  /** The shard is retrained: {@code why} as the run summary records it. */
  public static ShardOutcome retrain(String why) {
    return new ShardOutcome(null, null, why);
  }

  public boolean retrains() {
    return retrainBecause != null;
  }
}
