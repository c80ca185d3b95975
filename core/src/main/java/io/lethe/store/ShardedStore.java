package io.lethe.store;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;

import com.fasterxml.jackson.databind.JsonNode;
import io.delta.tables.DeltaTable;
import io.lethe.LetheConfig;
import io.lethe.LetheException;
import io.lethe.run.HadoopFiles;
import io.lethe.run.Json;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
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

/**
 * The training rows: one Delta table partitioned by shard, where the shard of a row is a stable
 * function of its data subject. Change Data Feed and deletion vectors are on from version 0.
 */
public final class ShardedStore {
  private static final int MAX_CLASSES = 1000;

  private final SparkSession spark;
  private final String path;
  private final StoreLayout layout;

  private ShardedStore(SparkSession spark, String path, StoreLayout layout) {
    this.spark = spark;
    this.path = path;
    this.layout = layout;
  }

  public static boolean exists(SparkSession spark, String path) {
    return DeltaTable.isDeltaTable(spark, path);
  }

  /** Opens an existing store; a missing path or a Delta table Lethe did not create is an error. */
  public static ShardedStore open(SparkSession spark, String path) {
    if (!exists(spark, path)) {
      throw new LetheException("No Lethe store at " + path + " (not a Delta table); create it with the ingest job");
    }
    Row detail = DeltaTable.forPath(spark, path).detail().select("properties").head();
    Map<String, String> props = detail.getJavaMap(0);
    return new ShardedStore(spark, path, StoreLayout.fromProperties(props, path));
  }

  /**
   * Creates a store from a source, or appends to the existing one when {@code append} is set. The
   * source is validated first (columns, types, nulls, emptiness); a bad source writes nothing.
   */
  public static IngestResult ingest(SparkSession spark, String path, Dataset<Row> source, LetheConfig config,
      boolean append) {
    boolean exists = exists(spark, path);
    if (exists && !append) {
      throw new LetheException("A store already exists at " + path + "; use --append to add rows to it");
    }
    if (!exists && append) {
      throw new LetheException("No store at " + path + " to append to; run ingest without --append to create it");
    }
    if (exists) {
      return open(spark, path).append(source);
    }
    StoreLayout layout = planLayout(source, config);
    Dataset<Row> rows = withShard(source, layout);
    String table = "delta.`" + path.replace("`", "``") + "`";
    try {
      var writer = rows.writeTo(table).using("delta").partitionedBy(col(StoreLayout.SHARD_COLUMN), new Column[0])
          .tableProperty("delta.enableChangeDataFeed", "true")
          .tableProperty("delta.enableDeletionVectors", "true");
      for (Map.Entry<String, String> p : layout.toProperties().entrySet()) {
        writer = writer.tableProperty(p.getKey(), p.getValue());
      }
      writer.create();
    } catch (Exception e) {
      throw new LetheException("Cannot create the store at " + path + ": " + LetheException.firstLine(e), e);
    }
    ShardedStore store = open(spark, path);
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
      throw new LetheException("The source has a column named " + StoreLayout.SHARD_COLUMN + ", which Lethe reserves");
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
      throw new LetheException("The source has no feature columns besides the subject and the label");
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
      throw new LetheException("The subject column '" + layout.subjectColumn() + "' must hold strings or whole numbers, not "
          + subjectType.simpleString());
    }
    for (String f : layout.numericFeatures()) {
      requireColumn(schema, f, LetheConfig.STORE_NUMERIC);
      DataType t = schema.apply(f).dataType();
      if (!(t instanceof NumericType)) {
        throw new LetheException("The numeric feature column '" + f + "' has type " + t.simpleString()
            + "; list it in " + LetheConfig.STORE_CATEGORICAL + " or cast it in the source");
      }
    }
    for (String f : layout.categoricalFeatures()) {
      requireColumn(schema, f, LetheConfig.STORE_CATEGORICAL);
      DataType t = schema.apply(f).dataType();
      if (!(t instanceof StringType || t instanceof BooleanType || t instanceof IntegralType)) {
        throw new LetheException("The categorical feature column '" + f + "' has type " + t.simpleString()
            + "; categorical columns must be strings, booleans or whole numbers");
      }
    }
    DataType labelType = schema.apply(layout.labelColumn()).dataType();
    if (layout.task() == Task.REGRESSION && !(labelType instanceof NumericType)) {
      throw new LetheException("The label column '" + layout.labelColumn() + "' has type " + labelType.simpleString()
          + " but the task is regression; use store.task=classification or a numeric label");
    }
    Row checks = source.agg(
        count(lit(1)),
        sum(when(col(layout.subjectColumn()).isNull(), 1).otherwise(0)),
        sum(when(col(layout.labelColumn()).isNull(), 1).otherwise(0))).head();
    long rows = checks.getLong(0);
    if (rows == 0) {
      throw new LetheException("The source has no rows; nothing was ingested");
    }
    if (checks.getLong(1) > 0) {
      throw new LetheException(checks.getLong(1) + " source rows have no subject id (column '" + layout.subjectColumn()
          + "'); every row must belong to a data subject");
    }
    if (checks.getLong(2) > 0) {
      throw new LetheException(checks.getLong(2) + " source rows have no label (column '" + layout.labelColumn() + "')");
    }
    if (layout.task() == Task.REGRESSION) {
      return List.of();
    }
    List<Row> distinct = source.select(col(layout.labelColumn()).cast("string")).distinct().limit(MAX_CLASSES + 1)
        .collectAsList();
    if (distinct.size() > MAX_CLASSES) {
      throw new LetheException("The label column '" + layout.labelColumn() + "' has more than " + MAX_CLASSES
          + " distinct values; for a numeric target set store.task=regression");
    }
    TreeSet<String> classes = new TreeSet<>();
    distinct.forEach(r -> classes.add(r.getString(0)));
    if (!newStore && !layout.labelClasses().containsAll(classes)) {
      classes.removeAll(layout.labelClasses());
      throw new LetheException("The rows have " + classes.size() + " label value(s) the store does not know; a store's"
          + " classes are fixed when it is created");
    }
    if (newStore && classes.size() < 2) {
      throw new LetheException("The label column '" + layout.labelColumn() + "' has only one value; classification needs two or more");
    }
    return new ArrayList<>(classes);
  }

  private static void requireColumn(StructType schema, String column, String key) {
    if (column == null || column.isEmpty() || !Arrays.asList(schema.fieldNames()).contains(column)) {
      throw new LetheException("Column '" + column + "' (" + key + ") is not in the source; its columns are "
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

  public long currentVersion() {
    return DeltaTable.forPath(spark, path).history(1).select("version").head().getLong(0);
  }

  /** All rows as of a version (time travel). */
  public Dataset<Row> read(long version) {
    return spark.read().format("delta").option("versionAsOf", version).load(path);
  }

  /** One shard's rows as of a version; reads only that shard's partition. */
  public Dataset<Row> readShard(int shard, long version) {
    return read(version).where(col(StoreLayout.SHARD_COLUMN).equalTo(shard));
  }

  public Map<Integer, Long> rowsPerShard(long version) {
    return countPerShard(read(version));
  }

  private static Map<Integer, Long> countPerShard(Dataset<Row> rows) {
    Map<Integer, Long> out = new TreeMap<>();
    for (Row r : rows.groupBy(StoreLayout.SHARD_COLUMN).count().collectAsList()) {
      out.put(r.getInt(0), r.getLong(1));
    }
    return out;
  }

  /** The shard each subject id would live in (no table scan: the shard is a function of the id). */
  public Set<Integer> shardsOf(Collection<String> subjectIds) {
    if (subjectIds.isEmpty()) {
      return Set.of();
    }
    Set<Integer> shards = new TreeSet<>();
    spark.createDataset(new ArrayList<>(subjectIds), org.apache.spark.sql.Encoders.STRING())
        .select(layout.shardOf(col("value"))).distinct().collectAsList()
        .forEach(r -> shards.add(r.getInt(0)));
    return shards;
  }

  /** Rows of the given subjects, only in the shards they can live in. */
  public Dataset<Row> rowsOf(Collection<String> subjectIds, Collection<Integer> shards, long version) {
    return read(version).where(col(StoreLayout.SHARD_COLUMN).isin(shards.toArray())
        .and(layout.subject().cast("string").isin(subjectIds.toArray())));
  }

  /**
   * Deletes every row of the given subjects with one Delta DELETE, restricted to their shards'
   * partitions, and returns the store version after it.
   */
  public long deleteSubjects(Collection<String> subjectIds, Collection<Integer> shards) {
    DeltaTable.forPath(spark, path).delete(col(StoreLayout.SHARD_COLUMN).isin(shards.toArray())
        .and(layout.subject().cast("string").isin(subjectIds.toArray())));
    return currentVersion();
  }

  /**
   * Shards whose rows changed in any commit after {@code version}, read from the Delta log's
   * add/remove actions (no data is scanned). If the log no longer holds a commit in that range,
   * every shard is reported changed.
   */
  public Set<Integer> shardsChangedSince(long version) {
    long current = currentVersion();
    Set<Integer> changed = new TreeSet<>();
    HadoopFiles files = new HadoopFiles(spark.sparkContext().hadoopConfiguration());
    Path log = new Path(path, "_delta_log");
    for (long v = version + 1; v <= current; v++) {
      Path commit = new Path(log, String.format("%020d.json", v));
      if (!files.exists(commit)) {
        for (int s = 0; s < layout.shards(); s++) {
          changed.add(s);
        }
        return changed;
      }
      for (String line : files.readString(commit).split("\n")) {
        if (line.isBlank()) {
          continue;
        }
        JsonNode action = Json.read(line, JsonNode.class, "Delta commit " + commit);
        for (String kind : List.of("add", "remove")) {
          JsonNode shard = action.path(kind).path("partitionValues").path(StoreLayout.SHARD_COLUMN);
          if (!shard.isMissingNode() && !shard.isNull()) {
            changed.add(Integer.parseInt(shard.asText()));
          }
        }
      }
    }
    return changed;
  }
}
