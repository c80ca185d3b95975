package io.lethe.jobs;

import io.lethe.LetheConfig;
import io.lethe.demo.AdultData;
import io.lethe.demo.AdultDemo;
import io.lethe.internal.run.RunSummary;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "demo",
    description = "The whole story on the bundled Adult census data, locally: ingest, train a sharded ensemble and a "
        + "single model, forget a few people (ledger, delete, retrain only their shards, publish, retire, purge with a "
        + "retention of 0 hours), compare with a full retrain.")
public final class DemoJob extends JobCommand {
  @Option(names = "--data-dir", paramLabel = "DIR",
      description = "Folder with adult.data.gz and adult.test.gz (default: data/adult of the Lethe checkout).")
  String dataDir;

  @Option(names = "--work-dir", paramLabel = "DIR", defaultValue = "lethe-demo",
      description = "Folder for the demo's store, models, ledger and run summaries; emptied first (default: ${DEFAULT-VALUE}).")
  String workDir;

  @Option(names = "--forget", paramLabel = "N", defaultValue = "3",
      description = "How many people to forget (default: ${DEFAULT-VALUE}).")
  int forget;

  public static void main(String[] args) {
    Lethe.main(new DemoJob(), args);
  }

  @Override
  String jobName() {
    return "demo";
  }

  @Override
  void run(SparkSession spark, LetheConfig config, RunSummary summary) {
    String data = dataDir != null ? dataDir : AdultData.bundledDir();
    summary.input("dataDir", data).input("workDir", workDir).input("forget", forget);
    AdultDemo.Report report = new AdultDemo(spark, data, workDir, config, forget, this::say).run();
    summary.output("report", report).output("speedup", report.speedup());
  }
}
