package io.lethe.jobs;

import io.lethe.LetheConfig;
import io.lethe.internal.run.RunSummary;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;

/** A job whose work throws an {@link Error}, as a class missing from a cluster's classpath would. */
@Command(name = "crash")
public final class CrashingJob extends JobCommand {
  @Override
  String jobName() {
    return "crash";
  }

  @Override
  void run(SparkSession spark, LetheConfig config, RunSummary summary) {
    summary.input("store", config.get(LetheConfig.STORE_PATH));
    throw new NoClassDefFoundError("org/example/MissingFromTheClasspath");
  }
}
