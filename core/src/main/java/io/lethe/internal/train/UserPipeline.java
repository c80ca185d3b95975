package io.lethe.internal.train;

import io.lethe.InvalidConfigException;
import io.lethe.LetheException;
import io.lethe.internal.model.ShardColumns;
import io.lethe.internal.run.HadoopFiles;
import io.lethe.types.StoreLayout;
import io.lethe.types.Task;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.apache.hadoop.fs.Path;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.Predictor;
import org.apache.spark.ml.classification.Classifier;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;

/**
 * The user's own model ({@code train.pipeline}): an unfitted spark.ml {@link Pipeline} saved with
 * {@code Pipeline.write()}, its own feature stages ending in a predictor. Each shard fits its own
 * copy on its own rows, so every stage fitted from data (an indexer's labels, a scaler's moments,
 * a vocabulary) is the shard's alone, as SISA requires. The copy's predictor reads
 * {@link StoreLayout#LABEL_INDEX_COLUMN}, writes the shard's output columns ({@link ShardColumns})
 * and takes the shard's seed; {@code train.param.*} set its parameters.
 */
public final class UserPipeline {
  /** Why a forget retrains the shards of a user's pipeline, as each forget run reports it. */
  public static final String RETRAINS = "train.pipeline is the user's own pipeline, which forgets by retraining its"
      + " shards: exact statistics and certified removal need Lethe's own featurization";

  private UserPipeline() {}

  /** Reads the unfitted pipeline at a path (any Hadoop location), with one clear message when it cannot. */
  public static Pipeline load(SparkSession spark, String path) {
    HadoopFiles files = new HadoopFiles(spark.sparkContext().hadoopConfiguration());
    if (!files.exists(new Path(path, "metadata"))) {
      throw new InvalidConfigException("train.pipeline is " + path + ", where no spark.ml pipeline is saved (no metadata"
          + " directory): save one with pipeline.write().save(path)");
    }
    try {
      return Pipeline.load(path);
    } catch (Exception e) {
      String why = LetheException.firstLine(e);
      if (why.contains("PipelineModel")) {
        throw new InvalidConfigException("train.pipeline is " + path + ", a fitted PipelineModel: it takes the unfitted"
            + " Pipeline, which each shard fits on its own rows", e);
      }
      Throwable root = e;
      while (root.getCause() != null) {
        root = root.getCause();
      }
      if (root instanceof ClassNotFoundException) {
        throw new InvalidConfigException("train.pipeline " + path + " holds a stage whose class " + root.getMessage()
            + " is not on the classpath: add its jar (spark-submit --jars)", e);
      }
      throw new InvalidConfigException("train.pipeline " + path + " cannot be read as a spark.ml Pipeline: " + why, e);
    }
  }

  /**
   * A shard's own copy of the pipeline: every stage copied, the predictor set to read the label
   * index, write the shard's columns and use the shard's seed, then the settings' parameters.
   */
  public static Pipeline forShard(Pipeline user, Task task, TrainSettings settings, int shard) {
    Pipeline copy = user.copy(ParamMap.empty());
    PipelineStage[] stages = copy.getStages();
    Estimator<?> predictor = predictor(stages, task);
    Estimators.configure(predictor, settings, StoreLayout.LABEL_INDEX_COLUMN, ShardColumns.prediction(shard),
        ShardColumns.probability(shard), ShardColumns.rawPrediction(shard), settings.seedFor(shard));
    return copy;
  }

  /**
   * Checks, before anything is written, that the pipeline fits the store: it ends in a predictor
   * of the store's task, and each stage reads only the columns a shard's rows have (the store's
   * feature columns and the label index) or an earlier stage writes. Throws one message that names
   * the stage and the column.
   *
   * @param shardSchema the schema of a shard's rows as training reads them
   */
  public static void check(Pipeline user, String path, StoreLayout layout, StructType shardSchema,
      TrainSettings settings) {
    PipelineStage[] stages = forShard(user, layout.task(), settings, 0).getStages();
    StructType schema = shardSchema;
    for (int i = 0; i < stages.length; i++) {
      PipelineStage stage = stages[i];
      String which = "train.pipeline's stage " + (i + 1) + " of " + stages.length + ", " + stage.uid() + " ("
          + stage.getClass().getSimpleName() + "),";
      Set<String> readable = new LinkedHashSet<>(Arrays.asList(schema.fieldNames()));
      for (String column : inputs(stage)) {
        if (readable.contains(column)) {
          continue;
        }
        if (column.equals(layout.subjectColumn())) {
          throw new InvalidConfigException(which + " reads '" + column + "', the store's subject column: a model never reads"
              + " whom a row is about");
        }
        if (column.equals(layout.labelColumn())) {
          throw new InvalidConfigException(which + " reads '" + column + "', the store's label: stages see the label only as "
              + StoreLayout.LABEL_INDEX_COLUMN + " (its class index), which the predictor reads");
        }
        throw new InvalidConfigException(which + " reads column '" + column + "', which is neither a feature column of the"
            + " store nor written by an earlier stage; it can read " + String.join(", ", readable));
      }
      try {
        schema = stage.transformSchema(schema);
      } catch (Exception e) {
        throw new InvalidConfigException(which + " does not fit the store's rows: " + LetheException.firstLine(e), e);
      }
    }
  }

  /** The columns a stage names as its inputs: its inputCol(s), and a predictor's features column. */
  private static List<String> inputs(PipelineStage stage) {
    List<String> out = new ArrayList<>();
    for (String name : List.of("inputCol", "featuresCol")) {
      if (stage.hasParam(name) && stage.isDefined(stage.getParam(name))) {
        out.add(String.valueOf(stage.getOrDefault(stage.getParam(name))));
      }
    }
    if (stage.hasParam("inputCols") && stage.isDefined(stage.getParam("inputCols"))
        && stage.getOrDefault(stage.getParam("inputCols")) instanceof String[] columns) {
      out.addAll(List.of(columns));
    }
    return out;
  }

  private static Estimator<?> predictor(PipelineStage[] stages, Task task) {
    if (stages.length == 0) {
      throw new InvalidConfigException("train.pipeline has no stages: it must end in a spark.ml predictor");
    }
    PipelineStage last = stages[stages.length - 1];
    String which = "train.pipeline's last stage, " + last.uid() + " (" + last.getClass().getSimpleName() + "),";
    if (!(last instanceof Predictor<?, ?, ?> predictor)) {
      throw new InvalidConfigException(which + " is not a spark.ml Predictor: the pipeline must end in an estimator that"
          + " reads a features vector and the label and predicts");
    }
    boolean classifier = last instanceof Classifier<?, ?, ?>;
    if (classifier != (task == Task.CLASSIFICATION)) {
      throw new InvalidConfigException(which + " does not do " + task.id() + ", the store's task (it is "
          + (classifier ? "a classifier" : "no classifier") + ")");
    }
    return predictor;
  }
}
