package io.lethe.jobs;

import io.lethe.InvalidRequestException;
import io.lethe.LetheConfig;
import io.lethe.api.Forget;
import io.lethe.internal.forget.IdFile;
import io.lethe.internal.ledger.LedgerKey;
import io.lethe.internal.run.RunSummary;
import io.lethe.internal.train.Strategy;
import io.lethe.internal.unlearn.Strategies;
import io.lethe.types.ForgetPlan;
import io.lethe.types.ForgetRequest;
import io.lethe.types.ForgetResult;
import io.lethe.types.IdKind;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "forget",
    description = {"Forget a batch of data subjects (or records), durably: record the requests in the ledger, delete "
        + "their rows (a new store version), retrain only the shards that held them (or unlearn them by the "
        + "estimator's forget.strategy, below), publish the new ensemble, "
        + "retire every sub-model and ensemble version trained on them, purge the store (REORG, then VACUUM when "
        + "purge.retention-hours has passed since a request's REORG: at once with 0, else the requests wait as "
        + "purge-pending for the purge job), and mark the requests forgotten.",
        "Each step is recorded in the ledger before and after; if a run stops, run the same batch again to finish "
        + "it. Ids never appear in output, summaries, the ledger or logs: the ledger keeps HMACs under the key in "
        + "$LETHE_LEDGER_KEY (or ledger.key).",
        "With held-out rows configured (verify.test), the run also records membership evidence for verify: "
        + "attacks on the forgotten rows with the model before and after, the difference attack on the update, and, "
        + "for a batch of at most verify.per-example-rows rows, a per-example test (LiRA) with verify.shadow-models "
        + "shadow fits of each hit shard; aggregates only.",
        "With forget.min-batch above 1, a run with fewer requests than that holds them (status held) and changes "
        + "nothing else, until a later run given their ids again brings the batch to that size or the oldest has "
        + "waited forget.max-wait-hours: an update for one person singles them out."})
public final class ForgetJob extends JobCommand {
  @ArgGroup(exclusive = true, multiplicity = "1")
  IdOptions.Source ids;

  @Mixin
  IdOptions idOptions;

  @Option(names = "--dry-run", description = "Print the plan (rows, shards, artifacts to retire, cost) and change nothing.")
  boolean dryRun;

  @Option(names = "--new-only",
      description = "Take from --ids-file only the ids no request of the ledger holds yet, and those of requests held "
          + "for a batch (for a table of incoming requests that grows for years): Spark sets them against the ledger, "
          + "and at most --max-ids of them, the least first, make this run's batch; the rest wait for the next run.")
  boolean newOnly;

  @Option(names = "--max-ids", paramLabel = "N", defaultValue = "1000000",
      description = "With --new-only, the most ids a run takes (default: ${DEFAULT-VALUE}).")
  int maxIds;

  public static void main(String[] args) {
    Lethe.main(new ForgetJob(), args);
  }

  @Override
  String jobName() {
    return "forget";
  }

  @Override
  void run(SparkSession spark, LetheConfig config, RunSummary summary) {
    IdKind kind = idOptions.kind();
    io.lethe.api.Lethe lethe = io.lethe.api.Lethe.get(spark, config);
    ForgetRequest request;
    if (newOnly) {
      if (ids.file == null) {
        throw new InvalidRequestException("--new-only reads an id file or table: give --ids-file");
      }
      IdFile.NewIds fresh = IdFile.readNew(spark, ids.file, idOptions.format, idOptions.column, kind, lethe.internals().ledger(),
          LedgerKey.from(config), maxIds);
      summary.input("newOnly", Map.of("distinctIds", fresh.distinctIds(), "inLedger", fresh.inLedger(),
          "leftForNextRun", fresh.leftForNextRun()));
      say(String.format("New ids: %d of %d distinct ids have no request in the ledger yet; this run takes %d, the next"
          + " takes the other %d", fresh.distinctIds() - fresh.inLedger(), fresh.distinctIds(),
          fresh.request().size(), fresh.leftForNextRun()));
      request = fresh.request();
    } else {
      request = idOptions.read(spark, ids);
    }
    Forget forget = lethe.forget(request).membershipAudit(!dryRun);
    summary.input("store", lethe.internals().store().path()).input("models", lethe.internals().registry().root().toString())
        .input("ledger", lethe.internals().ledger().path()).input("kind", kind.id()).input("ids", request.size())
        .input("dryRun", dryRun).input("membershipAudit", forget.recordsMembershipEvidence());
    if (dryRun) {
      sayPlan(summary, kind, summary.steps().time("plan", forget::plan));
      return;
    }
    // The run plans first itself, on the store as it is when it starts: print that plan.
    ForgetResult result = summary.steps().time("forget", forget::execute);
    sayPlan(summary, kind, result.plan());
    summary.output("batchId", result.batchId())
        .output("requests", result.requests())
        .output("storeVersion", result.storeVersion())
        .output("ensembleVersion", result.ensembleVersion())
        .output("retrainedShards", result.retrainedShards())
        .output("unlearning", result.unlearning())
        .output("retired", result.retirement())
        .output("purge", result.purge())
        .output("forgotten", result.forgotten())
        .output("purgePending", result.purgePending())
        .output("forgetSteps", result.seconds())
        .output("forgetCost", result.cost());
    if (result.plan().held() > 0) {
      summary.output("held", result.plan().held());
      say("Held: " + result.plan().heldBecause() + ". Give their ids again in a later run (forget --new-only keeps"
          + " them).");
    }
    say(String.format("Batch %s: %d request(s) forgotten, %d gone from the model and waiting for a purge.%s",
        result.batchId(), result.forgotten(), result.purgePending(), result.purge() == null || !result.purge().vacuumed() ? ""
            : " Versions before " + result.purge().timeTravelFrom() + " can no longer be read (time travel)."));
  }

  private void sayPlan(RunSummary summary, IdKind kind, ForgetPlan plan) {
    summary.output("plan", plan);
    say(String.format("Plan: %d of %d %s ids found (%d rows in shards %s), %d resumed, %d not found, %d already "
            + "forgotten; retrains shards %s (%.0f%% of a full retrain), retires %d ensemble versions and %d sub-models",
        plan.found(), plan.requested(), kind.id(), plan.rowsToDelete(), plan.rowsPerShard().keySet(), plan.resumed(),
        plan.notFound(), plan.alreadyForgotten(), plan.shardsToRetrain(), 100 * plan.retrainFraction(),
        plan.ensembleVersionsToRetire().size(), plan.subModelsToRetire()));
    if (plan.advice() != null) {
      summary.output("advice", plan.advice());
      say("Note: " + plan.advice());
    }
    if (plan.held() > 0) {
      say("Waits: " + plan.heldBecause());
    }
  }

  /** The strategies of forget.strategy.<estimator>, from their registry. */
  @Override
  List<String> registryHelp() {
    List<String> lines = new ArrayList<>(List.of("Strategies (forget.strategy.<estimator>):"));
    for (Strategy s : Strategies.all()) {
      String estimators = s.estimators().isEmpty() ? "every estimator" : String.join(", ", s.estimators());
      lines.add("  " + s.id() + " (" + estimators + "): " + s.guarantee());
    }
    return lines;
  }
}
