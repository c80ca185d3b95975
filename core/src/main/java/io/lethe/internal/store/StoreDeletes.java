package io.lethe.internal.store;

import io.lethe.types.PurgeResult;
import io.lethe.types.StoreLayout;
import static org.apache.spark.sql.functions.col;

import com.fasterxml.jackson.databind.JsonNode;
import io.delta.tables.DeltaTable;
import io.lethe.internal.run.DeltaCommits;
import io.lethe.internal.run.HadoopFiles;
import java.time.Instant;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.OptionalLong;
import java.util.TreeMap;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The store's deletes and purges: Delta's DELETE of a batch's rows, and REORG ... APPLY (PURGE)
 * then VACUUM, each run with the session settings that suit a command on a few shards.
 */
final class StoreDeletes {
  private static final Logger LOG = LoggerFactory.getLogger(StoreDeletes.class);
  /** Delta's session setting for whether DELETE writes deletion vectors (true) or rewrites files. */
  private static final String DELETE_DELETION_VECTORS = "spark.databricks.delta.delete.deletionVectors.persistent";
  /** Commands of this JVM that change session settings for their time run one at a time. */
  private static final Object SESSION_SETTINGS_LOCK = new Object();
  /** Tables of up to this many files have their Delta state built in one partition for a command. */
  static final long SMALL_STATE_FILES = 10_000;

  private final ShardedStore store;
  private final SparkSession spark;

  StoreDeletes(ShardedStore store) {
    this.store = store;
    this.spark = store.spark();
  }

  /** Deletes the rows; see {@link ShardedStore#deleteMatching}. */
  long deleteMatching(String column, DataType type, Collection<String> ids, Collection<Integer> shards,
      CommitRetry retry, boolean rewriteFiles) {
    Column condition = RequestedIds.test(ids, col(column), type != null ? type
        : DeltaTable.forPath(spark, store.path()).toDF().schema().apply(column).dataType());
    if (shards != null) {
      condition = col(StoreLayout.SHARD_COLUMN).isin(shards.stream().sorted().toArray()).and(condition);
    }
    Column where = condition;
    Map<String, String> settings = smallCommandSettings();
    if (rewriteFiles) {
      settings.put(DELETE_DELETION_VECTORS, "false");
    }
    return retry.run("delete of the batch's rows", () -> {
      withSessionSettings(settings, () -> DeltaTable.forPath(spark, store.path()).delete(where));
      return store.currentVersion();
    });
  }

  /**
   * Session settings for Delta's commands on a few shards (DELETE, REORG, VACUUM): their queries
   * are small (the shards' files, the rows' positions per file, the files to delete), and adaptive
   * execution would run each of their stages as a Spark job of its own. Without it, and with one
   * shuffle partition (VACUUM's deletes keep one task per core), each query is one job of one
   * task a stage. Delta's table state (the file list its commands start from) is built in one
   * partition too while the table holds at most {@link #SMALL_STATE_FILES} files by its checksum:
   * at S = 16 that took the DELETE from 1.45 s to 1.22 s (bench medians of five).
   */
  private Map<String, String> smallCommandSettings() {
    Map<String, String> settings = new TreeMap<>();
    settings.put("spark.sql.adaptive.enabled", "false");
    // Each command runs a few dozen small queries (Delta's table state, the rows' positions, the
    // files to delete), and in a JVM that has not run them yet Spark first compiles each one's
    // generated classes: most of a command-line forget's DELETE. Interpreted, they start at once.
    settings.put("spark.sql.codegen.factoryMode", "NO_CODEGEN");
    settings.put("spark.sql.codegen.wholeStage", "false");
    settings.put("spark.sql.shuffle.partitions", "1");
    HadoopFiles files = new HadoopFiles(spark.sparkContext().hadoopConfiguration());
    OptionalLong tableFiles = DeltaCommits.filesInChecksum(files, new Path(store.path()), store.currentVersion());
    if (tableFiles.isPresent() && tableFiles.getAsLong() <= SMALL_STATE_FILES) {
      settings.put("spark.databricks.delta.snapshotPartitions", "1");
    }
    return settings;
  }

  /**
   * Runs a command with these session settings, and puts the session's own back after it. The
   * settings are the session's, so a query started in it meanwhile from another thread runs with
   * them too (adaptive execution off, its expressions interpreted, for the second a DELETE takes);
   * the commands that set them run one at a time in this JVM. A session of its own would leave them
   * alone, but building one costs half a second in a fresh JVM.
   */
  private void withSessionSettings(Map<String, String> settings, Runnable command) {
    synchronized (SESSION_SETTINGS_LOCK) {
      Map<String, String> before = new HashMap<>();
      settings.keySet().forEach(k -> before.put(k, spark.conf().getOption(k).getOrElse(() -> null)));
      settings.forEach(spark.conf()::set);
      try {
        command.run();
      } finally {
        before.forEach((k, v) -> {
          if (v == null) {
            spark.conf().unset(k);
          } else {
            spark.conf().set(k, v);
          }
        });
      }
    }
  }

  /** Purges the shards; see {@link ShardedStore#purge}. */
  PurgeResult purge(Collection<Integer> shards, double retentionHours, CommitRetry retry, boolean vacuum) {
    String table = "delta.`" + store.path().replace("`", "``") + "`";
    Long reorgVersion = null;
    // Only files with deletion vectors hold deleted rows: a shard without one needs no REORG
    // (with forget.rewrite-files there are none). Delta 4.1.0's REORG ... APPLY (PURGE) calls
    // SparkSession.active inside an executor task (ReorgTableHelper.filterParquetFilesOnExecutors),
    // which fails on a cluster's executors: there, forget.rewrite-files=true avoids it.
    if (!shards.isEmpty() && store.filesWithDeletionVectors(shards) > 0) {
      String in = shards.stream().sorted().map(String::valueOf).reduce((a, b) -> a + ", " + b).orElseThrow();
      reorgVersion = retry.run("purge (REORG) of shards " + in, () -> {
        withSessionSettings(smallCommandSettings(), () -> spark.sql("REORG TABLE " + table + " WHERE "
            + StoreLayout.SHARD_COLUMN + " IN (" + in + ") APPLY (PURGE)"));
        return store.currentVersion();
      });
    }
    if (!vacuum) {
      return new PurgeResult(shards.stream().sorted().toList(), reorgVersion, null, retentionHours, null);
    }
    Instant vacuumedAt = Instant.now();
    Map<String, String> settings = smallCommandSettings();
    // Delta refuses a retention under the table's deletedFileRetentionDuration unless this is off.
    settings.put("spark.databricks.delta.retentionDurationCheck.enabled", "false");
    // The files to delete go in one Spark job (deleted where the tasks run), not one job per
    // partition of their list read back to the driver: a job fewer, about 0.2 s of a VACUUM here.
    settings.put("spark.databricks.delta.vacuum.parallelDelete.enabled", "true");
    // Its queries run in one shuffle partition like the other commands', but its deletes in one
    // task per core at most (Delta's default is the shuffle's partitions), so that a purge of many
    // files on a cluster deletes them in parallel.
    int partitions = Integer.parseInt(spark.conf().get("spark.sql.shuffle.partitions"));
    settings.put("spark.databricks.delta.vacuum.parallelDelete.parallelism",
        String.valueOf(Math.max(1, Math.min(partitions, spark.sparkContext().defaultParallelism()))));
    // VACUUM prints its tally to standard output; a job's main logs what is printed there, so that
    // standard output carries the job's JSON summary alone.
    withSessionSettings(settings, () -> vacuum(table, retentionHours));
    Long vacuumed = filesVacuumed();
    LOG.info("VACUUM of {}: {} files deleted", store.path(), vacuumed == null ? "unknown" : vacuumed);
    return new PurgeResult(shards.stream().sorted().toList(), reorgVersion, vacuumed, retentionHours,
        vacuumedAt);
  }

  /**
   * VACUUM LITE: the files to delete come from the log's remove actions since the last VACUUM,
   * not from listing every file of the table. When the log no longer holds all of them (its
   * retention passed since the last VACUUM), Delta refuses LITE, and a full VACUUM runs instead.
   */
  private void vacuum(String table, double retentionHours) {
    try {
      spark.sql("VACUUM " + table + " LITE RETAIN " + retentionHours + " HOURS");
    } catch (Exception e) { // Delta throws its analysis errors unchecked through Scala
      if (!String.valueOf(e.getMessage()).contains("DELTA_CANNOT_VACUUM_LITE")) {
        throw e;
      }
      LOG.info("VACUUM LITE of {} cannot see every file to delete in the log; running a full VACUUM", store.path());
      spark.sql("VACUUM " + table + " RETAIN " + retentionHours + " HOURS");
    }
  }

  /**
   * Files the last VACUUM deleted, from its VACUUM END commit among the newest few, read from the
   * log's commit files (null when Delta did not log it).
   */
  private Long filesVacuumed() {
    HadoopFiles files = new HadoopFiles(spark.sparkContext().hadoopConfiguration());
    Path table = new Path(store.path());
    long newest = store.currentVersion();
    for (long v = newest; v >= Math.max(0, newest - 4); v--) {
      if (!files.exists(DeltaCommits.file(table, v))) {
        continue;
      }
      for (JsonNode action : DeltaCommits.actions(files, table, v)) {
        JsonNode info = action.path("commitInfo");
        if ("VACUUM END".equals(info.path("operation").asText())) {
          JsonNode n = info.path("operationMetrics").path("numDeletedFiles");
          return n.isMissingNode() || n.isNull() ? null : Long.parseLong(n.asText());
        }
      }
    }
    return null;
  }
}
