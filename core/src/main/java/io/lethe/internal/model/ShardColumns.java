package io.lethe.internal.model;

/**
 * Column names a shard's sub-model writes. Every name carries the shard, so the ensemble can run
 * all sub-models over the same rows in one pass and then drop what they wrote.
 */
public final class ShardColumns {
  /** Every column a sub-model adds starts with this. */
  public static final String PREFIX = "__lethe_s";

  private ShardColumns() {}

  public static String of(int shard, String name) {
    return PREFIX + shard + "_" + name;
  }

  public static String features(int shard) {
    return of(shard, "features");
  }

  public static String prediction(int shard) {
    return of(shard, "prediction");
  }

  public static String probability(int shard) {
    return of(shard, "probability");
  }

  public static String rawPrediction(int shard) {
    return of(shard, "raw");
  }
}
