package io.lethe.internal.unlearn;

import static org.apache.spark.sql.functions.col;

import io.lethe.internal.train.Estimators;
import io.lethe.internal.train.ShardPipeline;
import io.lethe.internal.train.TrainSettings;
import io.lethe.internal.unlearn.Checkpoints.Checkpoint;
import io.lethe.types.StoreLayout;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.classification.MultilayerPerceptronClassificationModel;
import org.apache.spark.ml.classification.MultilayerPerceptronClassifier;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.storage.StorageLevel;

/**
 * SISA's slicing for the multilayer perceptron: a shard's subjects are cut into R slices (a stable
 * hash of the subject), and the shard is trained in R steps, step r on slices 0 to r, each step
 * starting from the weights of the one before (the first from the seed's random weights), with a
 * checkpoint after each. Each step fits its own feature stages on its own rows, so a checkpoint
 * depends on its slices alone; the next step maps its input weights to the new features by name
 * (a feature it has not seen starts at 0). Unlearning restarts from the checkpoint before the
 * earliest slice that changed and repeats the steps after it: the same procedure on the same rows
 * with the same seeds as a sliced training from scratch.
 */
public final class SlicedTraining {
  private static final String SLICE = "_lethe_slice";

  private SlicedTraining() {}

  /** The final step's pipeline, every checkpoint (kept and new), and the rows of the final step. */
  public record Result(PipelineModel model, Checkpoints checkpoints, long rows) {}

  /**
   * Runs steps {@code from} to R - 1 ({@code slices} = R) on a shard's rows (store columns), starting
   * from the last of {@code kept} (the checkpoints of the slices before {@code from}). Null when the
   * shard has no rows.
   */
  public static Result fit(StoreLayout layout, TrainSettings settings, int slices, int shard, long storeVersion,
      Dataset<Row> shardRows, int from, List<Checkpoint> kept, int maxPartitions) {
    List<Column> columns = new ArrayList<>(layout.trainingColumns());
    columns.add(layout.sliceOf(col(layout.subjectColumn()), slices).as(SLICE));
    Dataset<Row> selected = shardRows.select(columns.toArray(new Column[0]));
    if (maxPartitions < Integer.MAX_VALUE) {
      selected = selected.coalesce(maxPartitions);
    }
    Dataset<Row> data = selected.persist(StorageLevel.MEMORY_AND_DISK());
    try {
      List<Checkpoint> checkpoints = new ArrayList<>(kept);
      Checkpoint previous = kept.isEmpty() ? null : kept.get(kept.size() - 1);
      PipelineModel last = null;
      long rows = 0;
      for (int r = from; r < slices; r++) {
        Dataset<Row> part = data.where(col(SLICE).leq(r));
        long n = part.count();
        if (n == 0) {
          continue;
        }
        PipelineModel features = ShardPipeline.features(layout, settings, shard).fit(part);
        List<String> names = new ArrayList<>(CertifiedRemoval.featureNames(features.stages(), layout));
        names.remove(names.size() - 1); // the network has its own biases
        int[] layers = Estimators.layers(settings, names.size(), layout.labelClasses().size());
        MultilayerPerceptronClassifier mlp = (MultilayerPerceptronClassifier) ShardPipeline.estimator(layout, settings,
            shard);
        mlp.setLayers(layers);
        if (previous != null) {
          mlp.setInitialWeights(Vectors.dense(remap(previous, names, layers)));
        }
        MultilayerPerceptronClassificationModel network = mlp.fit(features.transform(part));
        previous = new Checkpoint(Checkpoint.nameOf(shard, r, storeVersion), shard, r, storeVersion, n, names, layers,
            network.weights().toArray());
        checkpoints.add(previous);
        List<Transformer> stages = new ArrayList<>(List.of(features.stages()));
        stages.add(network);
        last = new PipelineModel(Identifiable.randomUID("pipeline"), stages.toArray(new Transformer[0]));
        rows = n;
      }
      return last == null ? null : new Result(last, new Checkpoints(slices, checkpoints), rows);
    } finally {
      data.unpersist();
    }
  }

  /**
   * A checkpoint's weights for a network whose inputs are {@code names}: the first layer's weight
   * column of each input carried over by feature name (0 for a new feature), its biases and every
   * later layer unchanged. spark.ml keeps each layer as its weight matrix (outputs by inputs,
   * column by column) followed by its biases.
   */
  static double[] remap(Checkpoint from, List<String> names, int[] layers) {
    int out = layers[1];
    int oldInputs = from.layers()[0];
    double[] old = from.weights();
    Map<String, Integer> index = new HashMap<>();
    for (int i = 0; i < from.features().size(); i++) {
      index.put(from.features().get(i), i);
    }
    int rest = old.length - out * oldInputs;
    double[] w = new double[out * names.size() + rest];
    for (int k = 0; k < names.size(); k++) {
      Integer i = index.get(names.get(k));
      if (i != null) {
        System.arraycopy(old, i * out, w, k * out, out);
      }
    }
    System.arraycopy(old, out * oldInputs, w, out * names.size(), rest);
    return w;
  }
}
