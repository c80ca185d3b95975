package io.lethe.types;

import com.fasterxml.jackson.annotation.JsonAlias;
import io.lethe.Evolving;

/**
 * One shard's sub-model in an ensemble version.
 *
 * @param path where the sub-model (a spark.ml PipelineModel) lives, relative to the ensemble's
 *     own directory (or absolute)
 * @param storeVersion the store version whose rows of this shard it was trained on
 * @param rows how many rows it was trained on
 * @param seed the seed it was fitted with
 * @param trainedAt when it was fitted (ISO-8601)
 * @param fitSeconds wall time of the fit (or of the rebuild from statistics)
 * @param strategy the unlearning strategy that made it: {@value #SHARD_RETRAIN} (a fit of the shard's
 *     rows, in training or a forget's retrain) or the id of the strategy that derived it from an
 *     earlier sub-model (e.g. exact-statistics). Manifests written before 2026-12-06 call it
 *     {@code method}, and a fit {@code fit}: both read as this.
 * @param engine the engine that fitted it: {@code tasks} (a local solver inside one Spark task) or
 *     {@code jobs} (spark.ml's distributed fit)
 */
@Evolving
public record SubModelEntry(int shard, String path, long storeVersion, long rows, long seed, String trainedAt,
    double fitSeconds, @JsonAlias("method") String strategy, String engine) {

  /** The strategy of a sub-model fitted on its shard's rows: the id of shard retrain. */
  public static final String SHARD_RETRAIN = "shard-retrain";
  public static final String JOBS = "jobs";

  public SubModelEntry {
    // Manifests written before sub-models recorded how they were made hold fitted ones, by spark.ml
    // jobs; older ones called a fit "fit".
    strategy = strategy == null || strategy.equals("fit") ? SHARD_RETRAIN : strategy;
    engine = engine == null ? JOBS : engine;
  }

  public SubModelEntry withFitSeconds(double seconds) {
    return new SubModelEntry(shard, path, storeVersion, rows, seed, trainedAt, seconds, strategy, engine);
  }

  public SubModelEntry withPath(String newPath) {
    return new SubModelEntry(shard, newPath, storeVersion, rows, seed, trainedAt, fitSeconds, strategy, engine);
  }
}
