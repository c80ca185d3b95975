package io.lethe.internal.model;

import io.lethe.InvalidConfigException;
import java.util.Locale;

/**
 * How the ensemble combines its sub-models. For regression, soft and hard both take the mean of
 * the sub-models' predictions and weighted takes the mean weighted by shard size.
 */
public enum Aggregation {
  /** Mean of the sub-models' class probabilities (the default). */
  SOFT,
  /** Majority vote of the sub-models' predicted classes. */
  HARD,
  /** Mean of class probabilities weighted by each sub-model's training rows. */
  WEIGHTED;

  public static Aggregation parse(String value) {
    try {
      return valueOf(value.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new InvalidConfigException("Unknown aggregation '" + value + "': use soft, hard or weighted");
    }
  }

  public String id() {
    return name().toLowerCase(Locale.ROOT);
  }
}
