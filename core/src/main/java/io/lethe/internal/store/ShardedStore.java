package io.lethe.internal.store;

import io.lethe.types.IngestPlan;
import io.lethe.types.IngestResult;
import io.lethe.types.PurgeResult;
import io.lethe.types.StoreLayout;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;

import io.delta.tables.DeltaTable;
import io.lethe.LetheConfig;
import io.lethe.StoreNotFoundException;
import io.lethe.internal.run.DeltaCommits;
import io.lethe.internal.run.HadoopFiles;
import io.lethe.internal.run.LogTable;
import io.lethe.internal.run.Tables;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The training rows: one Delta table partitioned by shard, where the shard of a row is a stable
 * function of its data subject. Change Data Feed and deletion vectors are on from version 0.
 */
public final class ShardedStore {
  private static final Logger LOG = LoggerFactory.getLogger(ShardedStore.class);
  /** Up to this many rows in the candidate shards, a forget plan matches ids in the driver. */
  static final long DRIVER_MATCH_ROWS = 1_000_000;

  private final SparkSession spark;
  private final String path;
  private final StoreLayout layout;
  /** The store's Delta log, read in the driver (Delta Kernel) for its files by shard: no Spark job. */
  private final LogTable log;

  private ShardedStore(SparkSession spark, String path, StoreLayout layout) {
    this.spark = spark;
    this.path = path;
    this.layout = layout;
    this.log = new LogTable(spark.sparkContext().hadoopConfiguration(), path);
  }

  /** Whether the store exists: a named table in the catalog, or a Delta table at the path. */
  public static boolean exists(SparkSession spark, String path) {
    return DeltaTable.isDeltaTable(spark, qualify(spark, path));
  }

  /**
   * The location as a fully qualified URI: Delta's SQL commands (REORG, VACUUM) take a path
   * identifier only when it is absolute.
   */
  static String qualify(SparkSession spark, String path) {
    return new HadoopFiles(spark.sparkContext().hadoopConfiguration()).qualify(path).toString();
  }

  /**
   * Opens an existing store, given by path or by catalog table name (read at the table's
   * location); a missing store or a Delta table Lethe did not create is an error.
   */
  public static ShardedStore open(SparkSession spark, String location) {
    String path;
    if (Tables.isOwnTableName(spark, location, LetheConfig.STORE_PATH)) {
      if (!Tables.exists(spark, location)) {
        throw new StoreNotFoundException("No Lethe store table " + location + " in the catalog; create it with the"
            + " ingest job");
      }
      path = qualify(spark, Tables.location(spark, location));
    } else {
      path = qualify(spark, location);
    }
    // The table's properties from its log, read in the driver (Delta Kernel): DESCRIBE DETAIL would
    // compute the table's state with Spark jobs, seconds in a fresh JVM.
    Map<String, String> props = new LogTable(spark.sparkContext().hadoopConfiguration(), path).properties()
        .orElseThrow(() -> new StoreNotFoundException("No Lethe store at " + path
            + " (not a Delta table); create it with the ingest job"));
    return new ShardedStore(spark, path, StoreLayout.fromProperties(props, path));
  }

  public static IngestPlan planIngest(SparkSession spark, String location, Dataset<Row> source, LetheConfig config,
      boolean append) {
    return StoreIngest.plan(spark, location, source, config, append);
  }

  /**
   * Creates a store from a source, or appends to the existing one when {@code append} is set. The
   * source is validated first (columns, types, nulls, emptiness); a bad source writes nothing.
   */
  public static IngestResult ingest(SparkSession spark, String location, Dataset<Row> source, LetheConfig config,
      boolean append) {
    return ingest(spark, location, source, config, append, false);
  }

  /** As above; with {@code once}, the source is read whole from files and an append of it lands once. */
  public static IngestResult ingest(SparkSession spark, String location, Dataset<Row> source, LetheConfig config,
      boolean append, boolean once) {
    return StoreIngest.ingest(spark, location, source, config, append, once);
  }

  /** Appends rows with the store's own layout: same shard function, same columns, known classes. */
  public IngestResult append(Dataset<Row> source) {
    return StoreIngest.append(this, source, false);
  }

  public String path() {
    return path;
  }

  public StoreLayout layout() {
    return layout;
  }

  public SparkSession spark() {
    return spark;
  }

  /** The store's newest version, from a listing of its log: no Spark job, no snapshot. */
  public long currentVersion() {
    HadoopFiles files = new HadoopFiles(spark.sparkContext().hadoopConfiguration());
    return DeltaCommits.newest(files, new Path(path)).map(DeltaCommits::version)
        // No commit file: let Delta say what is wrong with the table.
        .orElseGet(() -> DeltaTable.forPath(spark, path).history(1).select("version").head().getLong(0));
  }

  /** All rows as of a version (time travel). */
  public Dataset<Row> read(long version) {
    return spark.read().format("delta").option("versionAsOf", version).load(path);
  }

  /** One shard's rows as of a version; reads only that shard's partition. */
  public Dataset<Row> readShard(int shard, long version) {
    return read(version).where(col(StoreLayout.SHARD_COLUMN).equalTo(shard));
  }

  /**
   * The change data feed of versions {@code from} to {@code to} (both included) in these shards (all
   * when null): each changed row with {@code _change_type} and {@code _commit_version}. Fails when
   * the range's change data is no longer readable (vacuumed, or older than the log's retention).
   */
  public Dataset<Row> changes(long from, long to, Collection<Integer> shards) {
    Dataset<Row> changes = spark.read().format("delta").option("readChangeFeed", "true")
        .option("startingVersion", from).option("endingVersion", to).load(path);
    return shards == null ? changes : changes.where(col(StoreLayout.SHARD_COLUMN).isin(shards.toArray()));
  }

  /** True for a row of {@link #changes} that left the table (a delete, or the old side of an update). */
  public static Column removedByChange() {
    return col("_change_type").isin("delete", "update_preimage");
  }

  /**
   * Rows per shard holding any at a version: from the log's file statistics (no Spark job), or
   * counted by a Spark job when some file has none (written by a tool that kept no statistics).
   */
  public Map<Integer, Long> rowsPerShard(long version) {
    Map<Integer, Long> fromLog = rowsPerShardFromLog(version, layout.allShards());
    if (fromLog.size() < layout.shards()) {
      return countPerShard(read(version));
    }
    Map<Integer, Long> out = new TreeMap<>();
    fromLog.forEach((shard, rows) -> {
      if (rows > 0) {
        out.put(shard, rows);
      }
    });
    return out;
  }

  static Map<Integer, Long> countPerShard(Dataset<Row> rows) {
    Map<Integer, Long> out = new TreeMap<>();
    for (Row r : rows.groupBy(StoreLayout.SHARD_COLUMN).count().collectAsList()) {
      out.put(r.getInt(0), r.getLong(1));
    }
    return out;
  }

  /** The shards the subject ids would live in: the shard is a function of the id, computed in the driver. */
  public Set<Integer> shardsOf(Collection<String> subjectIds) {
    Set<Integer> shards = new TreeSet<>();
    subjectIds.forEach(id -> shards.add(layout.shardOf(id)));
    return shards;
  }

  /**
   * Rows per id and shard for ids of {@code column} (the subject column or a record column),
   * looked for only in {@code shards} (all shards when null). Ids with no rows are absent from the
   * answer. A column of strings or whole numbers is read with Delta Kernel: in the driver up to
   * {@link #DRIVER_MATCH_ROWS} rows, else in one Spark job of a few tasks ({@link #matchInTasks});
   * another type by one Spark query.
   */
  public Map<String, Map<Integer, Long>> match(String column, Collection<String> ids, Collection<Integer> shards,
      long version) {
    Map<String, Map<Integer, Long>> out = new TreeMap<>();
    if (ids.isEmpty() || (shards != null && shards.isEmpty())) {
      return out;
    }
    boolean exact = ShardReader.exactAsString(read(version).schema().apply(column).dataType());
    Collection<Integer> where = shards == null ? layout.allShards() : shards;
    if (exact && !readsInDriver(where, version)) {
      return matchInTasks(column, ids, where, version);
    }
    if (exact) {
      // A few shards' id column: read in the driver (Delta Kernel, one scan), with no Spark job.
      byId(ShardReader.of(this, version, null).orElseThrow().counts(where.stream().sorted().toList(), column,
          new HashSet<>(ids)), out);
      return out;
    }
    for (Row r : rowsMatching(column, ids, shards, version)
        .select(col(column).cast("string"), col(StoreLayout.SHARD_COLUMN)).collectAsList()) {
      out.computeIfAbsent(r.getString(0), k -> new TreeMap<>()).merge(r.getInt(1), 1L, Long::sum);
    }
    return out;
  }

  /**
   * What {@link #match} answers, read in one Spark job: each task reads a few of the shards' id
   * column with Delta Kernel (deletion vectors applied; one read of the log per task) and sends
   * back the counts of the ids it was given. No Delta query planning, no shuffle.
   */
  public Map<String, Map<Integer, Long>> matchInTasks(String column, Collection<String> ids, Collection<Integer> shards,
      long version) {
    List<Integer> order = (shards == null ? layout.allShards() : shards).stream().sorted().distinct().toList();
    Map<String, Map<Integer, Long>> out = new TreeMap<>();
    if (ids.isEmpty() || order.isEmpty()) {
      return out;
    }
    ShardReader reader = ShardReader.of(this, version, null).orElseThrow();
    Set<String> wanted = new HashSet<>(ids);
    int tasks = Math.max(1, Math.min(order.size(), 2 * spark.sparkContext().defaultParallelism()));
    List<List<Integer>> groups = new ArrayList<>();
    for (int i = 0; i < tasks; i++) {
      groups.add(new ArrayList<>());
    }
    for (int i = 0; i < order.size(); i++) {
      groups.get(i % tasks).add(order.get(i));
    }
    List<Map<Integer, Map<String, Long>>> found = JavaSparkContext.fromSparkContext(spark.sparkContext())
        .parallelize(groups, tasks).map(group -> reader.counts(group, column, wanted)).collect();
    found.forEach(perShard -> byId(perShard, out));
    return out;
  }

  /** Adds counts of ids by shard ({@link ShardReader#counts}) to rows by id and shard. */
  private static void byId(Map<Integer, Map<String, Long>> perShard, Map<String, Map<Integer, Long>> out) {
    perShard.forEach((shard, counts) -> counts.forEach((id, n) ->
        out.computeIfAbsent(id, k -> new TreeMap<>()).merge(shard, n, Long::sum)));
  }

  /** Whether these shards hold at most {@link #DRIVER_MATCH_ROWS} rows by the log's statistics. */
  private boolean readsInDriver(Collection<Integer> shards, long version) {
    Map<Integer, Long> rows = rowsPerShardFromLog(version, shards);
    return rows.size() == shards.size() && rows.values().stream().mapToLong(Long::longValue).sum() <= DRIVER_MATCH_ROWS;
  }

  /**
   * The rows of a version whose {@code column} holds one of the ids, in {@code shards} (all when
   * null). The ids are tested by {@link RequestedIds}, never written into the query as literals,
   * so no plan, log line or UI page shows them.
   */
  public Dataset<Row> rowsMatching(String column, Collection<String> ids, Collection<Integer> shards, long version) {
    Dataset<Row> rows = read(version);
    return inShards(rows, shards).where(RequestedIds.test(ids, col(column), rows.schema().apply(column).dataType()));
  }

  /**
   * Deletes every row whose {@code column} holds one of the ids, only in {@code shards}, with one
   * Delta {@code DELETE} that writes deletion vectors, and returns the store version after its commit
   * (its own or a later one). It reads no other shard's partition, writes no data or change data
   * file (the change feed derives the rows from the vectors), and its predicate, which Delta logs,
   * names the id test ({@link RequestedIds}), not the ids. The rows stay in the files until a purge
   * (REORG ... APPLY (PURGE), then VACUUM). The column must be one of the store's (the plan checks).
   *
   * <p>With {@code rewriteFiles} the DELETE rewrites the files holding the rows instead (Delta's
   * copy-on-write; the setting applies to this DELETE only). With the change feed on, Delta then
   * writes the deleted rows into change data files, a copy that stays until VACUUM: use it only
   * where the purge's REORG cannot run (see forget.rewrite-files).
   */
  public long deleteMatching(String column, Collection<String> ids, Collection<Integer> shards, CommitRetry retry,
      boolean rewriteFiles) {
    return deleteMatching(column, null, ids, shards, retry, rewriteFiles);
  }

  /** {@link #deleteMatching}, given the id column's type as the plan read it (null: read it again). */
  public long deleteMatching(String column, DataType type, Collection<String> ids, Collection<Integer> shards,
      CommitRetry retry, boolean rewriteFiles) {
    return new StoreDeletes(this).deleteMatching(column, type, ids, shards, retry, rewriteFiles);
  }

  /**
   * Rewrites the shards' files that hold rows hidden by deletion vectors ({@code REORG TABLE ...
   * APPLY (PURGE)}), then runs {@code VACUUM} with the given retention, which deletes the files no
   * version within the retention needs: rows deleted before {@code vacuumedAt - retention} are gone.
   */
  public PurgeResult purge(Collection<Integer> shards, double retentionHours, CommitRetry retry) {
    return purge(shards, retentionHours, retry, true);
  }

  /** {@link #purge}, with the VACUUM left out when {@code vacuum} is false (the REORG alone). */
  public PurgeResult purge(Collection<Integer> shards, double retentionHours, CommitRetry retry, boolean vacuum) {
    return new StoreDeletes(this).purge(shards, retentionHours, retry, vacuum);
  }

  /**
   * Rows per shard at a version, from the Delta log's file statistics (no data file is read): the
   * logical records of each live file, deletion vectors subtracted. A shard whose files carry no
   * statistics is missing from the map.
   */
  public Map<Integer, Long> rowsPerShardFromLog(long version, Collection<Integer> shards) {
    return new StoreLog(this).rowsPerShardFromLog(version, shards);
  }

  /** Live data files of these shards that carry a deletion vector: rows hidden but still in the file. */
  public long filesWithDeletionVectors(Collection<Integer> shards) {
    return new StoreLog(this).filesWithDeletionVectors(shards);
  }

  /**
   * What time travel to a version reads in these shards, from its log (each data file with the rows
   * its deletion vector hides, sorted); empty when a file is gone or the log no longer reaches it.
   */
  public Optional<List<String>> readableRows(long version, Collection<Integer> shards) {
    return new StoreLog(this).readableRows(version, shards);
  }

  /**
   * The first version from {@code version} on that time travel reads in the shard with the same rows:
   * itself, or once its files are vacuumed the rewrite's that kept them (REORG). Else empty.
   */
  public java.util.OptionalLong readableWithSameRows(long version, int shard) {
    return new StoreLog(this).readableWithSameRows(version, shard);
  }

  /**
   * Whether one commit has change data in these shards that can still be read (its change files,
   * or without them the data files it added and removed there, are all on storage).
   */
  public boolean changeFilesPresent(long version, Collection<Integer> shards) {
    return new StoreLog(this).changeFilesPresent(version, shards);
  }

  /**
   * Shards whose rows changed (added or removed; not a rewrite that keeps them) in any commit after
   * {@code version}, from the log; every shard when the log no longer holds a commit of the range.
   */
  public Set<Integer> shardsChangedSince(long version) {
    return new StoreLog(this).shardsChangedSince(version);
  }

  /**
   * For each shard, the last version after {@code version} that removed rows from it: a sub-model
   * of shard k fitted on an older version was trained on rows deleted now. A commit missing from the
   * log counts as a removal in every shard.
   */
  public Map<Integer, Long> lastRemovalsSince(long version) {
    return new StoreLog(this).lastRemovalsSince(version);
  }

  LogTable log() {
    return log;
  }

  private static Dataset<Row> inShards(Dataset<Row> rows, Collection<Integer> shards) {
    return shards == null ? rows : rows.where(col(StoreLayout.SHARD_COLUMN).isin(shards.toArray()));
  }
}
