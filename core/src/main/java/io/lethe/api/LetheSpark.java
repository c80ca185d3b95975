package io.lethe.api;

import io.lethe.Evolving;
import io.lethe.InvalidConfigException;
import io.lethe.internal.run.CostMeter;
import io.lethe.internal.spark.LocalFiles;
import java.util.Map;
import java.util.Optional;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;

/**
 * The one way Lethe gets a SparkSession. Under spark-submit, Databricks or any cluster the
 * session (and its master) come from there and win: a session that exists already is used as it
 * is, none of its settings changed, and Delta's two settings are added to a new one only when the
 * platform has not made them. Only when no master is configured does Lethe start an embedded
 * local Spark with settings that suit a small machine, and its own {@code file:} file system
 * ({@link LocalFiles}).
 */
@Evolving
public final class LetheSpark {
  static final String DELTA_EXTENSION = "io.delta.sql.DeltaSparkSessionExtension";
  static final String EXTENSIONS = "spark.sql.extensions";
  static final String SESSION_CATALOG = "spark.sql.catalog.spark_catalog";
  private static final String DELTA_CATALOG = "org.apache.spark.sql.delta.catalog.DeltaCatalog";

  private LetheSpark() {}

  /**
   * The session: the active (or default) one when there is one, else a new one with
   * {@code sparkSettings} (the configuration's {@code spark.*} keys). Fails with one message when
   * the session has no Delta Lake.
   */
  public static SparkSession getOrCreate(String appName, Map<String, String> sparkSettings) {
    Optional<SparkSession> existing = SparkSession.getActiveSession().isDefined()
        ? Optional.of(SparkSession.getActiveSession().get())
        : SparkSession.getDefaultSession().isDefined() ? Optional.of(SparkSession.getDefaultSession().get())
        : Optional.empty();
    SparkSession spark = existing.orElseGet(() -> create(appName, sparkSettings));
    requireDelta(spark);
    CostMeter.install(spark);
    return spark;
  }

  private static SparkSession create(String appName, Map<String, String> sparkSettings) {
    SparkConf platform = new SparkConf();
    SparkSession.Builder builder = SparkSession.builder().appName(appName);
    // Delta's extension is added to the platform's own list, never in place of it; its catalog
    // only where the platform set none.
    String extensions = platform.get(EXTENSIONS, "");
    if (!extensions.contains(DELTA_EXTENSION)) {
      builder.config(EXTENSIONS, extensions.isBlank() ? DELTA_EXTENSION : extensions + "," + DELTA_EXTENSION);
    }
    if (!platform.contains(SESSION_CATALOG)) {
      builder.config(SESSION_CATALOG, DELTA_CATALOG);
    }
    if (!platform.contains("spark.master")) {
      String cores = Integer.toString(Runtime.getRuntime().availableProcessors());
      builder.master("local[*]")
          .config("spark.sql.shuffle.partitions", cores)
          .config("spark.default.parallelism", cores)
          .config("spark.databricks.delta.snapshotPartitions", cores)
          .config("spark.sql.sources.parallelPartitionDiscovery.parallelism", cores)
          .config("spark.ui.showConsoleProgress", "false")
          // Hadoop's local file system forks chmod, readlink and ls for file attributes; this one
          // does not, for FileSystem and FileContext (Delta's commits) alike.
          .config("spark.hadoop.fs.file.impl", LocalFiles.class.getName())
          .config("spark.hadoop.fs.AbstractFileSystem.file.impl", LocalFiles.Fs.class.getName());
    }
    sparkSettings.forEach(builder::config);
    return builder.getOrCreate();
  }

  /**
   * Delta Lake must be in the session: its SQL extension, or a runtime with Delta built in
   * (Databricks). Says what is missing and how to add it.
   */
  static void requireDelta(SparkSession spark) {
    if (System.getenv("DATABRICKS_RUNTIME_VERSION") != null) {
      return; // Databricks Runtime has Delta built in, whatever spark.sql.extensions says
    }
    String extensions = spark.conf().get(EXTENSIONS, "");
    if (!extensions.contains(DELTA_EXTENSION)) {
      throw new InvalidConfigException("The SparkSession has no Delta Lake: " + EXTENSIONS + " does not list "
          + DELTA_EXTENSION + ". Start it with --packages io.delta:delta-spark_2.13:4.1.0 --conf " + EXTENSIONS + "="
          + DELTA_EXTENSION + " --conf " + SESSION_CATALOG + "=" + DELTA_CATALOG);
    }
  }
}
