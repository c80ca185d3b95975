package io.lethe.internal.model;

import static org.apache.spark.sql.functions.array;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.udf;

import io.lethe.CorruptRegistryException;
import io.lethe.LetheException;
import io.lethe.internal.registry.ModelRegistry;
import io.lethe.internal.registry.PipelineReader;
import io.lethe.internal.registry.PipelineWriter;
import io.lethe.internal.run.HadoopFiles;
import io.lethe.internal.run.Json;
import io.lethe.types.EnsembleManifest;
import io.lethe.types.SubModelEntry;
import io.lethe.types.Task;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.hadoop.fs.Path;
import org.apache.spark.ml.Model;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.classification.ProbabilisticClassificationModel;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWriter;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWritable;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The aggregated model of SISA: one sub-model per shard, each trained on its shard alone, combined
 * by soft vote, hard vote or shard-size weights (mean for regression). A real spark.ml Model: it
 * saves, loads, transforms and can stand in a user's own Pipeline.
 *
 * <pre>{@code ShardEnsembleModel.load(path).transform(df)}</pre>
 *
 * <p>All sub-models run over the rows in one pass; for classification the output columns are
 * prediction (class index), probability and rawPrediction (the combined vote: equal to probability
 * for soft and weighted, vote counts for hard).
 */
public class ShardEnsembleModel extends Model<ShardEnsembleModel> implements MLWritable {
  private final String uid;
  private final EnsembleManifest manifest;
  private final List<PipelineModel> subModels;
  private final Param<String> predictionCol;
  private final Param<String> probabilityCol;
  private final Param<String> rawPredictionCol;
  private final Param<String> aggregation;
  private final BooleanParam fused;

  /** An ensemble of fitted sub-models, in the manifest's shard order. */
  public ShardEnsembleModel(String uid, EnsembleManifest manifest, List<PipelineModel> subModels) {
    if (manifest.shards().size() != subModels.size()) {
      throw new IllegalArgumentException("The manifest lists " + manifest.shards().size() + " sub-models but "
          + subModels.size() + " were given");
    }
    if (subModels.isEmpty()) {
      throw new LetheException("An ensemble needs at least one sub-model");
    }
    this.uid = uid;
    this.manifest = manifest;
    this.subModels = List.copyOf(subModels);
    this.predictionCol = new Param<>(this, "predictionCol", "prediction column name");
    this.probabilityCol = new Param<>(this, "probabilityCol", "column for the combined class probabilities");
    this.rawPredictionCol = new Param<>(this, "rawPredictionCol", "column for the combined votes");
    this.aggregation = new Param<>(this, "aggregation", "how sub-models are combined: soft, hard or weighted");
    setDefault(predictionCol, "prediction");
    setDefault(probabilityCol, "probability");
    setDefault(rawPredictionCol, "rawPrediction");
    this.fused = new BooleanParam(this, "fused", "score all sub-models in one function call per row (true) or run"
        + " each sub-model's pipeline stages (false); both give the same outputs");
    setDefault(aggregation, manifest.aggregation());
    setDefault(fused, (Object) Boolean.TRUE);
  }

  public ShardEnsembleModel(EnsembleManifest manifest, List<PipelineModel> subModels) {
    this(Identifiable.randomUID("shardEnsemble"), manifest, subModels);
  }

  @Override
  public String uid() {
    return uid;
  }

  public Param<String> predictionCol() {
    return predictionCol;
  }

  public Param<String> probabilityCol() {
    return probabilityCol;
  }

  public Param<String> rawPredictionCol() {
    return rawPredictionCol;
  }

  public Param<String> aggregation() {
    return aggregation;
  }

  public ShardEnsembleModel setPredictionCol(String value) {
    set(predictionCol, value);
    return this;
  }

  public ShardEnsembleModel setProbabilityCol(String value) {
    set(probabilityCol, value);
    return this;
  }

  public ShardEnsembleModel setRawPredictionCol(String value) {
    set(rawPredictionCol, value);
    return this;
  }

  public BooleanParam fused() {
    return fused;
  }

  /**
   * Whether to score every sub-model in one function call per row (the default; falls back to the
   * stages for pipelines it does not cover) or to run each sub-model's pipeline stages.
   */
  public ShardEnsembleModel setFused(boolean value) {
    set(fused, (Object) value);
    return this;
  }

  public ShardEnsembleModel setAggregation(String value) {
    set(aggregation, Aggregation.parse(value).id());
    return this;
  }

  public EnsembleManifest manifest() {
    return manifest;
  }

  public Task task() {
    return Task.parse(manifest.task());
  }

  public int numClasses() {
    return manifest.classes().size();
  }

  /** The sub-model of a shard (as fitted: its columns are named by {@link ShardColumns}). */
  public PipelineModel subModel(int shard) {
    for (int i = 0; i < subModels.size(); i++) {
      if (manifest.shards().get(i).shard() == shard) {
        return subModels.get(i);
      }
    }
    throw new LetheException("The ensemble has no sub-model for shard " + shard);
  }

  @Override
  public StructType transformSchema(StructType schema) {
    List<String> names = Arrays.asList(schema.fieldNames());
    List<String> outputs = task() == Task.CLASSIFICATION
        ? List.of(getOrDefault(predictionCol), getOrDefault(probabilityCol), getOrDefault(rawPredictionCol))
        : List.of(getOrDefault(predictionCol));
    for (String out : outputs) {
      if (names.contains(out)) {
        throw new IllegalArgumentException("Output column " + out + " already exists");
      }
    }
    StructType result = schema.add(getOrDefault(predictionCol), DataTypes.DoubleType, false);
    if (task() == Task.CLASSIFICATION) {
      result = result.add(getOrDefault(probabilityCol), SQLDataTypes.VectorType(), false)
          .add(getOrDefault(rawPredictionCol), SQLDataTypes.VectorType(), false);
    }
    return result;
  }

  @Override
  public Dataset<Row> transform(Dataset<?> dataset) {
    transformSchema(dataset.schema());
    boolean hard = Aggregation.parse(getOrDefault(aggregation)) == Aggregation.HARD;
    if ((Boolean) getOrDefault(fused)) {
      Optional<FusedScorer> scorer = FusedScorer.compile(subModels, dataset.schema(), weights(), hard, numClasses());
      if (scorer.isPresent()) {
        return transformFused(dataset.toDF(), scorer.get());
      }
    }
    Dataset<Row> df = dataset.toDF();
    List<Column> kept = new ArrayList<>();
    for (String c : df.columns()) {
      kept.add(ShardColumns.named(c));
    }
    for (int i = 0; i < subModels.size(); i++) {
      // Each sub-model's stages write their own columns (a user's pipeline names them alike in every
      // shard): keep only its outputs before the next one runs.
      int shard = manifest.shards().get(i).shard();
      Dataset<Row> scored = subModels.get(i).transform(df);
      for (String out : List.of(ShardColumns.prediction(shard), ShardColumns.probability(shard),
          ShardColumns.rawPrediction(shard))) {
        if (Arrays.asList(scored.columns()).contains(out)) {
          kept.add(col(out));
        }
      }
      df = scored.select(kept.toArray(new Column[0]));
    }
    double[] weights = weights();
    if (task() == Task.REGRESSION) {
      Column sum = lit(0.0);
      for (int i = 0; i < subModels.size(); i++) {
        sum = sum.plus(col(ShardColumns.prediction(manifest.shards().get(i).shard())).multiply(weights[i]));
      }
      df = df.withColumn(getOrDefault(predictionCol), sum);
    } else {
      UserDefinedFunction oneHot = udf(Votes.oneHot(numClasses()), SQLDataTypes.VectorType());
      List<Column> votes = new ArrayList<>();
      for (int i = 0; i < subModels.size(); i++) {
        int shard = manifest.shards().get(i).shard();
        boolean probabilistic = lastStage(subModels.get(i)) instanceof ProbabilisticClassificationModel;
        votes.add(hard || !probabilistic
            ? oneHot.apply(col(ShardColumns.prediction(shard)))
            : col(ShardColumns.probability(shard)));
      }
      df = withVote(df, udf(Votes.weightedSum(weights), SQLDataTypes.VectorType()).apply(array(votes.toArray(new Column[0]))));
    }
    String[] internal = Arrays.stream(df.columns()).filter(c -> c.startsWith(ShardColumns.PREFIX)).toArray(String[]::new);
    return df.drop(internal);
  }

  /** Every sub-model in one function call per row (see {@link FusedScorer}). */
  private Dataset<Row> transformFused(Dataset<Row> df, FusedScorer scorer) {
    Column row = scorer.inputRow();
    if (task() == Task.REGRESSION) {
      return df.withColumn(getOrDefault(predictionCol),
          udf((UDF1<Row, Double>) scorer::regress, DataTypes.DoubleType).apply(row));
    }
    return withVote(df, udf((UDF1<Row, Vector>) scorer::classify, SQLDataTypes.VectorType()).apply(row));
  }

  /** The classification outputs from the combined vote: rawPrediction, probability, prediction. */
  private Dataset<Row> withVote(Dataset<Row> df, Column vote) {
    String raw = getOrDefault(rawPredictionCol);
    return df.withColumn(raw, vote)
        .withColumn(getOrDefault(probabilityCol), udf(Votes.normalize(), SQLDataTypes.VectorType()).apply(col(raw)))
        .withColumn(getOrDefault(predictionCol), udf(Votes.argmax(), DataTypes.DoubleType).apply(col(raw)));
  }

  /**
   * Each sub-model's weight: rows over all rows for weighted aggregation; 1/S for soft and
   * regression; 1 for hard (votes are counted).
   */
  private double[] weights() {
    int n = subModels.size();
    double[] w = new double[n];
    Aggregation agg = Aggregation.parse(getOrDefault(aggregation));
    double total = manifest.rows();
    for (int i = 0; i < n; i++) {
      if (agg == Aggregation.WEIGHTED && total > 0) {
        w[i] = manifest.shards().get(i).rows() / total;
      } else if (agg == Aggregation.HARD && task() == Task.CLASSIFICATION) {
        w[i] = 1.0;
      } else {
        w[i] = 1.0 / n;
      }
    }
    return w;
  }

  private static Transformer lastStage(PipelineModel model) {
    Transformer[] stages = model.stages();
    return stages[stages.length - 1];
  }

  @Override
  public ShardEnsembleModel copy(ParamMap extra) {
    ShardEnsembleModel copied = new ShardEnsembleModel(uid, manifest, subModels);
    return copyValues(copied, extra).setParent(parent());
  }

  @Override
  public MLWriter write() {
    return new Writer(this);
  }

  public static MLReader<ShardEnsembleModel> read() {
    return new Reader();
  }

  public static ShardEnsembleModel load(String path) {
    return read().load(path);
  }

  /** Loads a published version of a registry, its manifest read from the publish log. */
  public static ShardEnsembleModel load(ModelRegistry registry, long version) {
    return load(registry, version, new HashMap<>());
  }

  /** The same, taking the sub-models {@code loaded} holds (by path) from it and adding those it reads. */
  public static ShardEnsembleModel load(ModelRegistry registry, long version, Map<Path, PipelineModel> loaded) {
    HadoopFiles files = new HadoopFiles(registry.spark().sparkContext().hadoopConfiguration());
    EnsembleManifest manifest = registry.manifest(version);
    return new ShardEnsembleModel(manifest, loadSubModels(files, registry.ensembleDir(version), manifest,
        "Ensemble version " + version + " in " + registry.root(), loaded));
  }

  private static List<PipelineModel> loadSubModels(HadoopFiles files, Path dir, EnsembleManifest manifest,
      String what, Map<Path, PipelineModel> loaded) {
    List<PipelineModel> subModels = new ArrayList<>();
    for (SubModelEntry entry : manifest.shards()) {
      Path subModel = new Path(dir, entry.path());
      if (!loaded.containsKey(subModel) && !files.exists(new Path(subModel, "metadata"))) {
        throw new CorruptRegistryException(what + " is corrupt: the sub-model of shard " + entry.shard()
            + " is missing at " + subModel);
      }
      try {
        subModels.add(loaded.computeIfAbsent(subModel, p -> PipelineReader.load(files, p)));
      } catch (Exception e) {
        throw new CorruptRegistryException(what + " is corrupt: the sub-model of shard " + entry.shard()
            + " at " + subModel + " cannot be read (" + e.getMessage() + ")", e);
      }
    }
    return subModels;
  }

  /** Writes a self-contained copy: params metadata, every sub-model, then the manifest. */
  private static final class Writer extends MLWriter {
    private final ShardEnsembleModel instance;

    Writer(ShardEnsembleModel instance) {
      this.instance = instance;
    }

    @Override
    public void saveImpl(String path) {
      SparkSession spark = sparkSession();
      DefaultParamsWriter.saveMetadata(instance, path, spark);
      HadoopFiles files = new HadoopFiles(spark.sparkContext().hadoopConfiguration());
      List<SubModelEntry> entries = new ArrayList<>();
      for (int i = 0; i < instance.subModels.size(); i++) {
        SubModelEntry entry = instance.manifest.shards().get(i);
        String relative = String.format("submodels/shard=%05d", entry.shard());
        try {
          // In spark.ml's layout, as the registry saves them: Lethe's stages with no Spark job.
          PipelineWriter.save(spark, files, instance.subModels.get(i), new Path(path, relative));
        } catch (java.io.IOException e) {
          throw new LetheException("Cannot save the sub-model of shard " + entry.shard() + ": " + e.getMessage(), e);
        }
        entries.add(entry.withPath(relative));
      }
      files.writeNew(new Path(path, EnsembleManifest.FILE_NAME), Json.write(instance.manifest.withShards(entries)));
    }
  }

  private static final class Reader extends MLReader<ShardEnsembleModel> {
    @Override
    public ShardEnsembleModel load(String path) {
      SparkSession spark = sparkSession();
      HadoopFiles files = new HadoopFiles(spark.sparkContext().hadoopConfiguration());
      Path dir = new Path(path);
      Path manifestFile = new Path(dir, EnsembleManifest.FILE_NAME);
      if (!files.exists(manifestFile)) {
        throw new CorruptRegistryException("No ensemble at " + path + " (" + EnsembleManifest.FILE_NAME + " is missing)");
      }
      EnsembleManifest manifest = ModelRegistry.readRecord(files.readString(manifestFile), EnsembleManifest.class,
          "ensemble manifest " + manifestFile);
      if (!manifest.complete()) {
        throw new CorruptRegistryException("Corrupt ensemble manifest " + manifestFile + ": it lists no sub-models or no task");
      }
      List<PipelineModel> subModels = loadSubModels(files, dir, manifest, "The ensemble at " + path, new HashMap<>());
      Path metadata = new Path(dir, "metadata");
      if (!files.exists(metadata)) {
        return new ShardEnsembleModel(manifest, subModels);
      }
      // An ensemble saved before the class moved under io.lethe.internal names it io.lethe.model.
      DefaultParamsReader.Metadata md = DefaultParamsReader.loadMetadata(path, spark, "");
      if (!List.of(ShardEnsembleModel.class.getName(), "io.lethe.model.ShardEnsembleModel").contains(md.className())) {
        throw new CorruptRegistryException("Not a Lethe ensemble at " + path + ": its metadata names " + md.className());
      }
      ShardEnsembleModel model = new ShardEnsembleModel(md.uid(), manifest, subModels);
      md.getAndSetParams(model, scala.Option.empty());
      return model;
    }
  }
}
