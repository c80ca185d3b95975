package io.lethe.internal.run;

import io.lethe.internal.run.StepTimes;
import io.lethe.types.StepCost;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Wall time of named steps, in the order they ran, and what each cost: Spark jobs and Delta
 * commits, counted by the session's {@link CostMeter} when one is installed.
 */
public final class StepTimes {
  private final Map<String, Double> seconds = new LinkedHashMap<>();
  private final Map<String, List<String>> meterKeys = new LinkedHashMap<>();
  private final Map<String, StepCost> costs = new LinkedHashMap<>();

  public <T> T time(String step, Supplier<T> work) {
    CostMeter meter = CostMeter.current().orElse(null);
    CostMeter.Mark mark = meter == null ? null : meter.enter(step);
    long start = System.nanoTime();
    try {
      return work.get();
    } finally {
      double took = (System.nanoTime() - start) / 1e9;
      synchronized (this) {
        seconds.merge(step, took, Double::sum);
        if (mark != null) {
          meter.exit(mark);
          meterKeys.computeIfAbsent(step, s -> new ArrayList<>()).add(mark.key());
        }
      }
    }
  }

  public void time(String step, Runnable work) {
    time(step, () -> {
      work.run();
      return null;
    });
  }

  /** Adds time measured elsewhere to a step. */
  public synchronized void record(String step, double stepSeconds) {
    seconds.merge(step, stepSeconds, Double::sum);
  }

  public synchronized double get(String step) {
    return seconds.getOrDefault(step, 0.0);
  }

  public synchronized Map<String, Double> asMap() {
    return Collections.unmodifiableMap(new LinkedHashMap<>(seconds));
  }

  /**
   * Every step's cost so far, in the order the steps ran (jobs and commits zero when no meter is
   * installed).
   */
  public synchronized Map<String, StepCost> costs() {
    CostMeter meter = CostMeter.current().orElse(null);
    if (meter != null && !meterKeys.isEmpty()) {
      meter.drain();
    }
    Map<String, StepCost> out = new LinkedHashMap<>();
    for (Map.Entry<String, Double> step : seconds.entrySet()) {
      StepCost known = costs.getOrDefault(step.getKey(), new StepCost(0, 0, 0));
      long jobs = known.sparkJobs();
      long commits = known.deltaCommits();
      for (String key : meterKeys.getOrDefault(step.getKey(), List.of())) {
        long[] counted = meter == null ? new long[2] : meter.take(key);
        jobs += counted[0];
        commits += counted[1];
      }
      meterKeys.remove(step.getKey());
      StepCost cost = new StepCost(step.getValue(), jobs, commits);
      costs.put(step.getKey(), cost);
      out.put(step.getKey(), cost);
    }
    return Collections.unmodifiableMap(out);
  }
}
