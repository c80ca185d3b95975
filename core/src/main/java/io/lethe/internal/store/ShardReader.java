package io.lethe.internal.store;

import io.delta.kernel.Scan;
import io.delta.kernel.Snapshot;
import io.delta.kernel.Table;
import io.delta.kernel.data.ColumnVector;
import io.delta.kernel.data.ColumnarBatch;
import io.delta.kernel.data.FilteredColumnarBatch;
import io.delta.kernel.engine.Engine;
import io.delta.kernel.expressions.Literal;
import io.delta.kernel.expressions.Or;
import io.delta.kernel.expressions.Predicate;
import io.delta.kernel.internal.InternalScanFileUtils;
import io.delta.kernel.internal.data.ScanStateRow;
import io.delta.kernel.types.BooleanType;
import io.delta.kernel.types.ByteType;
import io.delta.kernel.types.DataType;
import io.delta.kernel.types.DecimalType;
import io.delta.kernel.types.DoubleType;
import io.delta.kernel.types.FloatType;
import io.delta.kernel.types.IntegerType;
import io.delta.kernel.types.LongType;
import io.delta.kernel.types.ShortType;
import io.delta.kernel.types.StringType;
import io.delta.kernel.types.StructType;
import io.delta.kernel.utils.CloseableIterator;
import io.lethe.LetheException;
import io.lethe.internal.run.KernelEngine;
import io.lethe.internal.run.LogTable;
import io.lethe.types.StoreLayout;
import io.lethe.types.Task;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;

/**
 * Reads one shard of a store version inside a Spark task, through Delta Kernel: the shard's
 * partition files at that version, deletion vectors applied, only the training columns. So the
 * job that fits a shard also reads it, with no Delta query planning (no snapshot-state jobs) and
 * no shuffle. Each row comes out as the training query would give it: numeric features as
 * doubles, categorical ones as strings, then the label (its class index, or the number), then the
 * shard.
 *
 * <p>It is used only where its conversions are exactly Spark's casts ({@link #of} says when):
 * numeric features of any numeric type; categorical features and a classification label of
 * string, boolean or whole-number type.
 */
public final class ShardReader implements Serializable {
  private static final long serialVersionUID = 1L;

  private final Map<String, String> hadoop;
  private final String path;
  private final long version;
  private final List<String> numeric;
  private final List<String> categorical;
  private final String label;
  private final List<String> classes;
  private final boolean regression;
  /** A column whose value (as a string) in {@link #excluded} leaves a row out of {@link #rows}; null for none. */
  private final String excludeColumn;
  private final Set<String> excluded;

  private ShardReader(Map<String, String> hadoop, String path, long version, StoreLayout layout) {
    this.hadoop = hadoop;
    this.path = path;
    this.version = version;
    this.numeric = layout.numericFeatures();
    this.categorical = layout.categoricalFeatures();
    this.label = layout.labelColumn();
    this.classes = layout.labelClasses();
    this.regression = layout.task() == Task.REGRESSION;
    this.excludeColumn = null;
    this.excluded = Set.of();
  }

  private ShardReader(ShardReader base, String excludeColumn, Set<String> excluded) {
    this.hadoop = base.hadoop;
    this.path = base.path;
    this.version = base.version;
    this.numeric = base.numeric;
    this.categorical = base.categorical;
    this.label = base.label;
    this.classes = base.classes;
    this.regression = base.regression;
    this.excludeColumn = excludeColumn;
    this.excluded = excluded;
  }

  /**
   * This reader, with every row whose {@code column} holds one of the ids left out of {@link #rows}:
   * the rows a version will hold once a delete of those ids commits. The column is read as {@link
   * #counts} reads it, so the rows left out are those the forget plan matched.
   */
  public ShardReader excluding(String column, Collection<String> ids) {
    return new ShardReader(this, column, new HashSet<>(ids));
  }

  /**
   * A reader of the store's shards at a version, or empty when a training column's type needs
   * Spark's cast; with no schema, a reader for {@link #counts} only.
   */
  public static Optional<ShardReader> of(ShardedStore store, long version, org.apache.spark.sql.types.StructType schema) {
    StoreLayout layout = store.layout();
    for (String c : schema == null ? List.<String>of() : layout.categoricalFeatures()) {
      if (!exactAsString(schema.apply(c).dataType())) {
        return Optional.empty();
      }
    }
    if (schema != null && layout.task() == Task.CLASSIFICATION
        && !exactAsString(schema.apply(layout.labelColumn()).dataType())) {
      return Optional.empty();
    }
    Map<String, String> hadoop = new HashMap<>();
    store.spark().sparkContext().hadoopConfiguration().forEach(e -> hadoop.put(e.getKey(), e.getValue()));
    return Optional.of(new ShardReader(hadoop, store.path(), version, layout));
  }

  /** Whether {@link #counts} reads a column of this type as Spark's cast to string would. */
  public static boolean exactAsString(org.apache.spark.sql.types.DataType type) {
    return type instanceof org.apache.spark.sql.types.StringType || type instanceof org.apache.spark.sql.types.BooleanType
        || type instanceof org.apache.spark.sql.types.IntegralType;
  }

  /**
   * The shard's rows at the reader's version, read as they are consumed (a Parquet batch at a
   * time, so the task holds no second copy of its shard); runs where it is called (in a task).
   */
  public Iterator<Row> rows(int shard) {
    List<String> columns = new ArrayList<>(numeric);
    columns.addAll(categorical);
    columns.add(label);
    List<String> read = new ArrayList<>(columns);
    if (excludeColumn != null && !columns.contains(excludeColumn)) {
      read.add(excludeColumn);
    }
    Iterator<FilteredColumnarBatch> batches = batches(shard, read);
    return new Iterator<>() {
      private final List<Row> buffer = new ArrayList<>();
      private int next;

      @Override
      public boolean hasNext() {
        while (next == buffer.size()) {
          if (!batches.hasNext()) {
            return false;
          }
          buffer.clear();
          next = 0;
          add(batches.next(), columns, shard, buffer);
        }
        return true;
      }

      @Override
      public Row next() {
        if (!hasNext()) {
          throw new java.util.NoSuchElementException();
        }
        return buffer.get(next++);
      }
    };
  }

  /**
   * The shard's data at the reader's version, a batch at a time, deletion vectors as selection
   * vectors; each file is opened when the batches before it are consumed, and closed after.
   */
  private Iterator<FilteredColumnarBatch> batches(int shard, List<String> columns) {
    return batches(List.of(shard), columns);
  }

  /**
   * For each of these shards, the rows whose {@code column} (a subject or record id: strings or whole
   * numbers, as Spark's cast to string gives it) holds one of the wanted values, counted by value;
   * deleted rows excluded. One read of the log for all of
   * them; runs where it is called (a task, for a match too large for the driver).
   */
  public Map<Integer, Map<String, Long>> counts(List<Integer> shards, String column, Set<String> wanted) {
    Map<Integer, Map<String, Long>> out = new HashMap<>();
    batches(shards, List.of(column, StoreLayout.SHARD_COLUMN)).forEachRemaining(filtered -> {
      ColumnarBatch batch = filtered.getData();
      ColumnVector values = batch.getColumnVector(batch.getSchema().indexOf(column));
      ColumnVector shard = batch.getColumnVector(batch.getSchema().indexOf(StoreLayout.SHARD_COLUMN));
      Optional<ColumnVector> selected = filtered.getSelectionVector();
      for (int r = 0; r < batch.getSize(); r++) {
        if (hidden(selected, r)) {
          continue;
        }
        String value = asString(values, r);
        if (value != null && wanted.contains(value)) {
          out.computeIfAbsent(shard.getInt(r), k -> new HashMap<>()).merge(value, 1L, Long::sum);
        }
      }
    });
    return out;
  }

  /** These shards' columns at the reader's version, a batch at a time, deletion vectors as selection vectors. */
  Iterator<FilteredColumnarBatch> batches(List<Integer> shards, List<String> columns) {
    Configuration conf = new Configuration(false);
    hadoop.forEach(conf::set);
    Engine engine = KernelEngine.create(conf);
    Snapshot snapshot = Table.forPath(engine, path).getSnapshotAsOfVersion(engine, version);
    StructType schema = snapshot.getSchema();
    StructType read = new StructType();
    for (String c : columns) {
      read = read.add(schema.get(c));
    }
    Predicate filter = null;
    for (int shard : shards) {
      Predicate one = new Predicate("=", new io.delta.kernel.expressions.Column(StoreLayout.SHARD_COLUMN),
          Literal.ofInt(shard));
      filter = filter == null ? one : new Or(filter, one);
    }
    Scan scan = snapshot.getScanBuilder().withReadSchema(read).withFilter(filter).build();
    io.delta.kernel.data.Row state = scan.getScanState(engine);
    StructType physical = ScanStateRow.getPhysicalDataReadSchema(engine, state);
    CloseableIterator<FilteredColumnarBatch> files = scan.getScanFiles(engine);
    return new Iterator<>() {
      private CloseableIterator<io.delta.kernel.data.Row> scanFiles;
      private CloseableIterator<FilteredColumnarBatch> data;

      @Override
      public boolean hasNext() {
        try {
          while (data == null || !data.hasNext()) {
            close(data);
            data = null;
            while (scanFiles == null || !scanFiles.hasNext()) {
              close(scanFiles);
              scanFiles = null;
              if (!files.hasNext()) {
                files.close();
                return false;
              }
              scanFiles = files.next().getRows();
            }
            io.delta.kernel.data.Row scanFile = scanFiles.next();
            data = Scan.transformPhysicalData(engine, state, scanFile, engine.getParquetHandler().readParquetFiles(
                LogTable.single(InternalScanFileUtils.getAddFileStatus(scanFile)), physical, Optional.empty()));
          }
          return true;
        } catch (IOException e) {
          throw new UncheckedIOException("Cannot read shards " + shards + " of the store at " + path, e);
        }
      }

      @Override
      public FilteredColumnarBatch next() {
        if (!hasNext()) {
          throw new java.util.NoSuchElementException();
        }
        return data.next();
      }

      private void close(java.io.Closeable c) throws IOException {
        if (c != null) {
          c.close();
        }
      }
    };
  }

  /** A batch's rows that no deletion vector hides, as training rows; {@code columns} are numeric, categorical, label. */
  private void add(FilteredColumnarBatch filtered, List<String> columns, int shard, List<Row> out) {
    ColumnarBatch batch = filtered.getData();
    Optional<ColumnVector> selected = filtered.getSelectionVector();
    StructType schema = batch.getSchema();
    int width = columns.size();
    ColumnVector[] vectors = new ColumnVector[width];
    for (int c = 0; c < width; c++) {
      vectors[c] = batch.getColumnVector(schema.indexOf(columns.get(c)));
    }
    ColumnVector ids = excludeColumn == null ? null : batch.getColumnVector(schema.indexOf(excludeColumn));
    for (int r = 0; r < batch.getSize(); r++) {
      if (hidden(selected, r)) {
        continue;
      }
      if (ids != null && excluded.contains(asString(ids, r))) {
        continue; // a row the pending delete removes
      }
      Object[] values = new Object[width + 1];
      int c = 0;
      for (; c < numeric.size(); c++) {
        values[c] = asDouble(vectors[c], r);
      }
      for (; c < numeric.size() + categorical.size(); c++) {
        values[c] = asString(vectors[c], r);
      }
      values[c] = regression ? asDouble(vectors[c], r) : classIndex(asString(vectors[c], r));
      values[width] = shard;
      out.add(RowFactory.create(values));
    }
  }

  /** Whether a batch's row is behind a deletion vector (unselected). */
  static boolean hidden(Optional<ColumnVector> selected, int row) {
    return selected.isPresent() && (selected.get().isNullAt(row) || !selected.get().getBoolean(row));
  }

  private Double classIndex(String value) {
    int i = value == null ? -1 : classes.indexOf(value);
    return i < 0 ? null : (double) i;
  }

  /** A numeric value as Spark's cast to double gives it. */
  private static Double asDouble(ColumnVector v, int r) {
    if (v.isNullAt(r)) {
      return null;
    }
    DataType t = v.getDataType();
    if (t instanceof DoubleType) {
      return v.getDouble(r);
    }
    if (t instanceof FloatType) {
      return (double) v.getFloat(r);
    }
    if (t instanceof LongType) {
      return (double) v.getLong(r);
    }
    if (t instanceof IntegerType) {
      return (double) v.getInt(r);
    }
    if (t instanceof ShortType) {
      return (double) v.getShort(r);
    }
    if (t instanceof ByteType) {
      return (double) v.getByte(r);
    }
    if (t instanceof DecimalType) {
      return v.getDecimal(r).doubleValue();
    }
    throw new LetheException("A numeric feature has type " + t + ", which the shard reader does not convert");
  }

  /** A string, boolean or whole number as Spark's cast to string gives it. */
  static String asString(ColumnVector v, int r) {
    if (v.isNullAt(r)) {
      return null;
    }
    DataType t = v.getDataType();
    if (t instanceof StringType) {
      return v.getString(r);
    }
    if (t instanceof BooleanType) {
      return Boolean.toString(v.getBoolean(r));
    }
    if (t instanceof LongType) {
      return Long.toString(v.getLong(r));
    }
    if (t instanceof IntegerType) {
      return Integer.toString(v.getInt(r));
    }
    if (t instanceof ShortType) {
      return Short.toString(v.getShort(r));
    }
    if (t instanceof ByteType) {
      return Byte.toString(v.getByte(r));
    }
    throw new LetheException("A categorical column has type " + t + ", which the shard reader does not convert");
  }
}
