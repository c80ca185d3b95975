package io.lethe.jobs;

import io.lethe.LetheConfig;
import io.lethe.RequestsOverdueException;
import io.lethe.api.Status;
import io.lethe.internal.run.RunSummary;
import io.lethe.types.EnsembleManifest;
import io.lethe.types.LedgerSummary;
import io.lethe.types.StoreLayout;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "status",
    description = "The store, the registry, the published ensemble and the ledger at a glance: versions, rows per "
        + "shard, stale shards, forget requests by status (pending, waiting for a purge, overdue) and deadlines.")
public final class StatusJob extends JobCommand {
  @Option(names = "--fail-on-overdue",
      description = "Exit with code " + ExitCodes.OVERDUE + " when a forget request is past its deadline and not "
          + "complete (for a scheduler's alert); the summary is printed and stored as usual.")
  boolean failOnOverdue;

  public static void main(String[] args) {
    Lethe.main(new StatusJob(), args);
  }

  @Override
  String jobName() {
    return "status";
  }

  @Override
  void run(SparkSession spark, LetheConfig config, RunSummary summary) {
    Status.Report status = io.lethe.api.Lethe.get(spark, config).status().execute();
    StoreLayout layout = status.layout();
    summary.input("store", status.store()).input("models", status.models());
    Map<String, Object> storeInfo = new LinkedHashMap<>();
    storeInfo.put("version", status.storeVersion());
    storeInfo.put("shards", layout.shards());
    storeInfo.put("subjectColumn", layout.subjectColumn());
    storeInfo.put("labelColumn", layout.labelColumn());
    storeInfo.put("task", layout.task().id());
    storeInfo.put("classes", layout.labelClasses());
    storeInfo.put("numericFeatures", layout.numericFeatures());
    storeInfo.put("categoricalFeatures", layout.categoricalFeatures());
    storeInfo.put("rowsPerShard", new TreeMap<>(status.rowsPerShard()));
    summary.output("store", storeInfo);
    summary.output("ensembleVersions", status.ensembleVersions());
    EnsembleManifest m = status.published();
    if (m != null) {
      summary.output("published", Map.of("version", m.version(), "createdAt", m.createdAt(),
          "estimator", m.estimator(), "aggregation", m.aggregation(), "subModels", m.shards()));
      summary.output("staleShards", status.staleShards());
      summary.output("shardsTrainedOnDeletedRows", status.shardsTrainedOnDeletedRows());
    }
    LedgerSummary ledger = status.ledger();
    summary.output("ledger", ledger);
    say(String.format("Store %s: version %d, %d shards. Published ensemble: %s. Forget requests: %s, %d overdue.",
        status.store(), status.storeVersion(), layout.shards(), m != null ? "version " + m.version() : "none",
        ledger.requestsByStatus().isEmpty() ? "none" : ledger.requestsByStatus(), ledger.overdue()));
    if (failOnOverdue && ledger.overdue() > 0) {
      throw new RequestsOverdueException(ledger.overdue() + " forget request(s) are past their deadline and not"
          + " complete (outputs.ledger.open lists them by request id)");
    }
  }

}
