package io.lethe.run;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/** Wall time of named steps, in the order they ran. */
public final class StepTimes {
  private final Map<String, Double> seconds = new LinkedHashMap<>();

  public <T> T time(String step, Supplier<T> work) {
    long start = System.nanoTime();
    try {
      return work.get();
    } finally {
      seconds.merge(step, (System.nanoTime() - start) / 1e9, Double::sum);
    }
  }

  public void time(String step, Runnable work) {
    time(step, () -> {
      work.run();
      return null;
    });
  }

  /** Adds time measured elsewhere to a step. */
  public void record(String step, double stepSeconds) {
    seconds.merge(step, stepSeconds, Double::sum);
  }

  public double get(String step) {
    return seconds.getOrDefault(step, 0.0);
  }

  public Map<String, Double> asMap() {
    return Collections.unmodifiableMap(seconds);
  }
}
