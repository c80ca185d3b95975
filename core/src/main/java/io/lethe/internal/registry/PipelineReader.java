package io.lethe.internal.registry;

import com.fasterxml.jackson.databind.JsonNode;
import io.lethe.internal.run.HadoopFiles;
import io.lethe.internal.run.Json;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.HadoopReadOptions;
import org.apache.parquet.column.page.PageReadStore;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.example.data.simple.convert.GroupRecordConverter;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.util.HadoopInputFile;
import org.apache.parquet.io.ColumnIOFactory;
import org.apache.parquet.io.RecordReader;
import org.apache.parquet.schema.MessageType;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.classification.LinearSVCModel;
import org.apache.spark.ml.classification.LogisticRegressionModel;
import org.apache.spark.ml.classification.NaiveBayesModel;
import org.apache.spark.ml.feature.ImputerModel;
import org.apache.spark.ml.feature.OneHotEncoderModel;
import org.apache.spark.ml.feature.StandardScalerModel;
import org.apache.spark.ml.feature.StringIndexerModel;
import org.apache.spark.ml.feature.VectorAssembler;
import org.apache.spark.ml.linalg.Matrix;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.regression.LinearRegressionModel;
import org.apache.spark.ml.util.DefaultParamsReader$;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.GenericInternalRow;
import org.apache.spark.sql.catalyst.util.ArrayData;
import org.apache.spark.sql.catalyst.util.GenericArrayData;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.BooleanType;
import org.apache.spark.sql.types.ByteType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DoubleType;
import org.apache.spark.sql.types.IntegerType;
import org.apache.spark.sql.types.LongType;
import org.apache.spark.sql.types.StringType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.types.UserDefinedType;
import org.apache.spark.unsafe.types.UTF8String;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Option;

/**
 * Loads a PipelineModel saved in spark.ml's own layout on the driver, with no Spark job, when
 * every stage is one {@link StageWriter} writes: its metadata JSON read as a file and applied
 * with spark.ml's own metadata reader, its one-row Parquet data read with Parquet's record
 * reader, and the model built with the constructor spark.ml's reader calls. A sub-model with any
 * other stage, or data in another shape (an older spark.ml's layout), is loaded by
 * {@link PipelineModel#load}, which runs a few small Spark jobs per stage.
 */
public final class PipelineReader {
  private static final Logger LOG = LoggerFactory.getLogger(PipelineReader.class);

  private PipelineReader() {}

  /** Spark's key, in a Parquet file's footer, for the Spark schema of the rows. */
  private static final String SPARK_SCHEMA_KEY = "org.apache.spark.sql.parquet.row.metadata";

  /** A stage or a layout this reader does not know: PipelineModel.load takes over. */
  static final class Unknown extends Exception {
    Unknown(String what) {
      super(what, null, false, false);
    }
  }

  public static PipelineModel load(HadoopFiles files, Path dir) {
    try {
      return read(files, dir);
    } catch (Unknown | IOException | RuntimeException notOurs) {
      LOG.debug("Sub-model {} is read by PipelineModel.load: {}", dir, notOurs.getMessage());
      return PipelineModel.load(dir.toString());
    }
  }

  private static PipelineModel read(HadoopFiles files, Path dir) throws Unknown, IOException {
    String pipelineJson = metadata(files, dir);
    DefaultParamsReader.Metadata pipeline = parse(pipelineJson, PipelineModel.class.getName());
    JsonNode uids = Json.read(pipelineJson, JsonNode.class, "pipeline metadata").path("paramMap").path("stageUids");
    if (!uids.isArray()) {
      throw new Unknown("no stage uids");
    }
    String stagesDir = new Path(dir, "stages").toString();
    Transformer[] stages = new Transformer[uids.size()];
    for (int i = 0; i < stages.length; i++) {
      String path = Pipeline.SharedReadWrite$.MODULE$.getStagePath(uids.get(i).asText(), i, stages.length, stagesDir);
      stages[i] = stage(files, new Path(path));
    }
    // A pipeline's only parameter is its stages' uids, which built it.
    return new PipelineModel(pipeline.uid(), stages);
  }

  private static String metadata(HadoopFiles files, Path dir) throws Unknown {
    Path file = PipelineWriter.metadataFile(dir);
    if (!files.exists(file)) {
      throw new Unknown("no metadata file");
    }
    return files.readString(file);
  }

  static DefaultParamsReader.Metadata parse(String json, String className) {
    return DefaultParamsReader$.MODULE$.parseMetadata(json, className);
  }

  private static Transformer stage(HadoopFiles files, Path path) throws Unknown, IOException {
    String json = metadata(files, path);
    DefaultParamsReader.Metadata md = parse(json, "");
    String uid = md.uid();
    Transformer stage = switch (md.className()) {
      case "org.apache.spark.ml.feature.VectorAssembler" -> new VectorAssembler(uid);
      case "org.apache.spark.ml.classification.LogisticRegressionModel" -> {
        Data d = data(files, path);
        yield new LogisticRegressionModel(uid, d.matrix("coefficientMatrix"), d.vector("interceptVector"),
            d.integer("numClasses"), d.bool("isMultinomial"));
      }
      case "org.apache.spark.ml.classification.LinearSVCModel" -> {
        Data d = data(files, path);
        yield new LinearSVCModel(uid, d.vector("coefficients"), d.real("intercept"));
      }
      case "org.apache.spark.ml.classification.NaiveBayesModel" -> {
        Data d = data(files, path);
        yield new NaiveBayesModel(uid, d.vector("pi"), d.matrix("theta"), d.matrix("sigma"));
      }
      case "org.apache.spark.ml.regression.LinearRegressionModel" -> {
        Data d = data(files, path);
        yield new LinearRegressionModel(uid, d.vector("coefficients"), d.real("intercept"), d.real("scale"));
      }
      case "org.apache.spark.ml.feature.StandardScalerModel" -> {
        Data d = data(files, path);
        yield new StandardScalerModel(uid, d.vector("std"), d.vector("mean"));
      }
      case "org.apache.spark.ml.feature.StringIndexerModel" -> {
        ArrayData outer = data(files, path).array("labelsArray");
        String[][] labels = new String[outer.numElements()][];
        for (int i = 0; i < labels.length; i++) {
          ArrayData inner = outer.getArray(i);
          labels[i] = new String[inner.numElements()];
          for (int j = 0; j < labels[i].length; j++) {
            labels[i][j] = inner.getUTF8String(j).toString();
          }
        }
        yield new StringIndexerModel(uid, labels);
      }
      case "org.apache.spark.ml.feature.OneHotEncoderModel" ->
          new OneHotEncoderModel(uid, data(files, path).array("categorySizes").toIntArray());
      case "org.apache.spark.ml.feature.ImputerModel" -> {
        // The surrogates: one double column per input column, in one row.
        Data d = data(files, path);
        String[] columns = d.schema().fieldNames();
        double[] surrogates = new double[columns.length];
        for (int i = 0; i < columns.length; i++) {
          surrogates[i] = d.real(columns[i]);
        }
        yield new ImputerModel(uid, columns, surrogates);
      }
      default -> {
        Transformer tree = TreeStageReader.read(md, json, files, path);
        if (tree == null) {
          throw new Unknown(md.className());
        }
        yield tree;
      }
    };
    md.getAndSetParams(stage, Option.empty());
    return stage;
  }

  /** A stage's one row of data, as Spark's Parquet reader would give it (UDT values still serialized). */
  private record Data(StructType schema, InternalRow row) {
    private int index(String name) throws Unknown {
      if (!List.of(schema.fieldNames()).contains(name)) {
        throw new Unknown("no field " + name);
      }
      int i = schema.fieldIndex(name);
      if (row.isNullAt(i)) {
        throw new Unknown("null " + name);
      }
      return i;
    }

    int integer(String name) throws Unknown {
      return row.getInt(index(name));
    }

    double real(String name) throws Unknown {
      return row.getDouble(index(name));
    }

    boolean bool(String name) throws Unknown {
      return row.getBoolean(index(name));
    }

    ArrayData array(String name) throws Unknown {
      return row.getArray(index(name));
    }

    private Object udt(String name) throws Unknown {
      int i = index(name);
      if (!(schema.fields()[i].dataType() instanceof UserDefinedType<?> udt)) {
        throw new Unknown(name + " is no vector or matrix");
      }
      return udt.deserialize(row.getStruct(i, ((StructType) udt.sqlType()).size()));
    }

    Vector vector(String name) throws Unknown {
      if (udt(name) instanceof Vector v) {
        return v;
      }
      throw new Unknown(name + " is no vector");
    }

    Matrix matrix(String name) throws Unknown {
      if (udt(name) instanceof Matrix m) {
        return m;
      }
      throw new Unknown(name + " is no matrix");
    }
  }

  /** The one row of the stage's one Parquet data file, with the Spark schema in its footer. */
  private static Data data(HadoopFiles files, Path stage) throws Unknown, IOException {
    Rows rows = rows(files, new Path(stage, "data"));
    if (rows.rows().size() != 1) {
      throw new Unknown("not one row");
    }
    return new Data(rows.schema(), rows.rows().get(0));
  }

  /** Rows of a folder's Parquet files, all written by Spark with one schema, in Spark's internal form. */
  record Rows(StructType schema, List<InternalRow> rows) {}

  /** Every row of the Parquet files in {@code dir}, which Spark wrote (its schema is in their footers). */
  static Rows rows(HadoopFiles files, Path dir) throws Unknown, IOException {
    List<Path> parquet = new ArrayList<>();
    for (FileStatus st : files.list(dir)) {
      if (st.isFile() && st.getPath().getName().endsWith(".parquet")) {
        parquet.add(st.getPath());
      }
    }
    if (parquet.isEmpty()) {
      throw new Unknown("no data files");
    }
    Configuration conf = files.fs(dir).getConf();
    StructType schema = null;
    List<InternalRow> out = new ArrayList<>();
    for (Path file : parquet) {
      // The options from the file system's configuration: without them Parquet builds a new Hadoop
      // Configuration for each file, which parses Hadoop's defaults again (about 2 ms a file).
      try (ParquetFileReader reader = ParquetFileReader.open(HadoopInputFile.fromPath(file, conf),
          HadoopReadOptions.builder(conf).build())) {
        String sparkSchema = reader.getFooter().getFileMetaData().getKeyValueMetaData().get(SPARK_SCHEMA_KEY);
        if (sparkSchema == null) {
          throw new Unknown("not written by Spark");
        }
        StructType fileRows = (StructType) DataType.fromJson(sparkSchema);
        if (schema != null && !schema.equals(fileRows)) {
          throw new Unknown("data files of two schemas");
        }
        schema = fileRows;
        MessageType fileSchema = reader.getFooter().getFileMetaData().getSchema();
        PageReadStore pages;
        while ((pages = reader.readNextRowGroup()) != null) {
          RecordReader<Group> records = new ColumnIOFactory().getColumnIO(fileSchema)
              .getRecordReader(pages, new GroupRecordConverter(fileSchema));
          for (long i = 0; i < pages.getRowCount(); i++) {
            out.add(struct(records.read(), schema));
          }
        }
      }
    }
    return new Rows(schema, out);
  }

  static InternalRow struct(Group group, StructType type) throws Unknown {
    StructField[] fields = type.fields();
    Object[] values = new Object[fields.length];
    for (int i = 0; i < fields.length; i++) {
      int at = group.getType().getFieldIndex(fields[i].name());
      values[i] = group.getFieldRepetitionCount(at) == 0 ? null : value(group, at, fields[i].dataType());
    }
    return new GenericInternalRow(values);
  }

  /** A field's value in Spark's internal form; arrays as Parquet's standard three-level lists. */
  private static Object value(Group group, int at, DataType type) throws Unknown {
    if (type instanceof UserDefinedType<?> udt) {
      return value(group, at, udt.sqlType());
    }
    if (type instanceof StructType struct) {
      return struct(group.getGroup(at, 0), struct);
    }
    if (type instanceof ArrayType array) {
      Group list = group.getGroup(at, 0);
      int n = list.getFieldRepetitionCount(0);
      Object[] elements = new Object[n];
      for (int i = 0; i < n; i++) {
        Group element = list.getGroup(0, i);
        elements[i] = element.getFieldRepetitionCount(0) == 0 ? null : value(element, 0, array.elementType());
      }
      return new GenericArrayData(elements);
    }
    if (type instanceof IntegerType) {
      return group.getInteger(at, 0);
    }
    if (type instanceof ByteType) {
      return (byte) group.getInteger(at, 0);
    }
    if (type instanceof LongType) {
      return group.getLong(at, 0);
    }
    if (type instanceof DoubleType) {
      return group.getDouble(at, 0);
    }
    if (type instanceof BooleanType) {
      return group.getBoolean(at, 0);
    }
    if (type instanceof StringType) {
      return UTF8String.fromString(group.getString(at, 0));
    }
    throw new Unknown("type " + type.simpleString());
  }
}
