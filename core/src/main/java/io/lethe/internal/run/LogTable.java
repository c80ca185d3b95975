package io.lethe.internal.run;

import com.fasterxml.jackson.databind.JsonNode;
import io.delta.kernel.Operation;
import io.delta.kernel.Scan;
import io.delta.kernel.Snapshot;
import io.delta.kernel.Table;
import io.delta.kernel.Transaction;
import io.delta.kernel.TransactionBuilder;
import io.delta.kernel.TransactionCommitResult;
import io.delta.kernel.data.ColumnVector;
import io.delta.kernel.data.FilteredColumnarBatch;
import io.delta.kernel.data.MapValue;
import io.delta.kernel.engine.Engine;
import io.delta.kernel.exceptions.TableNotFoundException;
import io.delta.kernel.hook.PostCommitHook;
import io.delta.kernel.types.StructType;
import io.delta.kernel.utils.CloseableIterable;
import io.delta.kernel.utils.CloseableIterator;
import io.delta.kernel.utils.DataFileStatus;
import io.delta.kernel.utils.FileStatus;
import io.lethe.LetheException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.function.Predicate;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Row;

/**
 * A Delta table read and appended to in the driver through Delta Kernel, the public,
 * engine-independent Delta library: no Spark job, no internal class of delta-spark. Lethe keeps
 * its bookkeeping this way (the ledger, the publish log) and lists the store's files by shard.
 *
 * <p>Rows cross as Spark {@link Row}s of a Spark schema whose columns are strings, whole numbers
 * (int, long), timestamps and arrays of ints: what Lethe's own tables hold. Appends are blind
 * (they read nothing), so they conflict only with a concurrent creation of the table, or, with a
 * transaction id, with a commit of the same id.
 */
public final class LogTable {
  private static final String ENGINE_INFO = "Lethe";
  /** One lock per table path for this JVM's commits (see {@link #append}). */
  private static final java.util.concurrent.ConcurrentMap<String, Object> COMMIT_LOCKS =
      new java.util.concurrent.ConcurrentHashMap<>();

  private final String path;
  /** Kernel's engine over the Hadoop configuration (its Parquet reads Lethe's: {@link KernelEngine}). */
  private final Engine engine;
  private final Configuration hadoop;
  private final DriverParquet parquet;
  /** Rows of the data files read so far, by file: Delta's data files never change once written. */
  private final Map<String, List<Row>> rowsByFile = new HashMap<>();
  private org.apache.spark.sql.types.StructType cachedSchema;

  public LogTable(Configuration hadoop, String path) {
    this.path = path;
    this.engine = KernelEngine.create(hadoop);
    this.hadoop = hadoop;
    this.parquet = new DriverParquet(engine);
  }

  public String path() {
    return path;
  }


  /** The newest version, or empty when there is no Delta table at the path. */
  public OptionalLong version() {
    try {
      return OptionalLong.of(Table.forPath(engine, path).getLatestSnapshot(engine).getVersion());
    } catch (TableNotFoundException e) {
      return OptionalLong.empty();
    }
  }

  /**
   * The table's properties at its newest version (its metadata's configuration), or empty when
   * there is no Delta table at the path. Kernel 4.0's public Snapshot does not expose them; its
   * implementation does.
   */
  public Optional<Map<String, String>> properties() {
    Snapshot snapshot;
    try {
      snapshot = Table.forPath(engine, path).getLatestSnapshot(engine);
    } catch (TableNotFoundException e) {
      return Optional.empty();
    }
    return Optional.of(Map.copyOf(((io.delta.kernel.internal.SnapshotImpl) snapshot).getMetadata().getConfiguration()));
  }

  /** The table's column names at its newest version. */
  public List<String> columns() {
    Snapshot snapshot = Table.forPath(engine, path).getLatestSnapshot(engine);
    return snapshot.getSchema().fieldNames();
  }

  /**
   * Every row of a version (the newest when {@code version} is empty), as Spark rows of
   * {@code schema}: each of its columns read by name from the table. Only files this object has
   * not read before are opened.
   */
  public List<Row> rows(OptionalLong version, org.apache.spark.sql.types.StructType schema) {
    Table table = Table.forPath(engine, path);
    Snapshot snapshot = version.isPresent() ? table.getSnapshotAsOfVersion(engine, version.getAsLong())
        : table.getLatestSnapshot(engine);
    StructType read = readSchema(snapshot.getSchema(), schema);
    List<Row> rows = new ArrayList<>();
    for (DataFile file : files(snapshot, f -> true, false)) {
      rows.addAll(rowsOf(file, read, schema));
    }
    return rows;
  }

  /**
   * The data files that the commits after version {@code after}, up to {@code to}, added, read
   * from those commits' files in the log (with their record counts): the table's growth between
   * two versions without reading its state. Empty when the log no longer holds one of those
   * commits, or when one of them removed data (a delete or an overwrite, not an append): then
   * only a read of version {@code to} tells what the table holds. A compaction's rewrite (no data
   * change) is passed over: it adds no row.
   */
  public Optional<List<DataFile>> filesAdded(long after, long to) {
    HadoopFiles files = new HadoopFiles(hadoop);
    Path table = new Path(path);
    List<DataFile> added = new ArrayList<>();
    for (long v = after + 1; v <= to; v++) {
      if (!files.exists(DeltaCommits.file(table, v))) {
        return Optional.empty();
      }
      for (JsonNode action : DeltaCommits.actions(files, table, v)) {
        JsonNode remove = action.path("remove");
        if (!remove.isMissingNode() && remove.path("dataChange").asBoolean(true)) {
          return Optional.empty();
        }
        JsonNode add = action.path("add");
        if (add.isMissingNode() || !add.path("dataChange").asBoolean(true)) {
          continue;
        }
        JsonNode stats = add.path("stats");
        Long records = stats.isTextual() ? numRecords(stats.asText()) : null;
        added.add(new DataFile(add.path("path").asText(), Map.of(), add.path("size").asLong(),
            add.path("modificationTime").asLong(), records, add.path("deletionVector").path("cardinality").asLong(0)));
      }
    }
    return Optional.of(added);
  }

  /**
   * The rows of these data files of the table, as rows of {@code schema}. Each file is read once by
   * this object while it is asked for: the files of an earlier call that this one does not name are
   * let go, so a long-lived reader of a growing table holds only what it reads now.
   */
  public List<Row> rows(List<DataFile> dataFiles, org.apache.spark.sql.types.StructType schema) {
    StructType read = readSchema(Table.forPath(engine, path).getLatestSnapshot(engine).getSchema(), schema);
    List<Row> rows = new ArrayList<>();
    for (DataFile file : dataFiles) {
      rows.addAll(rowsOf(file, read, schema));
    }
    java.util.Set<String> named = new java.util.HashSet<>();
    dataFiles.forEach(f -> named.add(f.path()));
    synchronized (rowsByFile) {
      rowsByFile.keySet().retainAll(named);
    }
    return rows;
  }

  /**
   * The rows of these data files whose string column {@code column} passes {@code keep}: only
   * those rows are built (nor are they kept for a later read).
   */
  public List<Row> rows(List<DataFile> dataFiles, org.apache.spark.sql.types.StructType schema, String column,
      java.util.function.Predicate<String> keep) {
    StructType read = readSchema(Table.forPath(engine, path).getLatestSnapshot(engine).getSchema(), schema);
    List<Row> rows = new ArrayList<>();
    for (DataFile file : dataFiles) {
      rows.addAll(parquet.read(readable(file), read, schema, column, keep));
    }
    return rows;
  }

  private StructType readSchema(StructType tableSchema, org.apache.spark.sql.types.StructType schema) {
    StructType read = new StructType();
    for (String name : schema.fieldNames()) {
      int at = tableSchema.indexOf(name);
      if (at < 0) {
        throw new LetheException("The Delta table at " + path + " has no column '" + name + "'");
      }
      read = read.add(tableSchema.at(at));
    }
    return read;
  }

  /** A data file's rows, read once per object and schema (Delta's data files never change once written). */
  private List<Row> rowsOf(DataFile file, StructType read, org.apache.spark.sql.types.StructType schema) {
    synchronized (rowsByFile) {
      if (!schema.equals(cachedSchema)) {
        rowsByFile.clear();
        cachedSchema = schema;
      }
      List<Row> known = rowsByFile.get(file.path());
      if (known != null) {
        return known;
      }
    }
    FileStatus status = readable(file);
    List<Row> fileRows = List.copyOf(parquet.read(status, read, schema, null, null));
    synchronized (rowsByFile) {
      rowsByFile.put(file.path(), fileRows);
    }
    return fileRows;
  }

  /** A data file to read whole: Lethe's own tables are append-only, so a deletion vector is refused. */
  private FileStatus readable(DataFile file) {
    if (file.deletionVectorRows() > 0) {
      throw new LetheException("The Delta table at " + path + " has deleted rows (deletion vectors); Lethe's own"
          + " tables are append-only");
    }
    return FileStatus.of(file.absolutePath(path), file.size(), file.modificationTime());
  }

  /** One data file of a version, as its log describes it. */
  public record DataFile(String path, Map<String, String> partitionValues, long size, long modificationTime,
      Long records, long deletionVectorRows) {

    /** Rows the file still holds for readers: its records less those its deletion vector hides; null when unknown. */
    public Long liveRecords() {
      return records == null ? null : records - deletionVectorRows;
    }

    /** The file's absolute location, the log holding paths relative to the table or absolute. */
    public String absolutePath(String table) {
      URI uri = URI.create(path);
      return uri.isAbsolute() ? path : new Path(new Path(table), new Path(uri)).toString();
    }
  }

  /**
   * The data files of a version whose partition values pass {@code partitions}, with their record
   * counts when {@code withStats} (read from the log's statistics; no data file is opened).
   */
  public List<DataFile> files(long version, Predicate<Map<String, String>> partitions, boolean withStats) {
    return files(Table.forPath(engine, path).getSnapshotAsOfVersion(engine, version), partitions, withStats);
  }

  private List<DataFile> files(Snapshot snapshot, Predicate<Map<String, String>> partitions, boolean withStats) {
    Scan scan = snapshot.getScanBuilder().build();
    List<DataFile> out = new ArrayList<>();
    // Kernel 4.0's public Scan reads statistics only for a data-skipping filter; its implementation
    // takes the wish directly.
    try (CloseableIterator<FilteredColumnarBatch> batches = withStats
        && scan instanceof io.delta.kernel.internal.ScanImpl impl ? impl.getScanFiles(engine, true)
        : scan.getScanFiles(engine)) {
      while (batches.hasNext()) {
        try (CloseableIterator<io.delta.kernel.data.Row> rows = batches.next().getRows()) {
          while (rows.hasNext()) {
            io.delta.kernel.data.Row scanFile = rows.next();
            io.delta.kernel.data.Row add = scanFile.getStruct(scanFile.getSchema().indexOf("add"));
            Map<String, String> values = stringMap(add.getMap(add.getSchema().indexOf("partitionValues")));
            if (!partitions.test(values)) {
              continue;
            }
            StructType addSchema = add.getSchema();
            int dvAt = addSchema.indexOf("deletionVector");
            long dvRows = 0;
            if (!add.isNullAt(dvAt)) {
              io.delta.kernel.data.Row dv = add.getStruct(dvAt);
              dvRows = dv.getLong(dv.getSchema().indexOf("cardinality"));
            }
            int statsAt = addSchema.indexOf("stats");
            Long records = statsAt < 0 || add.isNullAt(statsAt) ? null : numRecords(add.getString(statsAt));
            out.add(new DataFile(add.getString(addSchema.indexOf("path")), values,
                add.getLong(addSchema.indexOf("size")), add.getLong(addSchema.indexOf("modificationTime")), records,
                dvRows));
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot list the files of the Delta table at " + path, e);
    }
    return out;
  }

  private static Long numRecords(String stats) {
    var node = Json.read(stats, com.fasterxml.jackson.databind.JsonNode.class, "Delta file statistics").path("numRecords");
    return node.isNumber() ? node.asLong() : null;
  }

  private static Map<String, String> stringMap(MapValue map) {
    Map<String, String> out = new HashMap<>();
    ColumnVector keys = map.getKeys();
    ColumnVector values = map.getValues();
    for (int i = 0; i < map.getSize(); i++) {
      out.put(keys.getString(i), values.isNullAt(i) ? null : values.getString(i));
    }
    return out;
  }

  /**
   * Appends rows in one commit, creating the table (with {@code properties}) when there is none,
   * and runs the commit's hooks (checksum, checkpoint). With a transaction id ({@code appId},
   * {@code txnVersion}) the commit is idempotent: it fails with Kernel's
   * {@code ConcurrentTransactionException} when that id already committed that version or later.
   *
   * @return the version committed
   */
  public long append(List<Row> rows, org.apache.spark.sql.types.StructType schema, Map<String, String> properties,
      String appId, Long txnVersion) {
    Table table = Table.forPath(engine, path);
    boolean creates = version().isEmpty();
    TransactionBuilder builder = table.createTransactionBuilder(engine, ENGINE_INFO,
        creates ? Operation.CREATE_TABLE : Operation.WRITE);
    if (creates) {
      builder = builder.withSchema(engine, KernelRows.kernelSchema(schema)).withTableProperties(engine, properties);
    }
    if (appId != null) {
      builder = builder.withTransactionId(engine, appId, txnVersion);
    }
    Transaction txn = builder.build(engine);
    io.delta.kernel.data.Row state = txn.getTransactionState(engine);
    StructType tableSchema = txn.getSchema(engine);
    CloseableIterator<FilteredColumnarBatch> data = single(
        new FilteredColumnarBatch(KernelRows.batch(rows, schema, tableSchema), Optional.empty()));
    try {
      CloseableIterator<FilteredColumnarBatch> physical = Transaction.transformLogicalData(engine, state, data, Map.of());
      var context = Transaction.getWriteContext(engine, state, Map.of());
      CloseableIterator<DataFileStatus> written = engine.getParquetHandler().writeParquetFiles(
          context.getTargetDirectory(), physical, context.getStatisticsColumns());
      CloseableIterator<io.delta.kernel.data.Row> actions = Transaction.generateAppendActions(engine, state, written,
          context);
      TransactionCommitResult result;
      // Kernel writes a commit file by a rename that a local file system does not make atomic
      // (check, rename, then its checksum file's rename): two threads committing the same version
      // of one table could leave one's file with the other's checksum. This JVM's commits to a
      // table go one at a time; the later one then meets the earlier's file and retries.
      synchronized (COMMIT_LOCKS.computeIfAbsent(new Path(path).toUri().getPath(), k -> new Object())) {
        result = txn.commit(engine, CloseableIterable.inMemoryIterable(actions));
      }
      for (PostCommitHook hook : result.getPostCommitHooks()) {
        hook.threadSafeInvoke(engine);
      }
      return result.getVersion();
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot append to the Delta table at " + path, e);
    }
  }

  /** One item as Kernel's closeable iterator. */
  public static <T> CloseableIterator<T> single(T item) {
    java.util.Iterator<T> one = List.of(item).iterator();
    return new CloseableIterator<>() {
      @Override
      public boolean hasNext() {
        return one.hasNext();
      }

      @Override
      public T next() {
        return one.next();
      }

      @Override
      public void close() {}
    };
  }
}
