package io.lethe.jobs;

import io.lethe.LetheConfig;
import io.lethe.LetheException;
import io.lethe.run.HadoopFiles;
import io.lethe.run.Json;
import io.lethe.run.RunSummary;
import io.lethe.verify.Verifier;
import io.lethe.verify.VerifyPage;
import io.lethe.verify.VerifyReport;
import io.lethe.verify.VerifySettings;
import java.util.stream.Collectors;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "verify",
    description = {"Check that a forget batch is done: its rows are in no readable store version and no change data "
        + "(found by the ledger's keyed hashes), no published or stored model was trained on them, each retrained "
        + "shard predicts like a from-scratch fit on the same version and seed, and the model's utility now.",
        "Writes verify-<batch>.json and verify-<batch>.html under verify.path; exits 1 when a check fails."})
public final class VerifyJob extends JobCommand {
  @Option(names = "--batch", paramLabel = "ID",
      description = "The forget batch to verify (default: the latest in the ledger).")
  String batch;

  @Option(names = "--test", paramLabel = "PATH",
      description = "Held-out rows with the label column, for utility and retrain agreement (default: a sample of "
          + "verify.sample-rows store rows). Read with --format and --option.")
  String test;

  @Mixin
  SourceOptions testOptions;

  public static void main(String[] args) {
    Lethe.exit(Lethe.execute(new VerifyJob(), args));
  }

  @Override
  String jobName() {
    return "verify";
  }

  @Override
  void run(SparkSession spark, LetheConfig config, RunSummary summary) {
    Verifier verifier = Verifier.from(spark, config);
    String batchId = batch != null ? batch : verifier.latestBatch();
    Dataset<Row> heldOut = test == null ? null : testOptions.spec(test).read(spark);
    summary.input("batch", batchId).input("heldOut", test != null);
    VerifyReport report = summary.steps().time("verify", () -> verifier.verify(batchId, heldOut));
    HadoopFiles files = new HadoopFiles(spark.sparkContext().hadoopConfiguration());
    Path dir = files.qualify(VerifySettings.from(config).path());
    files.mkdirs(dir);
    Path json = new Path(dir, "verify-" + batchId + ".json");
    Path html = new Path(dir, "verify-" + batchId + ".html");
    files.overwrite(json, Json.write(report));
    files.overwrite(html, VerifyPage.render(report));
    summary.output("report", report).output("json", json.toString()).output("html", html.toString());
    report.checks().forEach(c -> say((c.passed() ? "PASS " : "FAIL ") + c.id() + ": " + c.finding()));
    say("Report: " + html);
    if (!report.passed()) {
      throw new LetheException("Verification of batch " + batchId + " failed: " + report.checks().stream()
          .filter(c -> !c.passed()).map(VerifyReport.Check::id).collect(Collectors.joining(", ")));
    }
  }
}
