package io.lethe.internal.train;

import io.lethe.InvalidConfigException;
import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * How a shard's sub-model is fitted ({@code train.engine}). Either way it is an ordinary spark.ml
 * PipelineModel, equal to spark.ml's fit of the shard within the tolerance the tests state.
 */
public enum Engine {
  /**
   * One Spark job routes every shard to fit into a task of its own; the task fits the whole
   * pipeline on the rows it holds with local solvers, and the driver builds the spark.ml models.
   */
  TASKS("tasks"),
  /** A distributed spark.ml fit per shard: a few Spark jobs per stage and per optimizer iteration. */
  JOBS("jobs"),
  /** Tasks when the estimator has a local solver and every shard fits the task memory budget, else jobs. */
  AUTO("auto");

  private final String id;

  Engine(String id) {
    this.id = id;
  }

  public String id() {
    return id;
  }

  public static Engine parse(String id) {
    return Arrays.stream(values()).filter(e -> e.id.equals(id)).findFirst()
        .orElseThrow(() -> new InvalidConfigException("Unknown train.engine '" + id + "': use one of "
            + Arrays.stream(values()).map(Engine::id).collect(Collectors.joining(", "))));
  }

  /** The engine a fit used, and why it was chosen. */
  public record Choice(Engine engine, String reason) {}
}
