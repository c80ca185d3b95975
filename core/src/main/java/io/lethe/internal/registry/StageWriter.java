package io.lethe.internal.registry;

import static io.lethe.internal.registry.ModelForm.StageData.field;
import static io.lethe.internal.registry.ModelForm.StageData.schema;

import io.lethe.internal.registry.ModelForm.StageData;
import io.lethe.internal.run.HadoopFiles;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.hadoop.ParquetFileWriter;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.api.WriteSupport;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.hadoop.util.HadoopOutputFile;
import org.apache.parquet.io.OutputFile;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.feature.ImputerModel;
import org.apache.spark.ml.feature.OneHotEncoderModel;
import org.apache.spark.ml.feature.StandardScalerModel;
import org.apache.spark.ml.feature.StringIndexerModel;
import org.apache.spark.ml.feature.VectorAssembler;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.util.DefaultParamsWriter$;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.CatalystTypeConverters$;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.execution.datasources.parquet.ParquetWriteSupport;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import scala.Option;

/**
 * Writes a fitted stage in spark.ml's own layout from the driver, with no Spark job: its
 * metadata JSON as the one text file spark.ml writes, and its data as the one-row Parquet file
 * spark.ml writes, through Spark's own Parquet write support (so the file's footer carries
 * Spark's schema and vectors and matrices read back as such). The stages the shards' pipelines
 * are built of; any other stage is left to its own writer.
 */
final class StageWriter {
  private StageWriter() {}

  /**
   * Writes the stage at {@code path} and returns true, or returns false, writing nothing, for a
   * stage this writer does not know (its own MLWriter must save it).
   */
  static boolean write(SparkSession spark, HadoopFiles files, Transformer stage, Path path) throws IOException {
    if (TreeStageWriter.write(spark, files, stage, path)) {
      return true;
    }
    StageData data = data(stage);
    if (data == null && !(stage instanceof VectorAssembler)) {
      return false;
    }
    if (data != null) {
      writeParquet(spark, data, partFile(new Path(path, "data")));
    }
    writeMetadata(files, path, DefaultParamsWriter$.MODULE$.getMetadataToSave(stage, spark, Option.empty(),
        Option.empty()));
    return true;
  }

  /**
   * Writes a stage's metadata JSON in place, with no temporary file: no reader trusts the
   * sub-model's directory before the pipeline's own metadata, which is written last.
   */
  static void writeMetadata(HadoopFiles files, Path stage, String metadata) throws IOException {
    Path file = PipelineWriter.metadataFile(stage);
    try (OutputStream out = files.fs(file).create(file, false)) {
      out.write(metadata.getBytes(StandardCharsets.UTF_8));
    }
  }

  private static StageData data(Transformer stage) {
    // An estimator's model, in the form its entry declares; the feature stages are Lethe's own.
    ModelForm form = ModelForm.of(stage);
    if (form != null) {
      return form.data(stage);
    }
    if (stage instanceof StandardScalerModel m) {
      return new StageData(schema(field("std", SQLDataTypes.VectorType(), true),
          field("mean", SQLDataTypes.VectorType(), true)), RowFactory.create(m.std(), m.mean()));
    }
    if (stage instanceof StringIndexerModel m) {
      return new StageData(schema(field("labelsArray",
          DataTypes.createArrayType(DataTypes.createArrayType(DataTypes.StringType, true), true), true)),
          RowFactory.create((Object) m.labelsArray()));
    }
    if (stage instanceof OneHotEncoderModel m) {
      return new StageData(schema(field("categorySizes", DataTypes.createArrayType(DataTypes.IntegerType, false), true)),
          RowFactory.create((Object) m.categorySizes()));
    }
    if (stage instanceof ImputerModel m) {
      // The surrogates: one column per input column, one row. From the model's own arrays, not by
      // collecting its surrogate DataFrame: that is a query (no job, but planned and run as one),
      // about 40% of the time of saving sub-models eight at a time.
      return new StageData(m.surrogateDF().schema(), RowFactory.create(
          java.util.Arrays.stream(m.surrogates()).boxed().toArray()));
    }
    return null;
  }


  /** The session settings Spark's Parquet writer hands its write support, which reads them from the Hadoop conf. */
  private static final List<String> PARQUET_WRITE_SETTINGS = List.of("spark.sql.parquet.writeLegacyFormat",
      "spark.sql.parquet.outputTimestampType", "spark.sql.parquet.fieldId.write.enabled",
      "spark.sql.parquet.variant.annotateLogicalType.enabled");

  private static final int STAGE_PAGE_BYTES = 64 * 1024;

  private static void writeParquet(SparkSession spark, StageData data, Path file) throws IOException {
    writeParquet(spark, data.schema(), List.of(data.row()), file);
  }

  /** Writes the rows as one Parquet file of the schema, as Spark's Parquet writer writes them. */
  static void writeParquet(SparkSession spark, StructType schema, List<Row> rows, Path file) throws IOException {
    // The file is opened on the session's Hadoop configuration as it is; the writer's own settings
    // (the row schema, Spark's Parquet settings) go in a configuration of their own, with no
    // defaults loaded: a copy of the session's per file copied all of it, one thread at a time (a
    // copy locks its source).
    Configuration conf = new Configuration(false);
    conf.set(ParquetWriteSupport.SPARK_ROW_SCHEMA(), schema.json());
    PARQUET_WRITE_SETTINGS.forEach(key -> conf.set(key, spark.conf().get(key)));
    OutputFile out = HadoopOutputFile.fromPath(file, spark.sparkContext().hadoopConfiguration());
    scala.Function1<Object, Object> converter = CatalystTypeConverters$.MODULE$.createToCatalystConverter(schema);
    try (ParquetWriter<InternalRow> writer = new RowWriter(out).withConf(conf)
        .withCompressionCodec(CompressionCodecName.SNAPPY).withWriteMode(ParquetFileWriter.Mode.CREATE)
        // Pages of 64 KB, not 1 MB: the writer's compression buffer is a page, and most files hold one row.
        .withPageSize(STAGE_PAGE_BYTES).withDictionaryPageSize(STAGE_PAGE_BYTES).build()) {
      for (Row row : rows) {
        writer.write((InternalRow) converter.apply(row));
      }
    }
  }

  /** A data file's path inside a stage's folder, named as Spark names its part files. */
  static Path partFile(Path dir) {
    return new Path(dir, "part-00000-" + UUID.randomUUID() + "-c000.snappy.parquet");
  }

  private static final class RowWriter extends ParquetWriter.Builder<InternalRow, RowWriter> {
    RowWriter(OutputFile file) {
      super(file);
    }

    @Override
    protected RowWriter self() {
      return this;
    }

    @Override
    protected WriteSupport<InternalRow> getWriteSupport(Configuration conf) {
      return new ParquetWriteSupport();
    }
  }
}
