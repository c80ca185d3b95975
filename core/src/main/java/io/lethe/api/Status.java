package io.lethe.api;

import io.lethe.Evolving;
import io.lethe.internal.registry.ModelRegistry;
import io.lethe.internal.store.ShardedStore;
import io.lethe.internal.train.Training;
import io.lethe.types.EnsembleManifest;
import io.lethe.types.LedgerSummary;
import io.lethe.types.StoreLayout;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The store, the registry, the published ensemble and the ledger at a glance. It only reads, so
 * it has no plan: {@link #execute} is its own plan.
 */
@Evolving
public final class Status {
  private final Lethe lethe;

  Status(Lethe lethe) {
    this.lethe = lethe;
  }

  /**
   * What status reports: counts, versions and column names, never subject ids.
   *
   * @param published the latest published ensemble, or null when none is
   * @param staleShards shards whose rows changed since their published sub-model
   * @param shardsTrainedOnDeletedRows shards whose published sub-model saw rows deleted since
   */
  public record Report(String store, String models, long storeVersion, StoreLayout layout,
      Map<Integer, Long> rowsPerShard, List<Long> ensembleVersions, EnsembleManifest published,
      List<Integer> staleShards, List<Integer> shardsTrainedOnDeletedRows, LedgerSummary ledger) {
    public Report {
      rowsPerShard = Map.copyOf(rowsPerShard);
      ensembleVersions = List.copyOf(ensembleVersions);
      staleShards = List.copyOf(staleShards);
      shardsTrainedOnDeletedRows = List.copyOf(shardsTrainedOnDeletedRows);
    }
  }

  public Report execute() {
    ShardedStore store = lethe.internals().store();
    ModelRegistry registry = lethe.internals().registry();
    long version = store.currentVersion();
    Optional<EnsembleManifest> latest = registry.latest();
    return new Report(store.path(), registry.root().toString(), version, store.layout(), store.rowsPerShard(version),
        registry.versions(), latest.orElse(null),
        latest.map(m -> Training.staleShards(store, m)).orElse(List.of()),
        latest.map(m -> Training.shardsTrainedOnDeletedRows(store, m)).orElse(List.of()),
        lethe.internals().ledger().summary(Instant.now()));
  }
}
