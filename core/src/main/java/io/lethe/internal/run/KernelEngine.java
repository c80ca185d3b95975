package io.lethe.internal.run;

import io.delta.kernel.data.ColumnarBatch;
import io.delta.kernel.data.FilteredColumnarBatch;
import io.delta.kernel.defaults.engine.DefaultEngine;
import io.delta.kernel.defaults.internal.parquet.ParquetFileReader.BatchReadSupport;
import io.delta.kernel.defaults.internal.parquet.ParquetFilterUtils;
import io.delta.kernel.engine.Engine;
import io.delta.kernel.engine.ExpressionHandler;
import io.delta.kernel.engine.FileSystemClient;
import io.delta.kernel.engine.JsonHandler;
import io.delta.kernel.engine.MetricsReporter;
import io.delta.kernel.engine.ParquetHandler;
import io.delta.kernel.expressions.Column;
import io.delta.kernel.expressions.Predicate;
import io.delta.kernel.types.StructField;
import io.delta.kernel.types.StructType;
import io.delta.kernel.utils.CloseableIterator;
import io.delta.kernel.utils.DataFileStatus;
import io.delta.kernel.utils.FileStatus;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Optional;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.filter2.compat.FilterCompat;
import org.apache.parquet.filter2.predicate.FilterPredicate;
import org.apache.parquet.format.converter.ParquetMetadataConverter;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.ParquetReader;
import org.apache.parquet.hadoop.api.ReadSupport;
import org.apache.parquet.hadoop.util.HadoopInputFile;

/**
 * Delta Kernel's default engine, with Parquet files read on the Hadoop configuration it was
 * given. Kernel's own reader hands Parquet a file of its own kind, for which Parquet builds a new
 * Hadoop configuration with the default resources twice per file read, and each one parses every
 * registered {@code *-default.xml} again: about 10 ms a time in a Spark JVM, a fifth of a
 * shard's read and fit in a task. Here the file goes to Parquet as a Hadoop file of this
 * configuration. A predicate is pushed down as Kernel pushes it (the row groups its statistics
 * rule out are skipped, read from the footer); without one the footer is not read twice. Writes
 * stay Kernel's own.
 */
public final class KernelEngine implements Engine {
  /** Kernel's own setting for the rows per batch a Parquet read returns, and its default. */
  private static final String BATCH_SIZE = "delta.kernel.default.parquet.reader.batch-size";
  private static final int DEFAULT_BATCH_SIZE = 1024;

  private final Engine kernel;
  private final Reads parquet;

  private KernelEngine(Configuration hadoop) {
    this.kernel = DefaultEngine.create(hadoop);
    this.parquet = new Reads(hadoop, kernel.getParquetHandler(), hadoop.getInt(BATCH_SIZE, DEFAULT_BATCH_SIZE));
  }

  public static Engine create(Configuration hadoop) {
    return new KernelEngine(hadoop);
  }

  @Override
  public ExpressionHandler getExpressionHandler() {
    return kernel.getExpressionHandler();
  }

  @Override
  public JsonHandler getJsonHandler() {
    return kernel.getJsonHandler();
  }

  @Override
  public FileSystemClient getFileSystemClient() {
    return kernel.getFileSystemClient();
  }

  @Override
  public ParquetHandler getParquetHandler() {
    return parquet;
  }

  @Override
  public List<MetricsReporter> getMetricsReporters() {
    return kernel.getMetricsReporters();
  }

  /** Parquet reads on one Hadoop configuration; the rest goes to Kernel's handler. */
  private record Reads(Configuration hadoop, ParquetHandler kernel, int batchSize) implements ParquetHandler {
    @Override
    public CloseableIterator<ColumnarBatch> readParquetFiles(CloseableIterator<FileStatus> files, StructType schema,
        Optional<Predicate> predicate) throws IOException {
      return new CloseableIterator<>() {
        private FileBatches current;

        @Override
        public boolean hasNext() {
          try {
            while (current == null || !current.hasNext()) {
              if (current != null) {
                current.close();
                current = null;
              }
              if (!files.hasNext()) {
                return false;
              }
              current = new FileBatches(files.next(), schema, predicate, hadoop, batchSize);
            }
            return true;
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        }

        @Override
        public ColumnarBatch next() {
          if (!hasNext()) {
            throw new NoSuchElementException();
          }
          return current.next();
        }

        @Override
        public void close() throws IOException {
          try (files) {
            if (current != null) {
              current.close();
            }
          }
        }
      };
    }

    @Override
    public CloseableIterator<DataFileStatus> writeParquetFiles(String directory,
        CloseableIterator<FilteredColumnarBatch> data, List<Column> statsColumns) throws IOException {
      return kernel.writeParquetFiles(directory, data, statsColumns);
    }

    @Override
    public void writeParquetFileAtomically(String file, CloseableIterator<FilteredColumnarBatch> data)
        throws IOException {
      kernel.writeParquetFileAtomically(file, data);
    }
  }

  /**
   * One Parquet file as Kernel's columnar batches of up to {@code batchSize} rows, through
   * Kernel's own record materializer (the read schema's columns by name or field id, its row
   * index column when the schema asks for one).
   */
  private static final class FileBatches implements CloseableIterator<ColumnarBatch> {
    private final BatchReadSupport rows;
    private final ParquetReader<Object> reader;
    private final boolean rowIndex;
    private final int batchSize;
    /** Whether the reader has read a row that no batch holds yet. */
    private boolean pending;

    FileBatches(FileStatus file, StructType schema, Optional<Predicate> predicate, Configuration hadoop,
        int batchSize) throws IOException {
      this.batchSize = batchSize;
      this.rows = new BatchReadSupport(batchSize, schema);
      int at = schema.indexOf(StructField.METADATA_ROW_INDEX_COLUMN_NAME);
      this.rowIndex = at >= 0 && schema.at(at).isMetadataColumn();
      Path path = new Path(file.getPath());
      HadoopInputFile input = HadoopInputFile.fromStatus(
          new org.apache.hadoop.fs.FileStatus(file.getSize(), false, 1, 0, file.getModificationTime(), path), hadoop);
      // Kernel's own translation of its predicate to Parquet's, on the file's schema.
      Optional<FilterPredicate> rowGroups = predicate.isEmpty() ? Optional.empty()
          : ParquetFilterUtils.toParquetFilter(ParquetFileReader.readFooter(input, ParquetMetadataConverter.NO_FILTER)
              .getFileMetaData().getSchema(), predicate.get());
      BatchReadSupport support = rows;
      this.reader = new ParquetReader.Builder<Object>(input) {
        @Override
        protected ReadSupport<Object> getReadSupport() {
          return support;
        }
      }.withFilter(rowGroups.map(FilterCompat::get).orElse(FilterCompat.NOOP))
          // Row groups only: the caller tests the rows it is given.
          .useRecordFilter(false).useStatsFilter(rowGroups.isPresent()).useDictionaryFilter(false)
          .useBloomFilter(false).useColumnIndexFilter(false).build();
    }

    @Override
    public boolean hasNext() {
      if (!pending) {
        try {
          pending = reader.read() != null;
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }
      return pending;
    }

    @Override
    public ColumnarBatch next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      int size = 0;
      do {
        rows.finalizeCurrentRow(rowIndex ? reader.getCurrentRowIndex() : -1);
        pending = false;
        size++;
      } while (size < batchSize && hasNext());
      return rows.getDataAsColumnarBatch(size);
    }

    @Override
    public void close() throws IOException {
      reader.close();
    }
  }
}
