package io.lethe.spark;

import io.lethe.run.CostMeter;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;

/**
 * The one way Lethe gets a SparkSession. Under spark-submit, Databricks or any cluster the
 * session (and its master) come from there and win; only when no master is configured does Lethe
 * start an embedded local Spark with settings that suit a small machine.
 */
public final class LetheSpark {
  private LetheSpark() {}

  public static SparkSession getOrCreate(String appName, Map<String, String> sparkSettings) {
    SparkSession.Builder builder = SparkSession.builder()
        .appName(appName)
        .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
        .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog");
    if (!new SparkConf().contains("spark.master")) {
      String cores = Integer.toString(Runtime.getRuntime().availableProcessors());
      builder.master("local[*]")
          .config("spark.sql.shuffle.partitions", cores)
          .config("spark.default.parallelism", cores)
          .config("spark.databricks.delta.snapshotPartitions", cores)
          .config("spark.sql.sources.parallelPartitionDiscovery.parallelism", cores)
          .config("spark.ui.showConsoleProgress", "false");
    }
    sparkSettings.forEach(builder::config);
    SparkSession spark = builder.getOrCreate();
    CostMeter.install(spark);
    return spark;
  }
}
