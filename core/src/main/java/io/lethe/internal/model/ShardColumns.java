package io.lethe.internal.model;

import static org.apache.spark.sql.functions.col;

import org.apache.spark.sql.Column;

/**
 * Column names a shard's sub-model writes. Every name carries the shard, so the ensemble can run
 * all sub-models over the same rows in one pass and then drop what they wrote.
 */
public final class ShardColumns {
  /** Every column a sub-model adds starts with this. */
  public static final String PREFIX = "__lethe_s";

  private ShardColumns() {}

  /** A column by its exact name, whatever characters it holds (dots, backticks). */
  public static Column named(String name) {
    return col("`" + name.replace("`", "``") + "`");
  }

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
