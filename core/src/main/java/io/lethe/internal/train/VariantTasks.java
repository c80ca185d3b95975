package io.lethe.internal.train;

import io.lethe.LetheException;
import io.lethe.internal.engine.FeatureSpec;
import io.lethe.internal.engine.LocalFit;
import io.lethe.internal.engine.ShardRows;
import io.lethe.internal.engine.ShardStatistics;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.SplittableRandom;
import org.apache.spark.sql.Row;

/**
 * How a job of variants (shadow models, a control: the same shard fitted several times, each with
 * a share of its rows and rows added) shares its reads. Variants that read the same rows (one shard,
 * the same rows left out) go to one task, or to as many as the cluster has cores for them; a task
 * reads its shard once and fits each of its variants from what it read. Reading a shard through
 * Delta Kernel costs more than fitting it (Parquet decoding, about two thirds of a variant's fit
 * on the bench store), so the eight shadow models of one shard read it once per task, not eight
 * times. A task of one variant streams its rows, as a retrain's task does.
 */
final class VariantTasks {
  private VariantTasks() {}

  /**
   * The cores a job of variants spreads over: the cluster's, but one in local mode, where the
   * driver's own work (the audit's attacks beside its shadow models) runs on the same cores.
   */
  static int parallelism(org.apache.spark.SparkContext context) {
    int cores = context.defaultParallelism();
    return context.isLocal() && cores > 1 ? cores - 1 : cores;
  }

  /**
   * The variants' indices by task: those reading the same rows together, in runs of at most
   * {@code ceil(variants / parallelism)}, so that every core has a task while there are variants
   * to give it. In the order the variants first appear.
   */
  static List<List<Integer>> of(List<ShardTrainer.Variant> variants, int parallelism) {
    Map<List<Object>, List<Integer>> byRead = new LinkedHashMap<>();
    for (int i = 0; i < variants.size(); i++) {
      ShardTrainer.Variant v = variants.get(i);
      List<Object> read = v.without().isEmpty() ? List.of(v.shard())
          : List.of(v.shard(), v.column(), new HashSet<>(v.without()));
      byRead.computeIfAbsent(read, k -> new ArrayList<>()).add(i);
    }
    int cores = Math.max(1, parallelism);
    int most = Math.max(1, (variants.size() + cores - 1) / cores);
    List<List<Integer>> tasks = new ArrayList<>();
    for (List<Integer> same : byRead.values()) {
      for (int from = 0; from < same.size(); from += most) {
        tasks.add(List.copyOf(same.subList(from, Math.min(same.size(), from + most))));
      }
    }
    return tasks;
  }

  /**
   * Runs in a task: fits each variant of one shard from its rows ({@code own}), read once. Each
   * fit's time is its own; the first also holds the read.
   */
  static List<TaskEngine.TaskFit> fit(int shard, Iterator<Row> own, List<ShardTrainer.AddedRows> added,
      ShardStatistics empty, FeatureSpec featureSpec, List<LocalFit> fits) {
    if (added.size() == 1) {
      return List.of(TaskEngine.fitInTask(shard, withAdded(own, added.get(0)), empty, featureSpec, fits.get(0)));
    }
    long start = System.nanoTime();
    ShardRows read;
    try {
      read = ShardRows.read(own, empty.copy());
    } catch (LetheException e) { // Lethe's messages name columns and counts, never row values
      return added.stream().map(a -> new TaskEngine.TaskFit(shard, 0, null, null, 0, TaskEngine.executor(),
          e.getMessage())).toList();
    }
    double reading = (System.nanoTime() - start) / 1e9;
    List<TaskEngine.TaskFit> out = new ArrayList<>();
    for (int i = 0; i < added.size(); i++) {
      TaskEngine.TaskFit f = TaskEngine.fitInTask(shard, withAdded(read.rows(), added.get(i)), empty, featureSpec,
          fits.get(i));
      out.add(i > 0 ? f : new TaskEngine.TaskFit(f.shard(), f.rows(), f.statistics(), f.fitted(), f.seconds() + reading,
          f.executor(), f.error()));
    }
    return out;
  }

  /** A shard's rows, each kept with the added rows' probability, then the rows added to it (as they are, for none). */
  static Iterator<Row> withAdded(Iterator<Row> rows, ShardTrainer.AddedRows added) {
    if (added == null) {
      return rows;
    }
    SplittableRandom random = new SplittableRandom(added.seed());
    Iterator<Row> more = added.rows().iterator();
    return new Iterator<>() {
      private Row next;
      private boolean read; // the shard's reader must not be asked again once it has ended

      @Override
      public boolean hasNext() {
        while (next == null && !read) {
          if (!rows.hasNext()) {
            read = true;
          } else {
            Row own = rows.next();
            next = random.nextDouble() < added.keepOwn() ? own : null;
          }
        }
        return next != null || more.hasNext();
      }

      @Override
      public Row next() {
        if (!hasNext()) {
          throw new NoSuchElementException();
        }
        if (next != null) {
          Row out = next;
          next = null;
          return out;
        }
        return more.next();
      }
    };
  }
}
