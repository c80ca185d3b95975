package io.lethe.types;

import io.lethe.Evolving;
import java.util.Optional;

/**
 * SISA's cost model. k requests for distinct people, each living in one of S shards chosen by a
 * hash, hit {@code S * (1 - (1 - 1/S)^k)} shards on average; a forget retrains those, so its ideal
 * speed-up over retraining all S shards is S over that. Beyond about 3S requests a batch hits
 * nearly every shard and a full retrain costs the same.
 */
@Evolving
public final class ShardMath {
  /** A batch expected to hit this share of the shards or more costs about what a full retrain does. */
  static final double MOST = 0.95;
  /** The share of shards a batch should hit for a worthwhile forget: 1/4, an ideal speed-up of 4x. */
  static final double WORTHWHILE = 0.25;

  private ShardMath() {}

  public static double expectedShardsHit(int shards, long ids) {
    return shards * (1 - Math.pow(1 - 1.0 / shards, ids));
  }

  /** Full retrain time over forget time, were both pure retraining: S / expected shards hit. */
  public static double idealSpeedup(int shards, long ids) {
    return ids <= 0 ? 0 : shards / expectedShardsHit(shards, ids);
  }

  /** The fewest shards for which a batch of {@code ids} is expected to hit at most a quarter of them. */
  public static int suggestedShards(long ids) {
    int s = 1;
    while (expectedShardsHit(s, ids) > WORTHWHILE * s) {
      s++;
    }
    return s;
  }

  /** Advice for a batch that would hit most shards (and for one that hits more than half), else empty. */
  public static Optional<String> advice(int shards, long ids) {
    double hit = expectedShardsHit(shards, ids);
    if (ids <= 1 || hit <= 0.5 * shards) {
      return Optional.empty();
    }
    String cost = hit >= MOST * shards
        ? "a full retrain costs about the same"
        : String.format("at best %.1fx faster than a full retrain", shards / hit);
    return Optional.of(String.format("A batch of %d people is expected to hit %.1f of %d shards: %s. Forget in"
        + " smaller, more frequent batches (with %d shards, batches of up to %d people hit at most a quarter of"
        + " them), or use about %d shards for batches of this size (fewer rows per shard: check the accuracy cost"
        + " with bench).", ids, hit, shards, cost, shards, worthwhileBatch(shards), suggestedShards(ids)));
  }

  /** The largest batch expected to hit at most a quarter of the shards (at least 1). */
  public static long worthwhileBatch(int shards) {
    long k = 1;
    while (expectedShardsHit(shards, k + 1) <= WORTHWHILE * shards) {
      k++;
    }
    return k;
  }
}
