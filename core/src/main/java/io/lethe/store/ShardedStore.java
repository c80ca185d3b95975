package io.lethe.store;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;

import com.fasterxml.jackson.databind.JsonNode;
import io.delta.tables.DeltaTable;
import io.lethe.InvalidRequestException;
import io.lethe.LetheConfig;
import io.lethe.LetheException;
import io.lethe.StoreNotFoundException;
import io.lethe.run.HadoopFiles;
import io.lethe.run.LogTable;
import io.lethe.run.Tables;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.function.LongConsumer;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.BooleanType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.IntegralType;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StringType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The training rows: one Delta table partitioned by shard, where the shard of a row is a stable
 * function of its data subject. Change Data Feed and deletion vectors are on from version 0.
 */
public final class ShardedStore {
  private static final Logger LOG = LoggerFactory.getLogger(ShardedStore.class);
  private static final int MAX_CLASSES = 1000;
  /** Up to this many rows in the candidate shards, a forget plan matches ids in the driver. */
  static final long DRIVER_MATCH_ROWS = 1_000_000;
  /** Delta's session setting for whether DELETE writes deletion vectors (true) or rewrites files. */
  private static final String DELETE_DELETION_VECTORS = "spark.databricks.delta.delete.deletionVectors.persistent";
  /** Commands of this JVM that change session settings for their time run one at a time. */
  private static final Object SESSION_SETTINGS_LOCK = new Object();

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

  public static boolean exists(SparkSession spark, String path) {
    return DeltaTable.isDeltaTable(spark, qualify(spark, path));
  }

  /**
   * The location as a fully qualified URI: Delta's SQL commands (REORG, VACUUM) take a path
   * identifier only when it is absolute.
   */
  private static String qualify(SparkSession spark, String path) {
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

  /** Whether the store exists: a named table in the catalog, or a Delta table at the path. */
  private static boolean storeExists(SparkSession spark, String location) {
    return Tables.isOwnTableName(spark, location, LetheConfig.STORE_PATH) ? Tables.exists(spark, location)
        : exists(spark, location);
  }

  /**
   * What {@link #ingest} would do, with no side effect: the store it creates (its layout, from the
   * configuration and the source) or appends to, the source validated as ingest validates it.
   *
   * @param creates whether it creates the store (else it appends to it)
   */
  public record IngestPlan(String path, boolean creates, StoreLayout layout) {}

  public static IngestPlan planIngest(SparkSession spark, String location, Dataset<Row> source, LetheConfig config,
      boolean append) {
    boolean exists = checkIngestTarget(spark, location, append);
    if (exists) {
      ShardedStore store = open(spark, location);
      validate(source, store.layout(), false);
      return new IngestPlan(store.path(), false, store.layout());
    }
    String where = Tables.looksLikeName(location) ? location : qualify(spark, location);
    return new IngestPlan(where, true, planLayout(source, config));
  }

  /** Whether the store exists, refusing a second ingest without append and an append to nothing. */
  private static boolean checkIngestTarget(SparkSession spark, String location, boolean append) {
    boolean exists = storeExists(spark, location);
    String path = Tables.looksLikeName(location) ? location : qualify(spark, location);
    if (exists && !append) {
      throw new InvalidRequestException("A store already exists at " + path + "; use --append to add rows to it");
    }
    if (!exists && append) {
      throw new StoreNotFoundException("No store at " + path + " to append to; run ingest without --append to create it");
    }
    return exists;
  }

  /**
   * Creates a store from a source, or appends to the existing one when {@code append} is set. The
   * source is validated first (columns, types, nulls, emptiness); a bad source writes nothing.
   */
  public static IngestResult ingest(SparkSession spark, String location, Dataset<Row> source, LetheConfig config,
      boolean append) {
    boolean exists = checkIngestTarget(spark, location, append);
    if (exists) {
      return open(spark, location).append(source);
    }
    StoreLayout layout = planLayout(source, config);
    Dataset<Row> rows = withShard(source, layout);
    // By name, a table in the catalog (at the location the catalog gives it); else a path table.
    boolean named = Tables.isOwnTableName(spark, location, LetheConfig.STORE_PATH);
    String path = named ? location : qualify(spark, location);
    String table = named ? location : "delta.`" + path.replace("`", "``") + "`";
    try {
      var writer = rows.writeTo(table).using("delta").partitionedBy(col(StoreLayout.SHARD_COLUMN), new Column[0])
          .tableProperty("delta.enableChangeDataFeed", "true")
          .tableProperty("delta.enableDeletionVectors", "true")
          // No min/max statistics: they would copy column values (a subject id, an age) into the
          // transaction log, which outlives VACUUM. Reads go by shard partition, not by skipping.
          .tableProperty("delta.dataSkippingNumIndexedCols", "0");
      String external = named ? Tables.externalLocation(config.get(LetheConfig.TABLES_LOCATION), location) : null;
      if (external != null) {
        writer = writer.tableProperty("location", external);
      }
      for (Map.Entry<String, String> p : layout.toProperties().entrySet()) {
        writer = writer.tableProperty(p.getKey(), p.getValue());
      }
      writer.create();
    } catch (Exception e) {
      throw new LetheException("Cannot create the store at " + path + ": " + LetheException.firstLine(e), e);
    }
    ShardedStore store = open(spark, location);
    long version = store.currentVersion();
    Map<Integer, Long> perShard = store.rowsPerShard(version);
    return new IngestResult(true, version, perShard.values().stream().mapToLong(Long::longValue).sum(), perShard);
  }

  /** Appends rows with the store's own layout: same shard function, same columns, known classes. */
  public IngestResult append(Dataset<Row> source) {
    validate(source, layout, false);
    Dataset<Row> rows = withShard(source, layout);
    Map<Integer, Long> perShard = countPerShard(rows);
    try {
      rows.write().format("delta").mode("append").save(path);
    } catch (Exception e) {
      throw new LetheException("Cannot append to the store at " + path + ": " + LetheException.firstLine(e), e);
    }
    long rowsWritten = perShard.values().stream().mapToLong(Long::longValue).sum();
    return new IngestResult(false, currentVersion(), rowsWritten, perShard);
  }

  private static Dataset<Row> withShard(Dataset<Row> source, StoreLayout layout) {
    return source.withColumn(StoreLayout.SHARD_COLUMN, layout.shardOf(col(layout.subjectColumn())));
  }

  private static StoreLayout planLayout(Dataset<Row> source, LetheConfig config) {
    String subject = config.get(LetheConfig.STORE_SUBJECT_COLUMN);
    String label = config.get(LetheConfig.STORE_LABEL_COLUMN);
    Task task = Task.parse(config.get(LetheConfig.STORE_TASK));
    StructType schema = source.schema();
    requireColumn(schema, subject, LetheConfig.STORE_SUBJECT_COLUMN);
    requireColumn(schema, label, LetheConfig.STORE_LABEL_COLUMN);
    if (Arrays.asList(schema.fieldNames()).contains(StoreLayout.SHARD_COLUMN)) {
      throw new InvalidRequestException("The source has a column named " + StoreLayout.SHARD_COLUMN + ", which Lethe reserves");
    }
    List<String> numeric = config.getList(LetheConfig.STORE_NUMERIC);
    List<String> categorical = config.getList(LetheConfig.STORE_CATEGORICAL);
    if (numeric.isEmpty() && categorical.isEmpty()) {
      Set<String> skip = new HashSet<>(config.getList(LetheConfig.STORE_EXCLUDE));
      skip.add(subject);
      skip.add(label);
      numeric = new ArrayList<>();
      categorical = new ArrayList<>();
      for (StructField f : schema.fields()) {
        if (skip.contains(f.name())) {
          continue;
        }
        if (f.dataType() instanceof NumericType) {
          numeric.add(f.name());
        } else if (f.dataType() instanceof StringType || f.dataType() instanceof BooleanType) {
          categorical.add(f.name());
        }
      }
    }
    if (numeric.isEmpty() && categorical.isEmpty()) {
      throw new InvalidRequestException("The source has no feature columns besides the subject and the label");
    }
    String salt = config.get(LetheConfig.STORE_SALT);
    if (salt.isEmpty()) {
      salt = UUID.randomUUID().toString();
    }
    StoreLayout draft = new StoreLayout(config.getInt(LetheConfig.STORE_SHARDS), subject, salt, label, task,
        List.of(), numeric, categorical);
    List<String> classes = validate(source, draft, true);
    return new StoreLayout(draft.shards(), subject, salt, label, task, classes, numeric, categorical);
  }

  /**
   * Checks a source against a layout in one pass (plus one for the classes): columns exist with
   * usable types, no null subject or label, at least one row. Returns the label classes found
   * (sorted), and when {@code newStore} is false refuses classes the store does not know.
   */
  private static List<String> validate(Dataset<Row> source, StoreLayout layout, boolean newStore) {
    StructType schema = source.schema();
    requireColumn(schema, layout.subjectColumn(), LetheConfig.STORE_SUBJECT_COLUMN);
    requireColumn(schema, layout.labelColumn(), LetheConfig.STORE_LABEL_COLUMN);
    DataType subjectType = schema.apply(layout.subjectColumn()).dataType();
    if (!(subjectType instanceof StringType || subjectType instanceof IntegralType)) {
      throw new InvalidRequestException("The subject column '" + layout.subjectColumn() + "' must hold strings or whole numbers, not "
          + subjectType.simpleString());
    }
    for (String f : layout.numericFeatures()) {
      requireColumn(schema, f, LetheConfig.STORE_NUMERIC);
      DataType t = schema.apply(f).dataType();
      if (!(t instanceof NumericType)) {
        throw new InvalidRequestException("The numeric feature column '" + f + "' has type " + t.simpleString()
            + "; list it in " + LetheConfig.STORE_CATEGORICAL + " or cast it in the source");
      }
    }
    for (String f : layout.categoricalFeatures()) {
      requireColumn(schema, f, LetheConfig.STORE_CATEGORICAL);
      DataType t = schema.apply(f).dataType();
      if (!(t instanceof StringType || t instanceof BooleanType || t instanceof IntegralType)) {
        throw new InvalidRequestException("The categorical feature column '" + f + "' has type " + t.simpleString()
            + "; categorical columns must be strings, booleans or whole numbers");
      }
    }
    DataType labelType = schema.apply(layout.labelColumn()).dataType();
    if (layout.task() == Task.REGRESSION && !(labelType instanceof NumericType)) {
      throw new InvalidRequestException("The label column '" + layout.labelColumn() + "' has type " + labelType.simpleString()
          + " but the task is regression; use store.task=classification or a numeric label");
    }
    Row checks = source.agg(
        count(lit(1)),
        sum(when(col(layout.subjectColumn()).isNull(), 1).otherwise(0)),
        sum(when(col(layout.labelColumn()).isNull(), 1).otherwise(0))).head();
    long rows = checks.getLong(0);
    if (rows == 0) {
      throw new InvalidRequestException("The source has no rows; nothing was ingested");
    }
    if (checks.getLong(1) > 0) {
      throw new InvalidRequestException(checks.getLong(1) + " source rows have no subject id (column '" + layout.subjectColumn()
          + "'); every row must belong to a data subject");
    }
    if (checks.getLong(2) > 0) {
      throw new InvalidRequestException(checks.getLong(2) + " source rows have no label (column '" + layout.labelColumn() + "')");
    }
    if (layout.task() == Task.REGRESSION) {
      return List.of();
    }
    List<Row> distinct = source.select(col(layout.labelColumn()).cast("string")).distinct().limit(MAX_CLASSES + 1)
        .collectAsList();
    if (distinct.size() > MAX_CLASSES) {
      throw new InvalidRequestException("The label column '" + layout.labelColumn() + "' has more than " + MAX_CLASSES
          + " distinct values; for a numeric target set store.task=regression");
    }
    TreeSet<String> classes = new TreeSet<>();
    distinct.forEach(r -> classes.add(r.getString(0)));
    if (!newStore && !layout.labelClasses().containsAll(classes)) {
      classes.removeAll(layout.labelClasses());
      throw new InvalidRequestException("The rows have " + classes.size() + " label value(s) the store does not know; a store's"
          + " classes are fixed when it is created");
    }
    if (newStore && classes.size() < 2) {
      throw new InvalidRequestException("The label column '" + layout.labelColumn() + "' has only one value; classification needs two or more");
    }
    return new ArrayList<>(classes);
  }

  private static void requireColumn(StructType schema, String column, String key) {
    if (column == null || column.isEmpty() || !Arrays.asList(schema.fieldNames()).contains(column)) {
      throw new InvalidRequestException("Column '" + column + "' (" + key + ") is not in the source; its columns are "
          + String.join(", ", schema.fieldNames()));
    }
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
   * The change data feed of versions {@code from} to {@code to} (both included), of the given
   * shards (all when null): each changed row with {@code _change_type} (insert, delete,
   * update_preimage, update_postimage) and {@code _commit_version}. Fails when the range's change
   * data is no longer readable (vacuumed, or older than the log's retention).
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

  private static Map<Integer, Long> countPerShard(Dataset<Row> rows) {
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
   * looked for only in {@code shards} (all shards when null): one Spark job that scans those
   * shards' partitions and returns the matching rows' ids, counted in the driver. Ids with no rows
   * are absent from the answer.
   */
  public Map<String, Map<Integer, Long>> match(String column, Collection<String> ids, Collection<Integer> shards,
      long version) {
    Map<String, Map<Integer, Long>> out = new TreeMap<>();
    if (ids.isEmpty() || (shards != null && shards.isEmpty())) {
      return out;
    }
    if (shards != null && readsInDriver(column, shards, version)) {
      // A few shards' id column: read in the driver (Delta Kernel), with no Spark job.
      ShardReader reader = ShardReader.of(this, version, null).orElseThrow();
      Set<String> wanted = new HashSet<>(ids);
      for (int shard : shards) {
        for (String value : reader.values(shard, column)) {
          if (wanted.contains(value)) {
            out.computeIfAbsent(value, k -> new TreeMap<>()).merge(shard, 1L, Long::sum);
          }
        }
      }
      return out;
    }
    for (Row r : rowsMatching(column, ids, shards, version)
        .select(col(column).cast("string"), col(StoreLayout.SHARD_COLUMN)).collectAsList()) {
      out.computeIfAbsent(r.getString(0), k -> new TreeMap<>()).merge(r.getInt(1), 1L, Long::sum);
    }
    return out;
  }

  /**
   * Whether matching ids in these shards reads their id column in the driver: the column holds
   * strings or whole numbers, and the shards hold at most {@link #DRIVER_MATCH_ROWS} rows by the
   * log's statistics. Larger reads go to Spark.
   */
  private boolean readsInDriver(String column, Collection<Integer> shards, long version) {
    org.apache.spark.sql.types.DataType type = read(version).schema().apply(column).dataType();
    if (!ShardReader.exactAsString(type)) {
      return false;
    }
    Map<Integer, Long> rows = rowsPerShardFromLog(version, shards);
    return rows.size() == shards.size() && rows.values().stream().mapToLong(Long::longValue).sum() <= DRIVER_MATCH_ROWS;
  }

  /**
   * The rows of a version whose {@code column} holds one of the ids, in {@code shards} (all when
   * null). The ids are tested by {@link RequestedIds}, never written into the query as literals,
   * so no plan, log line or UI page shows them.
   */
  public Dataset<Row> rowsMatching(String column, Collection<String> ids, Collection<Integer> shards, long version) {
    return inShards(read(version), shards).where(RequestedIds.test(ids, col(column)));
  }

  /**
   * Deletes every row whose {@code column} holds one of the ids, only in {@code shards}, with one
   * Delta {@code DELETE} that writes deletion vectors, and returns the store version it committed.
   * It prunes by shard partition, so no other shard is read; it writes no data file and no change
   * data file (no copy of the rows: the change feed derives them from the deletion vectors); and
   * its predicate, which Delta records in the log, names the id test ({@link RequestedIds}), not
   * the ids. The rows stay in the files behind the vectors until a purge (REORG ... APPLY (PURGE),
   * then VACUUM). The version returned is the current one after the commit: the commit's own or a
   * later one. The column must be one of the store's (the forget plan checks it).
   *
   * <p>With {@code rewriteFiles} the DELETE rewrites the files holding the rows instead (Delta's
   * copy-on-write; the setting applies to this DELETE only). With the change feed on, Delta then
   * writes the deleted rows into change data files, a copy that stays until VACUUM: use it only
   * where the purge's REORG cannot run (see forget.rewrite-files).
   */
  public long deleteMatching(String column, Collection<String> ids, Collection<Integer> shards, CommitRetry retry,
      boolean rewriteFiles) {
    Column condition = RequestedIds.test(ids, col(column));
    if (shards != null) {
      condition = col(StoreLayout.SHARD_COLUMN).isin(shards.stream().sorted().toArray()).and(condition);
    }
    Column where = condition;
    Map<String, String> settings = smallCommandSettings();
    if (rewriteFiles) {
      settings.put(DELETE_DELETION_VECTORS, "false");
    }
    return retry.run("delete of the batch's rows", () -> {
      withSessionSettings(settings, () -> DeltaTable.forPath(spark, path).delete(where));
      return currentVersion();
    });
  }

  /**
   * Session settings for Delta's commands on a few shards (DELETE, REORG, VACUUM): their queries
   * are small (the shards' files, the rows' positions per file, the files to delete), and adaptive
   * execution would run each of their stages as a Spark job of its own. Without it, and with at most
   * a shuffle partition per core, each query is one job.
   */
  private Map<String, String> smallCommandSettings() {
    Map<String, String> settings = new TreeMap<>();
    settings.put("spark.sql.adaptive.enabled", "false");
    int partitions = Integer.parseInt(spark.conf().get("spark.sql.shuffle.partitions"));
    settings.put("spark.sql.shuffle.partitions",
        String.valueOf(Math.max(1, Math.min(partitions, spark.sparkContext().defaultParallelism()))));
    return settings;
  }

  /**
   * Runs a command with these session settings, and puts the session's own back after it. The
   * settings are the session's, so a query started in it meanwhile from another thread runs with
   * them too (adaptive execution off for the second a DELETE takes); the commands that set them
   * run one at a time in this JVM. A session of its own would leave them alone, but building one
   * costs half a second in a fresh JVM.
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

  /**
   * Rewrites the files of the given shards that hold rows hidden by deletion vectors
   * ({@code REORG TABLE ... APPLY (PURGE)}), so that no current file still holds a deleted row, then
   * runs {@code VACUUM} with the given retention, which deletes the files (old versions, change
   * data) that no version within the retention needs. Rows deleted before {@code vacuumedAt -
   * retention} are then gone from storage.
   */
  public PurgeResult purge(Collection<Integer> shards, double retentionHours, CommitRetry retry) {
    String table = "delta.`" + path.replace("`", "``") + "`";
    Long reorgVersion = null;
    // Only files with deletion vectors hold deleted rows: a shard without one needs no REORG
    // (with forget.rewrite-files there are none). Delta 4.1.0's REORG ... APPLY (PURGE) calls
    // SparkSession.active inside an executor task (ReorgTableHelper.filterParquetFilesOnExecutors),
    // which fails on a cluster's executors: there, forget.rewrite-files=true avoids it.
    if (!shards.isEmpty() && filesWithDeletionVectors(shards) > 0) {
      String in = shards.stream().sorted().map(String::valueOf).reduce((a, b) -> a + ", " + b).orElseThrow();
      reorgVersion = retry.run("purge (REORG) of shards " + in, () -> {
        withSessionSettings(smallCommandSettings(), () -> spark.sql("REORG TABLE " + table + " WHERE "
            + StoreLayout.SHARD_COLUMN + " IN (" + in + ") APPLY (PURGE)"));
        return currentVersion();
      });
    }
    Instant vacuumedAt = Instant.now();
    Map<String, String> settings = smallCommandSettings();
    // Delta refuses a retention under the table's deletedFileRetentionDuration unless this is off.
    settings.put("spark.databricks.delta.retentionDurationCheck.enabled", "false");
    ByteArrayOutputStream said = new ByteArrayOutputStream();
    withSessionSettings(settings, () -> {
      // VACUUM prints its tally to standard output, which is the jobs' JSON summary: log it instead.
      // Standard output is the JVM's: the commands that set session settings run one at a time.
      PrintStream stdout = System.out;
      try {
        System.setOut(new PrintStream(said, true, StandardCharsets.UTF_8));
        vacuum(table, retentionHours);
      } finally {
        System.setOut(stdout);
      }
    });
    LOG.info("VACUUM of {}: {}", path, said.toString(StandardCharsets.UTF_8).trim());
    return new PurgeResult(shards.stream().sorted().toList(), reorgVersion, filesVacuumed(), retentionHours,
        vacuumedAt);
  }

  /**
   * Rows per shard at a version, from the Delta log's file statistics (no data file is read): the
   * logical records of each live file, deletion vectors subtracted. A shard whose files carry no
   * statistics is missing from the map.
   */
  public Map<Integer, Long> rowsPerShardFromLog(long version, Collection<Integer> shards) {
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
  public long filesWithDeletionVectors(Collection<Integer> shards) {
    return filesOf(currentVersion(), shards, false).stream().filter(f -> f.deletionVectorRows() > 0).count();
  }

  /** The data files of a version in these shards, from the Delta log read in the driver (Delta Kernel). */
  private List<LogTable.DataFile> filesOf(long version, Collection<Integer> shards, boolean withStats) {
    Set<String> wanted = new HashSet<>();
    shards.forEach(s -> wanted.add(String.valueOf(s)));
    return log.files(version, values -> wanted.contains(values.get(StoreLayout.SHARD_COLUMN)), withStats);
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
  public Optional<List<String>> readableRows(long version, Collection<Integer> shards) {
    List<LogTable.DataFile> needed;
    try {
      needed = filesOf(version, shards, false);
    } catch (RuntimeException logGone) { // the log no longer reaches back to that version
      return Optional.empty();
    }
    HadoopFiles files = new HadoopFiles(spark.sparkContext().hadoopConfiguration());
    for (LogTable.DataFile f : needed) {
      if (!files.exists(new Path(f.absolutePath(path)))) {
        return Optional.empty();
      }
    }
    return Optional.of(needed.stream().map(f -> f.path() + "#" + f.deletionVectorRows()).sorted().toList());
  }

  /** Whether time travel to a version can read these shards (see {@link #readableRows}). */
  public boolean filesPresent(long version, Collection<Integer> shards) {
    return readableRows(version, shards).isPresent();
  }

  /**
   * Whether one commit has change data in these shards that can still be read: the change files
   * it wrote there (or, without them, the data files it added and removed there) are all on
   * storage. False for a commit that changed nothing in them.
   */
  public boolean changeFilesPresent(long version, Collection<Integer> shards) {
    HadoopFiles files = new HadoopFiles(spark.sparkContext().hadoopConfiguration());
    Path table = new Path(path);
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
      LOG.info("VACUUM LITE of {} cannot see every file to delete in the log; running a full VACUUM", path);
      spark.sql("VACUUM " + table + " RETAIN " + retentionHours + " HOURS");
    }
  }

  /**
   * Files the last VACUUM deleted, from its VACUUM END commit among the newest few, read from the
   * log's commit files (null when Delta did not log it).
   */
  private Long filesVacuumed() {
    HadoopFiles files = new HadoopFiles(spark.sparkContext().hadoopConfiguration());
    Path table = new Path(path);
    long newest = currentVersion();
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

  private static Dataset<Row> inShards(Dataset<Row> rows, Collection<Integer> shards) {
    return shards == null ? rows : rows.where(col(StoreLayout.SHARD_COLUMN).isin(shards.toArray()));
  }

  /**
   * Shards whose rows changed (rows added or removed) in any commit after {@code version}, read
   * from the Delta log (no data is scanned). Rewrites that keep the rows (REORG, OPTIMIZE: no
   * data change) do not count. If the log no longer holds a commit of that range, every shard
   * counts as changed.
   */
  public Set<Integer> shardsChangedSince(long version) {
    Set<Integer> changed = new TreeSet<>();
    scanLog(version, (v, kind, shard) -> changed.add(shard), v -> changed.addAll(layout.allShards()));
    return changed;
  }

  /**
   * For each shard, the last version after {@code version} that removed rows from it (a delete; a
   * rewrite that keeps the rows does not count). A sub-model of shard k fitted on a version older
   * than that entry was trained on rows that are deleted now. A commit missing from the log
   * counts as a removal in every shard: it cannot be proven otherwise.
   */
  public Map<Integer, Long> lastRemovalsSince(long version) {
    Map<Integer, Long> last = new TreeMap<>();
    scanLog(version, (v, kind, shard) -> {
      if (kind.equals("remove")) {
        last.merge(shard, v, Math::max);
      }
    }, v -> layout.allShards().forEach(s -> last.merge(s, v, Math::max)));
    return last;
  }

  private interface LogVisitor {
    void change(long version, String kind, int shard);
  }

  /** Data-changing add and remove actions of every commit after {@code version}, by shard. */
  private void scanLog(long version, LogVisitor visitor, LongConsumer missing) {
    long current = currentVersion();
    HadoopFiles files = new HadoopFiles(spark.sparkContext().hadoopConfiguration());
    Path table = new Path(path);
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
