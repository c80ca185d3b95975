package io.lethe.forget;

import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.countDistinct;
import static org.apache.spark.sql.functions.lit;

import io.lethe.registry.EnsembleManifest;
import io.lethe.registry.ModelRegistry;
import io.lethe.run.StepTimes;
import io.lethe.store.ShardedStore;
import io.lethe.store.StoreLayout;
import io.lethe.train.ShardSelection;
import io.lethe.train.TrainResult;
import io.lethe.train.Training;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import org.apache.spark.sql.Row;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Exact unlearning by SISA: delete the subjects' rows (a new store version), retrain only the
 * shards that held them on that version, publish the new ensemble. Plan first, then execute.
 */
public final class Forgetter {
  private static final Logger LOG = LoggerFactory.getLogger(Forgetter.class);

  private final ShardedStore store;
  private final ModelRegistry registry;
  private final Training training;

  public Forgetter(ShardedStore store, ModelRegistry registry, Training training) {
    this.store = store;
    this.registry = registry;
    this.training = training;
  }

  /** Rows, shards and cost of a batch, on the current store version. Changes nothing. */
  public ForgetPlan plan(ForgetRequest request) {
    long version = store.currentVersion();
    Long ensemble = registry.latest().map(EnsembleManifest::version).orElse(null);
    int shards = store.layout().shards();
    if (request.size() == 0) {
      return new ForgetPlan(version, ensemble, 0, 0, 0, Map.of(), List.of(), shards, 0);
    }
    Set<Integer> candidates = store.shardsOf(request.subjectIds());
    Map<Integer, Long> rowsPerShard = new TreeMap<>();
    long found = 0;
    for (Row r : store.rowsOf(request.subjectIds(), candidates, version)
        .groupBy(StoreLayout.SHARD_COLUMN)
        .agg(count(lit(1)), countDistinct(store.layout().subject()))
        .collectAsList()) {
      rowsPerShard.put(r.getInt(0), r.getLong(1));
      found += r.getLong(2);
    }
    long rows = rowsPerShard.values().stream().mapToLong(Long::longValue).sum();
    return new ForgetPlan(version, ensemble, request.size(), found, rows, rowsPerShard,
        new ArrayList<>(rowsPerShard.keySet()), shards, ForgetPlan.expectedShardsHit(shards, found));
  }

  /** Deletes the batch's rows, retrains the hit shards on the new version and publishes. */
  public ForgetResult execute(ForgetRequest request, ForgetPlan plan) {
    StepTimes times = new StepTimes();
    if (plan.changesNothing()) {
      LOG.info("Forget batch of {} subjects matches no rows; nothing changed", plan.requestedSubjects());
      return new ForgetResult(plan, plan.storeVersion(), plan.ensembleVersion(), List.of(), times.asMap());
    }
    long deletedAt = times.time("delete", () -> store.deleteSubjects(request.subjectIds(), plan.hitShards()));
    LOG.info("Deleted {} rows of {} subjects from {} shards (store version {})", plan.rowsToDelete(),
        plan.foundSubjects(), plan.hitShards().size(), deletedAt);
    Optional<EnsembleManifest> base = registry.latest();
    if (base.isEmpty()) {
      LOG.info("No ensemble is published yet; train all shards to publish one");
      return new ForgetResult(plan, deletedAt, null, List.of(), times.asMap());
    }
    TrainResult trained = times.time("retrain", () -> training.run(ShardSelection.of(plan.hitShards()), deletedAt));
    return new ForgetResult(plan, deletedAt, trained.published().version(), trained.trainedShards(), times.asMap());
  }
}
