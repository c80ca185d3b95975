package io.lethe.internal.store;

import com.fasterxml.jackson.databind.JsonNode;
import io.lethe.internal.run.DeltaCommits;
import io.lethe.internal.run.HadoopFiles;
import io.lethe.internal.run.LogTable;
import io.lethe.types.StoreLayout;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.LongConsumer;
import org.apache.hadoop.fs.Path;

/**
 * What the store's Delta log says, read in the driver (Delta Kernel for the files of a version,
 * the commit files for what each commit changed): no Spark job.
 */
final class StoreLog {
  private final ShardedStore store;

  StoreLog(ShardedStore store) {
    this.store = store;
  }

  /**
   * Rows per shard at a version, from the Delta log's file statistics (no data file is read): the
   * logical records of each live file, deletion vectors subtracted. A shard whose files carry no
   * statistics is missing from the map.
   */
  Map<Integer, Long> rowsPerShardFromLog(long version, Collection<Integer> shards) {
    Map<Integer, Long> rows = new TreeMap<>();
    Set<Integer> unknown = new HashSet<>();
    for (LogTable.DataFile f : filesOf(version, shards, true)) {
      int shard = shardOf(f);
      Long records = f.liveRecords();
      if (records == null) {
        unknown.add(shard);
      } else {
        rows.merge(shard, records, Long::sum);
      }
    }
    unknown.forEach(rows::remove);
    shards.stream().filter(s -> !rows.containsKey(s) && !unknown.contains(s)).forEach(s -> rows.put(s, 0L));
    return rows;
  }

  /** Live data files of these shards that carry a deletion vector: rows hidden but still in the file. */
  long filesWithDeletionVectors(Collection<Integer> shards) {
    return filesOf(store.currentVersion(), shards, false).stream().filter(f -> f.deletionVectorRows() > 0).count();
  }

  /** The data files of a version in these shards, from the Delta log read in the driver (Delta Kernel). */
  private List<LogTable.DataFile> filesOf(long version, Collection<Integer> shards, boolean withStats) {
    Set<String> wanted = new HashSet<>();
    shards.forEach(s -> wanted.add(String.valueOf(s)));
    return store.log().files(version, values -> wanted.contains(values.get(StoreLayout.SHARD_COLUMN)), withStats);
  }

  private static int shardOf(LogTable.DataFile file) {
    return Integer.parseInt(file.partitionValues().get(StoreLayout.SHARD_COLUMN));
  }

  /**
   * What time travel to a version reads in these shards, as its log says: each data file with the
   * number of rows its deletion vector hides (deletion vectors only grow, and a rewrite makes a new
   * file), sorted. Two versions with the same answer read the same rows there, so one scan answers
   * for both. Empty when the version cannot be read there: a data file it needs is gone from
   * storage (VACUUM deletes them once the retention has passed), or the log no longer reaches it.
   * Read in the driver and checked by listing, so that no Spark job runs and no task fails on a
   * missing file.
   */
  Optional<List<String>> readableRows(long version, Collection<Integer> shards) {
    List<LogTable.DataFile> needed;
    try {
      needed = filesOf(version, shards, false);
    } catch (RuntimeException logGone) { // the log no longer reaches back to that version
      return Optional.empty();
    }
    HadoopFiles files = new HadoopFiles(store.spark().sparkContext().hadoopConfiguration());
    for (LogTable.DataFile f : needed) {
      if (!files.exists(new Path(f.absolutePath(store.path())))) {
        return Optional.empty();
      }
    }
    return Optional.of(needed.stream().map(f -> f.path() + "#" + f.deletionVectorRows()).sorted().toList());
  }

  /** See {@link ShardedStore#readableWithSameRows}: up to the first commit that changes the shard's rows. */
  java.util.OptionalLong readableWithSameRows(long version, int shard) {
    long[] changed = {Long.MAX_VALUE};
    scanLog(version, (v, kind, s) -> {
      if (s == shard) {
        changed[0] = Math.min(changed[0], v);
      }
    }, v -> changed[0] = Math.min(changed[0], v));
    long current = store.currentVersion();
    for (long v = version; v < changed[0] && v <= current; v++) {
      if (readableRows(v, List.of(shard)).isPresent()) {
        return java.util.OptionalLong.of(v);
      }
    }
    return java.util.OptionalLong.empty();
  }

  /**
   * Whether one commit has change data in these shards that can still be read: the change files
   * it wrote there (or, without them, the data files it added and removed there) are all on
   * storage. False for a commit that changed nothing in them.
   */
  boolean changeFilesPresent(long version, Collection<Integer> shards) {
    HadoopFiles files = new HadoopFiles(store.spark().sparkContext().hadoopConfiguration());
    Path table = new Path(store.path());
    if (!files.exists(DeltaCommits.file(table, version))) {
      return false;
    }
    Set<String> wanted = new TreeSet<>();
    shards.forEach(s -> wanted.add(String.valueOf(s)));
    List<String> cdc = new ArrayList<>();
    List<String> data = new ArrayList<>();
    for (JsonNode action : DeltaCommits.actions(files, table, version)) {
      for (String kind : List.of("cdc", "add", "remove")) {
        JsonNode file = action.path(kind);
        if (file.isMissingNode() || !wanted.contains(file.path("partitionValues").path(StoreLayout.SHARD_COLUMN).asText())) {
          continue;
        }
        (kind.equals("cdc") ? cdc : data).add(file.path("path").asText());
      }
    }
    if (cdc.isEmpty() && data.isEmpty()) {
      return false;
    }
    for (String file : cdc.isEmpty() ? data : cdc) {
      if (!files.exists(new Path(table, new Path(java.net.URI.create(file))))) {
        return false;
      }
    }
    return true;
  }

  /**
   * Shards whose rows changed (rows added or removed) in any commit after {@code version}, read
   * from the Delta log (no data is scanned). Rewrites that keep the rows (REORG, OPTIMIZE: no
   * data change) do not count. If the log no longer holds a commit of that range, every shard
   * counts as changed.
   */
  Set<Integer> shardsChangedSince(long version) {
    Set<Integer> changed = new TreeSet<>();
    scanLog(version, (v, kind, shard) -> changed.add(shard), v -> changed.addAll(store.layout().allShards()));
    return changed;
  }

  /**
   * For each shard, the last version after {@code version} that removed rows from it (a delete; a
   * rewrite that keeps the rows does not count). A sub-model of shard k fitted on a version older
   * than that entry was trained on rows that are deleted now. A commit missing from the log
   * counts as a removal in every shard: it cannot be proven otherwise.
   */
  Map<Integer, Long> lastRemovalsSince(long version) {
    Map<Integer, Long> last = new TreeMap<>();
    scanLog(version, (v, kind, shard) -> {
      if (kind.equals("remove")) {
        last.merge(shard, v, Math::max);
      }
    }, v -> store.layout().allShards().forEach(s -> last.merge(s, v, Math::max)));
    return last;
  }

  private interface LogVisitor {
    void change(long version, String kind, int shard);
  }

  /** Data-changing add and remove actions of every commit after {@code version}, by shard. */
  private void scanLog(long version, LogVisitor visitor, LongConsumer missing) {
    long current = store.currentVersion();
    HadoopFiles files = new HadoopFiles(store.spark().sparkContext().hadoopConfiguration());
    Path table = new Path(store.path());
    for (long v = Math.max(version, -1) + 1; v <= current; v++) {
      if (!files.exists(DeltaCommits.file(table, v))) {
        missing.accept(v);
        continue;
      }
      for (JsonNode action : DeltaCommits.actions(files, table, v)) {
        for (String kind : List.of("add", "remove")) {
          JsonNode file = action.path(kind);
          JsonNode shard = file.path("partitionValues").path(StoreLayout.SHARD_COLUMN);
          if (!shard.isMissingNode() && !shard.isNull() && file.path("dataChange").asBoolean(true)) {
            visitor.change(v, kind, Integer.parseInt(shard.asText()));
          }
        }
      }
    }
  }
}
