package io.lethe.types;

import io.lethe.Evolving;
import io.lethe.InvalidConfigException;
import java.util.Locale;

/** What the label is: classes to predict, or a number. */
@Evolving
public enum Task {
  CLASSIFICATION,
  REGRESSION;

  public static Task parse(String value) {
    try {
      return valueOf(value.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new InvalidConfigException("Unknown task '" + value + "': use classification or regression");
    }
  }

  public String id() {
    return name().toLowerCase(Locale.ROOT);
  }
}
