package io.lethe.internal.train;

import io.lethe.InvalidConfigException;
import io.lethe.internal.store.ShardedStore;
import java.util.Collection;
import java.util.Map;
import java.util.Optional;

/** How the engine that fits a set of shards is chosen: the settings, else the shards' sizes in the log. */
final class EngineChoice {
  private EngineChoice() {}

  /**
   * The engine that fits these shards on a store version, and why: {@code jobs} or {@code tasks}
   * as configured (a clear error when the task engine cannot fit these settings), or for
   * {@code auto} tasks when the estimator has a local solver and every shard's rows, estimated
   * from the Delta log's row counts, fit {@code train.task-memory-mb}.
   */
  static Engine.Choice choose(ShardedStore store, TrainSettings settings, Collection<Integer> shards, long version) {
    Optional<String> unsupported = TaskEngine.unsupported(store.layout(), settings);
    switch (settings.engine()) {
      case JOBS:
        return new Engine.Choice(Engine.JOBS, "train.engine is jobs");
      case TASKS:
        if (unsupported.isPresent()) {
          throw new InvalidConfigException("train.engine is tasks, but " + unsupported.get()
              + ": set train.engine to auto or jobs");
        }
        return new Engine.Choice(Engine.TASKS, "train.engine is tasks");
      case AUTO:
      default:
        if (unsupported.isPresent()) {
          return new Engine.Choice(Engine.JOBS, unsupported.get());
        }
        Map<Integer, Long> rows = store.rowsPerShardFromLog(version, shards);
        long budget = settings.taskMemoryMb() << 20;
        int largest = -1;
        long largestBytes = -1;
        for (int shard : shards) {
          Long n = rows.get(shard);
          if (n == null) {
            return new Engine.Choice(Engine.JOBS, "the Delta log has no row counts for shard " + shard);
          }
          long bytes = taskBytes(store, n);
          if (bytes > largestBytes) {
            largest = shard;
            largestBytes = bytes;
          }
        }
        String size = String.format("shard %d holds %s rows, about %d MB in a task", largest,
            rows.getOrDefault(largest, 0L), largestBytes >> 20);
        return largestBytes > budget
            ? new Engine.Choice(Engine.JOBS, size + ", over train.task-memory-mb=" + settings.taskMemoryMb())
            : new Engine.Choice(Engine.TASKS, "every shard fits one task: the largest, " + size
                + ", within train.task-memory-mb=" + settings.taskMemoryMb());
    }
  }

  /**
   * What a task holds to fit a shard of this many rows: per row and column about 32 bytes (its value,
   * then its featurized index and value, and that value standardized for a linear fit), plus the
   * row's label.
   */
  private static long taskBytes(ShardedStore store, long rows) {
    return rows * (32L * store.layout().featureColumns().size() + 8) + (1L << 20);
  }
}
