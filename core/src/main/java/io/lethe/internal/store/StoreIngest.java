package io.lethe.internal.store;

import io.lethe.types.IngestPlan;
import io.lethe.types.IngestResult;
import io.lethe.types.StoreLayout;
import io.lethe.types.Task;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;

import io.lethe.InvalidRequestException;
import io.lethe.LetheConfig;
import io.lethe.LetheException;
import io.lethe.StoreNotFoundException;
import io.lethe.internal.run.Tables;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
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

/**
 * Ingest into the store: the layout planned from the configuration and the source, the source
 * validated (columns, types, nulls, classes), the table created or appended to.
 */
final class StoreIngest {
  private static final int MAX_CLASSES = 1000;

  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(StoreIngest.class);

  private StoreIngest() {}

  private static boolean storeExists(SparkSession spark, String location) {
    return Tables.isOwnTableName(spark, location, LetheConfig.STORE_PATH) ? Tables.exists(spark, location)
        : ShardedStore.exists(spark, location);
  }


  static IngestPlan plan(SparkSession spark, String location, Dataset<Row> source, LetheConfig config,
      boolean append) {
    boolean exists = checkIngestTarget(spark, location, append);
    if (exists) {
      ShardedStore store = ShardedStore.open(spark, location);
      validate(source, store.layout(), false);
      return new IngestPlan(store.path(), false, store.layout());
    }
    String where = Tables.looksLikeName(location) ? location : ShardedStore.qualify(spark, location);
    return new IngestPlan(where, true, planLayout(source, config));
  }

  /** Whether the store exists, refusing a second ingest without append and an append to nothing. */
  private static boolean checkIngestTarget(SparkSession spark, String location, boolean append) {
    boolean exists = storeExists(spark, location);
    String path = Tables.looksLikeName(location) ? location : ShardedStore.qualify(spark, location);
    if (exists && !append) {
      throw new InvalidRequestException("A store already exists at " + path + "; use --append to add rows to it");
    }
    if (!exists && append) {
      throw new StoreNotFoundException("No store at " + path + " to append to; run ingest without --append to create it");
    }
    return exists;
  }

  /** Creates a store from a source, or appends to the existing one when {@code append} is set. */
  static IngestResult ingest(SparkSession spark, String location, Dataset<Row> source, LetheConfig config,
      boolean append, boolean once) {
    boolean exists = checkIngestTarget(spark, location, append);
    if (exists) {
      return append(ShardedStore.open(spark, location), source, once);
    }
    StoreLayout layout = planLayout(source, config);
    Dataset<Row> rows = withShard(source, layout);
    // By name, a table in the catalog (at the location the catalog gives it); else a path table.
    boolean named = Tables.isOwnTableName(spark, location, LetheConfig.STORE_PATH);
    String path = named ? location : ShardedStore.qualify(spark, location);
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
    ShardedStore store = ShardedStore.open(spark, location);
    long version = store.currentVersion();
    Map<Integer, Long> perShard = store.rowsPerShard(version);
    return new IngestResult(true, version, perShard.values().stream().mapToLong(Long::longValue).sum(), perShard);
  }

  /**
   * Appends rows with the store's own layout: same shard function, same columns, known classes.
   * With {@code once} (the source read whole from files), the append lands once: its commit carries
   * a Delta transaction id named by the source's files (their paths, sizes and modification times),
   * so the same append run again, after a crash or not, is skipped by Delta instead of adding the
   * rows twice.
   */
  static IngestResult append(ShardedStore store, Dataset<Row> source, boolean once) {
    StoreLayout layout = store.layout();
    validate(source, layout, false);
    Dataset<Row> rows = withShard(source, layout);
    Map<Integer, Long> perShard = ShardedStore.countPerShard(rows);
    String appId = once ? appendId(store.spark(), source) : null;
    long before = store.currentVersion();
    LOG.info("Appending {} rows to shards {} at store version {}{}", perShard.values().stream()
        .mapToLong(Long::longValue).sum(), perShard.keySet(), before, appId == null ? "" : " (Delta transaction " + appId + ")");
    try {
      var writer = rows.write().format("delta").mode("append");
      if (appId != null) {
        writer = writer.option("txnAppId", appId).option("txnVersion", 0L);
      }
      writer.save(store.path());
    } catch (Exception e) {
      throw new LetheException("Cannot append to the store at " + store.path() + ": " + LetheException.firstLine(e), e);
    }
    long after = store.currentVersion();
    if (appId != null && !committed(store, appId, before, after)) {
      LOG.info("This source's rows were appended to the store before (Delta transaction {}): nothing appended",
          appId);
      return new IngestResult(false, after, 0, Map.of());
    }
    long rowsWritten = perShard.values().stream().mapToLong(Long::longValue).sum();
    return new IngestResult(false, after, rowsWritten, perShard);
  }

  /** Whether one of the store's commits after {@code before}, up to {@code after}, is the transaction's. */
  private static boolean committed(ShardedStore store, String appId, long before, long after) {
    io.lethe.internal.run.HadoopFiles files = new io.lethe.internal.run.HadoopFiles(store.spark().sparkContext().hadoopConfiguration());
    org.apache.hadoop.fs.Path table = new org.apache.hadoop.fs.Path(store.path());
    for (long v = before + 1; v <= after; v++) {
      for (com.fasterxml.jackson.databind.JsonNode action : io.lethe.internal.run.DeltaCommits.actions(files, table, v)) {
        if (appId.equals(action.path("txn").path("appId").asText(null))) {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * The Delta transaction id of an append of these rows: a hash of the source's files (path, size,
   * modification time), or null when the rows come from no files (a DataFrame built in memory).
   */
  static String appendId(SparkSession spark, Dataset<Row> source) {
    String[] files = source.inputFiles();
    if (files.length == 0) {
      return null;
    }
    java.util.Arrays.sort(files);
    try {
      java.security.MessageDigest digest = java.security.MessageDigest.getInstance("SHA-256");
      org.apache.hadoop.conf.Configuration conf = spark.sparkContext().hadoopConfiguration();
      for (String file : files) {
        org.apache.hadoop.fs.Path path = new org.apache.hadoop.fs.Path(file);
        org.apache.hadoop.fs.FileStatus status = path.getFileSystem(conf).getFileStatus(path);
        digest.update((file + "|" + status.getLen() + "|" + status.getModificationTime() + "\n")
            .getBytes(java.nio.charset.StandardCharsets.UTF_8));
      }
      return "lethe-append-" + java.util.HexFormat.of().formatHex(digest.digest()).substring(0, 32);
    } catch (java.io.IOException | java.security.NoSuchAlgorithmException e) {
      throw new LetheException("Cannot read the source's files to name the append: " + LetheException.firstLine(e), e);
    }
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
}
