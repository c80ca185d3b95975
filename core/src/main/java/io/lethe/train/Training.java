package io.lethe.train;

import io.lethe.LetheException;
import io.lethe.model.Aggregation;
import io.lethe.registry.EnsembleManifest;
import io.lethe.registry.ModelRegistry;
import io.lethe.registry.SubModelEntry;
import io.lethe.run.StepTimes;
import io.lethe.store.ShardedStore;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/** Trains the selected shards on one store version and publishes the resulting ensemble version. */
public final class Training {
  private final ShardedStore store;
  private final ModelRegistry registry;
  private final TrainSettings settings;
  private final Aggregation aggregation;

  public Training(ShardedStore store, ModelRegistry registry, TrainSettings settings, Aggregation aggregation) {
    this.store = store;
    this.registry = registry;
    this.settings = settings;
    this.aggregation = aggregation;
  }

  /** Trains on the store's current version. */
  public TrainResult run(ShardSelection selection) {
    return run(selection, store.currentVersion());
  }

  public TrainResult run(ShardSelection selection, long storeVersion) {
    StepTimes times = new StepTimes();
    Optional<EnsembleManifest> base = times.time("plan", () -> registry.latest());
    List<Integer> shards = times.time("plan", () -> select(selection, base));
    if (shards.isEmpty()) {
      return new TrainResult(storeVersion, List.of(), List.of(), null, times.asMap());
    }
    boolean partial = shards.size() < store.layout().shards();
    if (partial && base.isEmpty()) {
      throw new LetheException("No ensemble is published yet: train all shards first");
    }
    if (partial && !sameEstimator(base.get())) {
      throw new LetheException("The published ensemble was trained with " + base.get().estimator() + " "
          + base.get().estimatorParams() + "; retrain all shards to change the estimator or its parameters");
    }
    List<SubModelEntry> fitted = times.time("fit", () -> new ShardTrainer(store, settings).train(shards, storeVersion, registry));
    Set<Integer> trained = new TreeSet<>();
    fitted.forEach(e -> trained.add(e.shard()));
    List<Integer> empty = shards.stream().filter(s -> !trained.contains(s)).toList();
    List<SubModelEntry> entries = new ArrayList<>();
    base.ifPresent(b -> b.shards().stream().filter(e -> !shards.contains(e.shard())).forEach(entries::add));
    entries.addAll(fitted);
    if (entries.isEmpty()) {
      throw new LetheException("The store has no rows to train on at version " + storeVersion);
    }
    EnsembleManifest draft = new EnsembleManifest(EnsembleManifest.FORMAT_VERSION, 0, null, store.path(),
        store.layout().task().id(), store.layout().labelClasses(), aggregation.id(), settings.estimator(),
        settings.params(), entries);
    EnsembleManifest published = times.time("publish", () -> registry.publish(draft));
    return new TrainResult(storeVersion, List.copyOf(trained), empty, published, times.asMap());
  }

  private boolean sameEstimator(EnsembleManifest base) {
    return base.estimator().equals(settings.estimator()) && base.estimatorParams().equals(settings.params());
  }

  /**
   * Shards whose rows changed after the store version their published sub-model read (any commit
   * touching the shard's partition since), plus shards that have no sub-model but got rows.
   */
  public static List<Integer> staleShards(ShardedStore store, EnsembleManifest published) {
    Map<Long, Set<Integer>> changedSince = new HashMap<>();
    List<Integer> stale = new ArrayList<>();
    for (int s : store.layout().allShards()) {
      long since = published.shard(s).map(SubModelEntry::storeVersion).orElse(-1L);
      if (changedSince.computeIfAbsent(since, store::shardsChangedSince).contains(s)) {
        stale.add(s);
      }
    }
    return stale;
  }

  private List<Integer> select(ShardSelection selection, Optional<EnsembleManifest> base) {
    int total = store.layout().shards();
    List<Integer> all = store.layout().allShards();
    switch (selection.kind()) {
      case ALL:
        return all;
      case LISTED:
        for (int s : selection.shards()) {
          if (s < 0 || s >= total) {
            throw new LetheException("Shard " + s + " does not exist: the store has shards 0 to " + (total - 1));
          }
        }
        return new ArrayList<>(new TreeSet<>(selection.shards()));
      case STALE:
      default:
        return base.isEmpty() ? all : staleShards(store, base.get());
    }
  }
}
