package io.lethe.registry;

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
 * @param method how it was made: {@value #FIT} (spark.ml fit on the shard's rows) or the id of the
 *     unlearning strategy that derived it from an earlier sub-model (e.g. exact-statistics)
 * @param engine the engine that fitted it: {@code tasks} (a local solver inside one Spark task) or
 *     {@code jobs} (spark.ml's distributed fit)
 */
public record SubModelEntry(int shard, String path, long storeVersion, long rows, long seed, String trainedAt,
    double fitSeconds, String method, String engine) {

  public static final String FIT = "fit";
  public static final String JOBS = "jobs";

  public SubModelEntry {
    // Manifests written before sub-models recorded how they were made hold fitted ones, by spark.ml jobs.
    method = method == null ? FIT : method;
    engine = engine == null ? JOBS : engine;
  }

  public SubModelEntry withFitSeconds(double seconds) {
    return new SubModelEntry(shard, path, storeVersion, rows, seed, trainedAt, seconds, method, engine);
  }

  public SubModelEntry withPath(String newPath) {
    return new SubModelEntry(shard, newPath, storeVersion, rows, seed, trainedAt, fitSeconds, method, engine);
  }
}
