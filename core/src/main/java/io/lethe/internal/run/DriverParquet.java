package io.lethe.internal.run;

import io.delta.kernel.data.ColumnarBatch;
import io.delta.kernel.data.FilteredColumnarBatch;
import io.delta.kernel.engine.Engine;
import io.delta.kernel.types.StructType;
import io.delta.kernel.utils.CloseableIterator;
import io.delta.kernel.utils.FileStatus;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.expressions.GenericRowWithSchema;

/**
 * Parquet files read and written in the driver with Delta Kernel's Parquet handler (no Spark
 * job), as Spark rows of one of Lethe's own schemas ({@link KernelRows} says which types cross).
 */
public final class DriverParquet {
  /** Values past which {@link #readMatching} does not hand its test to the reader (a deep chain of ORs). */
  private static final int MAX_PUSHED_VALUES = 256;
  private final Engine engine;

  public DriverParquet(Configuration hadoop) {
    this(KernelEngine.create(hadoop));
  }

  /** Writing Parquet row groups of about {@code rowGroupBytes} (Parquet's {@code parquet.block.size}). */
  public DriverParquet(Configuration hadoop, long rowGroupBytes) {
    this(KernelEngine.create(withRowGroups(hadoop, rowGroupBytes)));
  }

  private static Configuration withRowGroups(Configuration hadoop, long rowGroupBytes) {
    Configuration conf = new Configuration(hadoop);
    conf.setLong("parquet.block.size", rowGroupBytes);
    return conf;
  }

  DriverParquet(Engine engine) {
    this.engine = engine;
  }

  /**
   * Writes the rows as one Parquet file that readers see whole or not at all (Kernel's atomic
   * write, as for a Delta checkpoint); fails when the file exists.
   */
  public void write(String file, List<Row> rows, org.apache.spark.sql.types.StructType schema) {
    StructType kernel = KernelRows.kernelSchema(schema);
    try {
      engine.getParquetHandler().writeParquetFileAtomically(file, LogTable.single(
          new FilteredColumnarBatch(KernelRows.batch(rows, schema, kernel), Optional.empty())));
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot write " + file, e);
    }
  }

  /** Every row of a Parquet file, as rows of {@code schema} (its columns read by name). */
  public List<Row> read(FileStatus file, org.apache.spark.sql.types.StructType schema) {
    return read(file, KernelRows.kernelSchema(schema), schema, null, null);
  }

  /**
   * The rows of a Parquet file whose string column {@code column} passes {@code keep}: only the
   * rows kept are built, so a file is searched at the cost of reading its columns.
   */
  public List<Row> read(FileStatus file, org.apache.spark.sql.types.StructType schema, String column,
      Predicate<String> keep) {
    return read(file, KernelRows.kernelSchema(schema), schema, column, keep, Optional.empty());
  }

  /**
   * The rows of a Parquet file whose string column {@code column} holds one of {@code values}. The
   * test goes to the Parquet reader too, which skips every row group whose statistics (the column's
   * least and greatest value) rule all of them out: a file sorted by the column, in small row
   * groups, is searched by reading its footer and the groups that may hold the values.
   */
  public List<Row> readMatching(FileStatus file, org.apache.spark.sql.types.StructType schema, String column,
      java.util.Set<String> values) {
    io.delta.kernel.expressions.Predicate any = null;
    if (values.size() <= MAX_PUSHED_VALUES) {
      for (String v : values) {
        io.delta.kernel.expressions.Predicate one = new io.delta.kernel.expressions.Predicate("=",
            new io.delta.kernel.expressions.Column(column), io.delta.kernel.expressions.Literal.ofString(v));
        any = any == null ? one : new io.delta.kernel.expressions.Or(any, one);
      }
    }
    return read(file, KernelRows.kernelSchema(schema), schema, column, values::contains, Optional.ofNullable(any));
  }

  List<Row> read(FileStatus file, StructType read, org.apache.spark.sql.types.StructType schema, String column,
      Predicate<String> keep) {
    return read(file, read, schema, column, keep, Optional.empty());
  }

  private List<Row> read(FileStatus file, StructType read, org.apache.spark.sql.types.StructType schema, String column,
      Predicate<String> keep, Optional<io.delta.kernel.expressions.Predicate> pushed) {
    int tested = column == null ? -1 : read.indexOf(column);
    List<Row> rows = new ArrayList<>();
    try (CloseableIterator<ColumnarBatch> batches = engine.getParquetHandler().readParquetFiles(
        LogTable.single(file), read, pushed)) {
      while (batches.hasNext()) {
        ColumnarBatch batch = batches.next();
        for (int r = 0; r < batch.getSize(); r++) {
          if (tested >= 0) {
            var v = batch.getColumnVector(tested);
            if (v.isNullAt(r) || !keep.test(v.getString(r))) {
              continue;
            }
          }
          Object[] values = new Object[read.length()];
          for (int c = 0; c < values.length; c++) {
            values[c] = KernelRows.value(batch.getColumnVector(c), r);
          }
          rows.add(new GenericRowWithSchema(values, schema));
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read " + file.getPath(), e);
    }
    return rows;
  }
}
