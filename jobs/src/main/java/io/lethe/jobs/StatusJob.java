package io.lethe.jobs;

import io.lethe.LetheConfig;
import io.lethe.ledger.LedgerSummary;
import io.lethe.registry.EnsembleManifest;
import io.lethe.registry.ModelRegistry;
import io.lethe.run.RunSummary;
import io.lethe.store.ShardedStore;
import io.lethe.store.StoreLayout;
import io.lethe.train.Training;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;

@Command(name = "status",
    description = "The store, the registry, the published ensemble and the ledger at a glance: versions, rows per "
        + "shard, stale shards, forget requests by status (pending, waiting for a purge, overdue) and deadlines.")
public final class StatusJob extends JobCommand {
  public static void main(String[] args) {
    Lethe.exit(Lethe.execute(new StatusJob(), args));
  }

  @Override
  String jobName() {
    return "status";
  }

  @Override
  void run(SparkSession spark, LetheConfig config, RunSummary summary) {
    io.lethe.api.Lethe lethe = io.lethe.api.Lethe.get(spark, config);
    ShardedStore store = lethe.store();
    ModelRegistry registry = lethe.registry();
    StoreLayout layout = store.layout();
    long version = store.currentVersion();
    summary.input("store", store.path()).input("models", registry.root().toString());
    Map<String, Object> storeInfo = new LinkedHashMap<>();
    storeInfo.put("version", version);
    storeInfo.put("shards", layout.shards());
    storeInfo.put("subjectColumn", layout.subjectColumn());
    storeInfo.put("labelColumn", layout.labelColumn());
    storeInfo.put("task", layout.task().id());
    storeInfo.put("classes", layout.labelClasses());
    storeInfo.put("numericFeatures", layout.numericFeatures());
    storeInfo.put("categoricalFeatures", layout.categoricalFeatures());
    storeInfo.put("rowsPerShard", store.rowsPerShard(version));
    summary.output("store", storeInfo);
    summary.output("ensembleVersions", registry.versions());
    Optional<EnsembleManifest> latest = registry.latest();
    latest.ifPresent(m -> {
      summary.output("published", Map.of("version", m.version(), "createdAt", m.createdAt(),
          "estimator", m.estimator(), "aggregation", m.aggregation(), "subModels", m.shards()));
      summary.output("staleShards", Training.staleShards(store, m));
      summary.output("shardsTrainedOnDeletedRows", Training.shardsTrainedOnDeletedRows(store, m));
    });
    LedgerSummary ledger = lethe.ledger().summary(Instant.now());
    summary.output("ledger", ledger);
    say(String.format("Store %s: version %d, %d shards. Published ensemble: %s. Forget requests: %s, %d overdue.",
        store.path(), version, layout.shards(), latest.map(m -> "version " + m.version()).orElse("none"),
        ledger.requestsByStatus().isEmpty() ? "none" : ledger.requestsByStatus(), ledger.overdue()));
  }

}
