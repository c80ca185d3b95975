package io.lethe.internal.store;

import io.delta.kernel.data.ColumnVector;
import io.delta.kernel.data.ColumnarBatch;
import io.delta.kernel.types.BooleanType;
import io.delta.kernel.types.ByteType;
import io.delta.kernel.types.DecimalType;
import io.delta.kernel.types.DoubleType;
import io.delta.kernel.types.FloatType;
import io.delta.kernel.types.IntegerType;
import io.delta.kernel.types.LongType;
import io.delta.kernel.types.ShortType;
import io.delta.kernel.types.StringType;
import io.delta.kernel.types.StructField;
import io.lethe.internal.run.KernelEngine;
import io.lethe.types.StoreLayout;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.BiFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * A random sample of a store version's rows in some shards, read in the driver through Delta
 * Kernel (deletion vectors applied) and held as a local relation of the store's columns, the
 * shard left out: what an audit compares models on, with no Delta query planning of the version
 * and no Spark job. Used where the shards hold at most {@link ShardedStore#DRIVER_MATCH_ROWS} rows
 * by the log and every column is of a type it converts as Spark reads it (strings, booleans and
 * numbers); else the caller reads them with Spark.
 *
 * @param rows the sample, of at most the size asked for, in random order
 * @param count its rows
 */
public record StoreSample(Dataset<Row> rows, long count) {

  /**
   * At most {@code size} rows of the shards at the version, drawn with the seed (reservoir sampling
   * in the log's file order, then shuffled); with {@code ids}, only the rows whose {@code column} holds one of them
   * (compared as {@link ShardReader#counts} compares them: the rows the forget plan matched).
   * Empty when the sample cannot be read so (see the class).
   */
  public static Optional<StoreSample> read(ShardedStore store, long version, Collection<Integer> shards,
      String column, Collection<String> ids, int size, long seed) {
    return read(store, version, shards, column, ids, size, seed, false).map(both -> both.get(0));
  }

  /**
   * In one read of the shards at the version, the two samples of {@link #read}: of the rows whose
   * {@code column} holds one of the ids, and of the others. Each is the sample its own read with
   * the seed draws: the others are, row for row, the sample of the version a delete of those rows
   * commits next (the delete hides them, and the order of the rest is the same).
   */
  public static Optional<List<StoreSample>> readSplit(ShardedStore store, long version, Collection<Integer> shards,
      String column, Collection<String> ids, int size, long seed) {
    return read(store, version, shards, column, Objects.requireNonNull(ids), size, seed, true);
  }

  private static Optional<List<StoreSample>> read(ShardedStore store, long version, Collection<Integer> shards,
      String column, Collection<String> ids, int size, long seed, boolean others) {
    Map<Integer, Long> rows = store.rowsPerShardFromLog(version, shards);
    if (rows.size() != shards.size()
        || rows.values().stream().mapToLong(Long::longValue).sum() > ShardedStore.DRIVER_MATCH_ROWS) {
      return Optional.empty();
    }
    io.delta.kernel.engine.Engine engine = KernelEngine.create(store.spark().sparkContext().hadoopConfiguration());
    io.delta.kernel.types.StructType schema = io.delta.kernel.Table.forPath(engine, store.path())
        .getSnapshotAsOfVersion(engine, version).getSchema();
    List<String> names = new ArrayList<>();
    List<Conversion> conversions = new ArrayList<>();
    StructType sparkSchema = new StructType();
    for (StructField f : schema.fields()) {
      if (f.getName().equals(StoreLayout.SHARD_COLUMN)) {
        continue;
      }
      Conversion conversion = conversion(f.getDataType());
      if (conversion == null) {
        return Optional.empty();
      }
      names.add(f.getName());
      conversions.add(conversion);
      sparkSchema = sparkSchema.add(f.getName(), conversion.type(), true);
    }
    if (ids != null && !names.contains(column)) {
      return Optional.empty();
    }
    Set<String> wanted = ids == null ? null : new HashSet<>(ids);
    Reservoir matching = new Reservoir(size, seed);
    Reservoir rest = others ? new Reservoir(size, seed) : null;
    ShardReader reader = ShardReader.of(store, version, null).orElseThrow();
    for (var batches = reader.batches(List.copyOf(shards), names); batches.hasNext(); ) {
      var filtered = batches.next();
      ColumnarBatch batch = filtered.getData();
      ColumnVector[] vectors = new ColumnVector[names.size()];
      for (int c = 0; c < vectors.length; c++) {
        vectors[c] = batch.getColumnVector(batch.getSchema().indexOf(names.get(c)));
      }
      ColumnVector idVector = wanted == null ? null : vectors[names.indexOf(column)];
      for (int r = 0; r < batch.getSize(); r++) {
        if (ShardReader.hidden(filtered.getSelectionVector(), r)) {
          continue;
        }
        Reservoir into = idVector == null || wanted.contains(ShardReader.asString(idVector, r)) ? matching : rest;
        if (into != null) {
          into.offer(vectors, conversions, r);
        }
      }
    }
    List<StoreSample> out = new ArrayList<>();
    for (Reservoir reservoir : others ? List.of(matching, rest) : List.of(matching)) {
      List<Row> sample = reservoir.shuffled();
      out.add(new StoreSample(store.spark().createDataFrame(sample, sparkSchema), sample.size()));
    }
    return Optional.of(out);
  }

  /** A reservoir sample of the rows offered, drawn with its own random numbers. */
  private static final class Reservoir {
    private final int size;
    private final SplittableRandom random;
    private final List<Row> sample = new ArrayList<>();
    private long seen;

    Reservoir(int size, long seed) {
      this.size = size;
      this.random = new SplittableRandom(seed);
    }

    void offer(ColumnVector[] vectors, List<Conversion> conversions, int r) {
      seen++;
      long slot = seen <= size ? sample.size() : random.nextLong(seen);
      if (slot < size) {
        Row row = row(vectors, conversions, r);
        if (slot == sample.size()) {
          sample.add(row);
        } else {
          sample.set((int) slot, row);
        }
      }
    }

    /** The sample in random order too, so that its first rows are a random sample of their own (a limit). */
    List<Row> shuffled() {
      for (int i = sample.size() - 1; i > 0; i--) {
        sample.set(i, sample.set(random.nextInt(i + 1), sample.get(i)));
      }
      return sample;
    }
  }

  /** How a column Kernel reads is held as Spark holds it: Spark's type, and a value's getter. */
  private record Conversion(DataType type, BiFunction<ColumnVector, Integer, Object> value) {}

  /** The conversion of a column of this Kernel type; null for the types a sample does not convert. */
  private static Conversion conversion(io.delta.kernel.types.DataType t) {
    if (t instanceof StringType) {
      return new Conversion(DataTypes.StringType, ColumnVector::getString);
    } else if (t instanceof IntegerType) {
      return new Conversion(DataTypes.IntegerType, ColumnVector::getInt);
    } else if (t instanceof LongType) {
      return new Conversion(DataTypes.LongType, ColumnVector::getLong);
    } else if (t instanceof DoubleType) {
      return new Conversion(DataTypes.DoubleType, ColumnVector::getDouble);
    } else if (t instanceof FloatType) {
      return new Conversion(DataTypes.FloatType, ColumnVector::getFloat);
    } else if (t instanceof ShortType) {
      return new Conversion(DataTypes.ShortType, ColumnVector::getShort);
    } else if (t instanceof ByteType) {
      return new Conversion(DataTypes.ByteType, ColumnVector::getByte);
    } else if (t instanceof BooleanType) {
      return new Conversion(DataTypes.BooleanType, ColumnVector::getBoolean);
    } else if (t instanceof DecimalType d) {
      return new Conversion(DataTypes.createDecimalType(d.getPrecision(), d.getScale()), ColumnVector::getDecimal);
    }
    return null;
  }

  private static Row row(ColumnVector[] vectors, List<Conversion> conversions, int r) {
    Object[] values = new Object[vectors.length];
    for (int c = 0; c < vectors.length; c++) {
      values[c] = vectors[c].isNullAt(r) ? null : conversions.get(c).value().apply(vectors[c], r);
    }
    return RowFactory.create(values);
  }
}
