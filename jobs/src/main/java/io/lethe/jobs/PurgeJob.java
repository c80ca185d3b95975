package io.lethe.jobs;

import io.lethe.LetheConfig;
import io.lethe.internal.forget.ForgetSettings;
import io.lethe.internal.run.RunSummary;
import io.lethe.types.PurgeReport;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;

@Command(name = "purge",
    description = {"Purge the store for forget requests already gone from the model: rewrite their shards' files "
        + "that still hold deleted rows (REORG ... APPLY (PURGE)), then VACUUM with purge.retention-hours, and mark "
        + "the requests whose rows are now gone from storage forgotten.",
        "For users who leave purging out of forget runs (forget.purge=false) or keep a retention: schedule it."})
public final class PurgeJob extends JobCommand {
  public static void main(String[] args) {
    Lethe.main(new PurgeJob(), args);
  }

  @Override
  String jobName() {
    return "purge";
  }

  @Override
  void run(SparkSession spark, LetheConfig config, RunSummary summary) {
    io.lethe.api.Lethe lethe = io.lethe.api.Lethe.get(spark, config);
    ForgetSettings settings = ForgetSettings.from(config);
    summary.input("store", lethe.internals().store().path()).input("ledger", lethe.internals().ledger().path())
        .input("retentionHours", settings.retentionHours());
    PurgeReport report = summary.steps().time("purge", () -> lethe.purge().execute());
    long waiting = report.forgotten() + report.pending();
    summary.output("purge", report.store()).output("requests", waiting)
        .output("forgotten", report.forgotten()).output("purgePending", report.pending());
    say(String.format("Purged shards %s; %s file(s) deleted by VACUUM (retention %s h: versions before %s can no "
            + "longer be read). %d of %d waiting request(s) now forgotten.", report.store().shards(),
        report.store().filesDeleted(), settings.retentionHours(), report.store().timeTravelFrom(), report.forgotten(),
        waiting));
  }
}
