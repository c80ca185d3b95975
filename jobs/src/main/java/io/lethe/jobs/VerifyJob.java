package io.lethe.jobs;

import io.lethe.InvalidRequestException;
import io.lethe.LetheConfig;
import io.lethe.VerificationFailedException;
import io.lethe.api.Verify;
import io.lethe.internal.run.RunSummary;
import io.lethe.internal.verify.VerifyPage;
import io.lethe.internal.verify.VerifySettings;
import io.lethe.types.ForgetRequest;
import io.lethe.types.VerifyReport;
import java.util.stream.Collectors;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "verify",
    description = {"Check that a forget batch is done: its rows are in no readable store version and no change data "
        + "(found by the ledger's keyed hashes), no published or stored model was trained on them, each retrained "
        + "shard predicts like a from-scratch fit on the same version and seed, the forgotten rows no longer look "
        + "like training members (when the forget run recorded membership evidence), and the model's utility now; "
        + "the report names the unlearning strategy behind each hit shard's sub-model (exact or approximate).",
        "With --ids or --ids-file, check a set of ids instead, whatever batches forgot them.",
        "Writes verify-<batch>.json and verify-<batch>.html under verify.path; exits 5 when a check fails."})
public final class VerifyJob extends JobCommand {
  @Option(names = "--batch", paramLabel = "ID",
      description = "The forget batch to verify (default: the latest in the ledger).")
  String batch;

  @ArgGroup(exclusive = true, multiplicity = "0..1")
  IdOptions.Source ids;

  @Mixin
  IdOptions idOptions;

  @Option(names = "--test", paramLabel = "PATH",
      description = "Held-out rows with the label column, for utility and retrain agreement, read with --format and "
          + "--option (default: verify.test if set, else a sample of verify.sample-rows store rows).")
  String test;

  @Mixin
  SourceOptions testOptions;

  public static void main(String[] args) {
    Lethe.main(new VerifyJob(), args);
  }

  @Override
  String jobName() {
    return "verify";
  }

  @Override
  void run(SparkSession spark, LetheConfig config, RunSummary summary) {
    VerifySettings.from(config); // the verify.* keys checked before any work
    if (ids != null && batch != null) {
      throw new InvalidRequestException("Give one of --batch, --ids and --ids-file");
    }
    ForgetRequest idsToCheck = ids == null ? null : idOptions.read(spark, ids);
    if (idsToCheck != null) {
      summary.input("ids", idsToCheck.size()).input("kind", idOptions.kind().id());
    }
    Verify verify = io.lethe.api.Lethe.get(spark, config).verify();
    if (test != null) {
      verify.heldOut(testOptions.spec(test).read(spark));
    }
    verify = idsToCheck != null ? verify.ids(idsToCheck) : batch != null ? verify.batch(batch) : verify;
    String batchId = verify.plan().batchId();
    summary.input("batch", batchId).input("heldOut", verify.heldOutRows() != null);
    VerifyReport report = summary.steps().time("verify", verify::execute);
    Verify.Written written = verify.write(report);
    summary.output("report", report).output("json", written.json()).output("html", written.html());
    report.checks().forEach(c -> say(VerifyPage.label(c) + " " + c.id() + ": " + c.finding()));
    if (report.checks().stream().anyMatch(VerifyReport.Check::awaitsPurge)) {
      say("Passed with the purge pending: the purge job, run after " + (report.purgeDueAfter() != null
          ? report.purgeDueAfter() : "the retention") + ", removes the batch's rows from storage.");
    }
    say("Report: " + written.html());
    if (!report.passed()) {
      throw new VerificationFailedException("Verification of " + (idsToCheck != null ? idsToCheck.size() + " ids"
          : "batch " + batchId) + " failed: " + report.checks().stream()
          .filter(c -> !c.passed()).map(VerifyReport.Check::id).collect(Collectors.joining(", ")));
    }
  }
}
