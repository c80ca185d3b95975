package io.lethe.internal.unlearn;

import java.util.List;

/**
 * The checkpoints of a sliced sub-model (lethe-checkpoints.json, next to it and retired with it):
 * after slice r, the estimator's weights trained on slices 0 to r of the shard.
 *
 * @param slices R, the shard's number of slices
 * @param checkpoints one per slice that had rows, in slice order
 */
public record Checkpoints(int slices, List<Checkpoint> checkpoints) {
  public static final String FILE_NAME = "lethe-checkpoints.json";

  public Checkpoints {
    checkpoints = List.copyOf(checkpoints);
  }

  /**
   * One checkpoint, named by what it was trained on: slices 0 to {@code slice} of {@code shard} as
   * of {@code storeVersion} (a checkpoint kept across a forget keeps its name: its slices did not
   * change).
   *
   * @param features the feature names of the feature stages fitted on those slices, in input order
   * @param layers the network's layer sizes
   * @param weights the network's weights (spark.ml's layout: per layer, the weight matrix column by
   *     column, then the biases)
   */
  public record Checkpoint(String name, int shard, int slice, long storeVersion, long rows, List<String> features,
      int[] layers, double[] weights) {

    public static String nameOf(int shard, int slice, long storeVersion) {
      return String.format("shard-%05d_slices-0-%d_store-v%d", shard, slice, storeVersion);
    }
  }
}
