package io.lethe.pipelines;

import static org.apache.spark.sql.functions.abs;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.log1p;
import static org.apache.spark.sql.functions.signum;

import java.util.Arrays;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.StringArrayParam;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * A user's own feature stage, as a team would write one: the signed log of capital gain minus
 * capital loss. A plain spark.ml Transformer, saved and loaded with spark.ml's default params
 * writer and reader; Lethe knows nothing of it.
 */
public final class NetCapital extends Transformer implements DefaultParamsWritable {
  private final String uid;
  private final StringArrayParam inputCols;
  private final Param<String> outputCol;

  public NetCapital(String uid) {
    this.uid = uid;
    this.inputCols = new StringArrayParam(this, "inputCols", "the gain and the loss column");
    this.outputCol = new Param<>(this, "outputCol", "output column name");
  }

  public NetCapital() {
    this(Identifiable.randomUID("netCapital"));
  }

  @Override
  public String uid() {
    return uid;
  }

  public StringArrayParam inputCols() {
    return inputCols;
  }

  public Param<String> outputCol() {
    return outputCol;
  }

  public NetCapital setInputCols(String gain, String loss) {
    set(inputCols, new String[] {gain, loss});
    return this;
  }

  public NetCapital setOutputCol(String value) {
    set(outputCol, value);
    return this;
  }

  @Override
  public Dataset<Row> transform(Dataset<?> dataset) {
    transformSchema(dataset.schema());
    String[] in = $(inputCols);
    Column net = col(in[0]).cast("double").minus(col(in[1]).cast("double"));
    return dataset.withColumn($(outputCol), signum(net).multiply(log1p(abs(net))));
  }

  @Override
  public StructType transformSchema(StructType schema) {
    for (String in : $(inputCols)) {
      if (!Arrays.asList(schema.fieldNames()).contains(in)) {
        throw new IllegalArgumentException("NetCapital needs column " + in);
      }
    }
    return schema.add($(outputCol), DataTypes.DoubleType, true);
  }

  @Override
  public Transformer copy(ParamMap extra) {
    return defaultCopy(extra);
  }

  public static MLReader<NetCapital> read() {
    return new DefaultParamsReader<>();
  }

  public static NetCapital load(String path) {
    return read().load(path);
  }
}
