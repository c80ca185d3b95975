package io.lethe.internal.train;

import io.lethe.InvalidConfigException;
import io.lethe.InvalidRequestException;
import io.lethe.LetheException;
import io.lethe.internal.model.Aggregation;
import io.lethe.internal.registry.ModelRegistry;
import io.lethe.internal.registry.SubModelDir;
import io.lethe.internal.run.Futures;
import io.lethe.internal.run.StepTimes;
import io.lethe.internal.store.ShardedStore;
import io.lethe.types.EnsembleManifest;
import io.lethe.types.ShardSelection;
import io.lethe.types.ShardUnlearning;
import io.lethe.types.SubModelEntry;
import io.lethe.types.TrainPlan;
import io.lethe.types.TrainResult;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Trains the selected shards on one store version and publishes the resulting ensemble version. */
public final class Training {
  private static final Logger LOG = LoggerFactory.getLogger(Training.class);
  private static final int PUBLISH_ROUNDS = 3;
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
    times.time("plan", () -> checkPipeline(storeVersion));
    if (shards.isEmpty()) {
      return new TrainResult(storeVersion, List.of(), List.of(), null, times.asMap(), times.costs());
    }
    List<SubModelEntry> fitted = times.time("fit", () -> fit(shards, storeVersion));
    TrainResult published = times.time("publish", () -> publish(fitted, shards, storeVersion));
    return new TrainResult(storeVersion, published.trainedShards(), published.emptyShards(), published.published(),
        times.asMap(), times.costs());
  }

  /**
   * What {@link #run} would do on the store's current version, with no side effect: the shards it
   * would fit and the engine; fails as the run would on a pipeline that does not fit the store.
   */
  public TrainPlan plan(ShardSelection selection) {
    long storeVersion = store.currentVersion();
    List<Integer> shards = select(selection, registry.latest());
    checkPipeline(storeVersion);
    Engine.Choice choice = shards.isEmpty() ? new Engine.Choice(settings.engine(), "nothing to fit")
        : new ShardTrainer(store, settings).chooseEngine(shards, storeVersion);
    return new TrainPlan(storeVersion, shards, settings.estimator(), settings.strategy().id(), choice.engine().id(),
        choice.reason());
  }

  /**
   * Fits the given shards on a store version and saves their sub-models, unpublished. A partial
   * fit must use the published ensemble's estimator and parameters.
   */
  public List<SubModelEntry> fit(List<Integer> shards, long storeVersion) {
    if (shards.isEmpty()) {
      return List.of();
    }
    Optional<EnsembleManifest> base = registry.latest();
    boolean partial = shards.size() < store.layout().shards();
    if (partial && base.isEmpty()) {
      throw new InvalidRequestException("No ensemble is published yet: train all shards first");
    }
    if (partial && !sameEstimator(base.get())) {
      throw new InvalidConfigException("The published ensemble was trained with " + base.get().estimator() + " "
          + base.get().estimatorParams() + "; retrain all shards to change the estimator or its parameters");
    }
    return new ShardTrainer(store, settings).train(shards, storeVersion, registry);
  }

  /**
   * Checks, with no side effect, that the user's pipeline (train.pipeline), if any, fits the
   * store: one clear message naming the stage and the column when it does not.
   */
  public void checkPipeline(long storeVersion) {
    new ShardTrainer(store, settings).checkPipeline(storeVersion);
  }

  /** The sub-models an unlearning step saved (unpublished) and how each shard was brought up to date. */
  public record Unlearned(List<SubModelEntry> entries, List<ShardUnlearning> shards) {}

  /**
   * Brings the given shards' sub-models to a store version after rows were deleted from them (or
   * appended), each by the configured strategy from what the published sub-model keeps, else, and
   * whenever the strategy cannot apply, by a retrain of the shard. Saves, does not publish.
   */
  public Unlearned unlearn(List<Integer> shards, long storeVersion) {
    if (shards.isEmpty()) {
      return new Unlearned(List.of(), List.of());
    }
    Optional<EnsembleManifest> base = registry.latest();
    List<SubModelEntry> entries = new ArrayList<>();
    List<ShardUnlearning> steps = new ArrayList<>();
    Map<Integer, String> retrain = new TreeMap<>();
    Strategy strategy = settings.strategy();
    Optional<String> unsupported = ShardTrainer.unsupported(store.layout(), settings);
    boolean same = base.isPresent() && sameEstimator(base.get());
    // Made on first use: it reads the store's schema (the imputer writes back in each column's type).
    Supplier<StatisticsModel> statisticsModel = memoized(
        () -> new StatisticsModel(store.layout(), settings, store.read(storeVersion).schema()));
    if (unsupported.isPresent()) {
      shards.forEach(shard -> retrain.put(shard, "fallback: " + unsupported.get()));
    } else {
      // Up to train.parallelism hit shards at a time: each strategy's update is mostly its own
      // reads, Spark jobs and saves. The threads inherit the run's Spark properties and log context.
      ExecutorService pool = Executors.newFixedThreadPool(Math.min(shards.size(), settings.parallelism()));
      try {
        Map<Integer, Future<ShardOutcome>> outcomes = new TreeMap<>();
        for (int shard : shards) {
          outcomes.put(shard, pool.submit(Futures.withLogContext(() -> strategy.unlearn(new ShardUnlearn(store,
              registry, settings, shard, base.orElse(null), base.flatMap(m -> m.shard(shard)).orElse(null),
              storeVersion, same, statisticsModel)))));
        }
        outcomes.forEach((shard, future) -> {
          ShardOutcome outcome = Futures.join(future, "unlearning shard " + shard);
          if (outcome.retrains()) {
            retrain.put(shard, outcome.retrainBecause());
          } else {
            entries.add(outcome.entry());
            steps.add(outcome.step());
          }
        });
      } finally {
        pool.shutdownNow();
      }
    }
    List<SubModelEntry> fitted = fit(new ArrayList<>(retrain.keySet()), storeVersion);
    entries.addAll(fitted);
    retrain.forEach((shard, why) -> {
      List<SubModelEntry> mine = fitted.stream().filter(e -> e.shard() == shard).toList();
      steps.add(new ShardUnlearning(shard, ShardRetrainStrategy.INSTANCE.id(), true, why, 0, 0,
          mine.stream().mapToDouble(SubModelEntry::fitSeconds).sum(), null,
          mine.stream().map(SubModelEntry::engine).findFirst().orElse(null)));
    });
    steps.sort(java.util.Comparator.comparingInt(ShardUnlearning::shard));
    return new Unlearned(entries, steps);
  }

  /**
   * Shards fitted, in memory, on a store version without the rows of a delete that was about to
   * commit on it: what {@link #unlearn} would fit on the version after the delete, made while the
   * delete runs. {@link #adopt} saves it once the delete has committed, if that holds.
   */
  public static final class Prefit {
    private final List<Integer> shards;
    private final long version;
    private final Map<Integer, ShardTrainer.FittedShard> models;
    private final String because;

    private Prefit(List<Integer> shards, long version, Map<Integer, ShardTrainer.FittedShard> models, String because) {
      this.shards = List.copyOf(shards);
      this.version = version;
      this.models = models;
      this.because = because;
    }

    /** The store version it read, before the delete. */
    public long version() {
      return version;
    }
  }

  /**
   * Fits the shards a delete is about to change, on the store version the delete starts from,
   * leaving out the rows it removes (those whose {@code column} holds one of the ids): so the
   * retrain runs while the delete does. Only where {@link #unlearn} would retrain every one of
   * them (the shard-retrain strategy, or a fallback to it) on the task engine; empty otherwise.
   */
  public Optional<Prefit> prefit(List<Integer> shards, long version, String column, Collection<String> ids) {
    Optional<EnsembleManifest> base = registry.latest();
    Optional<String> unsupported = ShardTrainer.unsupported(store.layout(), settings);
    boolean retrainsAll = settings.strategy() == ShardRetrainStrategy.INSTANCE || unsupported.isPresent();
    boolean partial = shards.size() < store.layout().shards();
    if (shards.isEmpty() || !retrainsAll || partial && (base.isEmpty() || !sameEstimator(base.get()))) {
      return Optional.empty();
    }
    return new ShardTrainer(store, settings)
        .fitBeforeDelete(shards, version, new TaskEngine.PendingDelete(column, List.copyOf(ids)))
        .map(models -> new Prefit(shards, version, models, unsupported.map(u -> "fallback: " + u).orElse("configured")));
  }

  /**
   * Saves a {@link Prefit} as the shards' sub-models at {@code storeVersion}, the version after the
   * delete, when that is what it fitted: the delete committed right on the version it read (no
   * other commit between), the shards to retrain are the same, and each shard's row count in the
   * new version's log is the count it fitted. Empty otherwise: the caller retrains ({@link #unlearn}).
   */
  public Optional<Unlearned> adopt(Prefit prefit, List<Integer> shards, long storeVersion) {
    if (storeVersion != prefit.version + 1) {
      LOG.info("The shards fitted while the delete ran are retrained: the store is at version {}, not {}", storeVersion,
          prefit.version + 1);
      return Optional.empty();
    }
    if (!new TreeSet<>(shards).equals(new TreeSet<>(prefit.shards))) {
      LOG.info("The shards fitted while the delete ran are retrained: the shards to retrain are now {}", shards);
      return Optional.empty();
    }
    Map<Integer, Long> inLog = store.rowsPerShardFromLog(storeVersion, prefit.shards);
    for (int shard : prefit.shards) {
      ShardTrainer.FittedShard fit = prefit.models.get(shard);
      long fitted = fit == null ? 0 : fit.rows();
      Long logged = inLog.get(shard);
      if (logged == null || logged != fitted) { // a shard whose log has no statistics cannot be checked
        LOG.warn("Shard {} was fitted on {} rows while the delete ran, but store version {} holds {}; retraining it",
            shard, fitted, storeVersion, logged);
        return Optional.empty();
      }
    }
    List<SubModelEntry> entries = new ShardTrainer(store, settings).save(prefit.models, storeVersion, registry);
    List<ShardUnlearning> steps = new ArrayList<>();
    for (int shard : prefit.shards) {
      ShardTrainer.FittedShard fit = prefit.models.get(shard);
      steps.add(new ShardUnlearning(shard, ShardRetrainStrategy.INSTANCE.id(), true, prefit.because, 0, 0,
          fit == null ? 0 : fit.fitSeconds(), null, fit == null ? null : fit.engine().id()));
    }
    return Optional.of(new Unlearned(entries, steps));
  }

  private static <T> Supplier<T> memoized(Supplier<T> make) {
    return new Supplier<>() {
      private T value;

      @Override
      public synchronized T get() {
        if (value == null) {
          value = make.get();
        }
        return value;
      }
    };
  }

  /**
   * Publishes a new ensemble version: the fitted sub-models, and for every other shard the latest
   * published one. A shard that was fitted but had no rows leaves the ensemble. Before publishing,
   * every sub-model is checked against the store's log: one fitted on a version older than a later
   * delete in its shard (a concurrent forget, a run that stopped half-way) is retrained on the
   * current version first, so a published ensemble never holds a sub-model trained on deleted rows.
   */
  public TrainResult publish(List<SubModelEntry> fitted, Collection<Integer> attempted, long storeVersion) {
    Map<Integer, SubModelEntry> mine = new TreeMap<>();
    Map<Integer, Long> attemptedAt = new TreeMap<>();
    attempted.forEach(s -> attemptedAt.put(s, storeVersion));
    fitted.forEach(e -> mine.put(e.shard(), e));
    for (int round = 0; round < PUBLISH_ROUNDS; round++) {
      Map<Integer, SubModelEntry> merged = new TreeMap<>();
      registry.latest().ifPresent(l -> l.shards().forEach(e -> merged.put(e.shard(), e)));
      attemptedAt.forEach((shard, version) -> {
        SubModelEntry published = merged.get(shard);
        if (published == null || published.storeVersion() <= version) {
          if (mine.containsKey(shard)) {
            merged.put(shard, mine.get(shard));
          } else {
            merged.remove(shard);
          }
        }
      });
      List<Integer> stale = trainedOnDeletedRows(store, merged.values());
      if (stale.isEmpty()) {
        if (merged.isEmpty()) {
          throw new InvalidRequestException("The store has no rows to train on at version " + storeVersion);
        }
        EnsembleManifest draft = new EnsembleManifest(EnsembleManifest.FORMAT_VERSION, 0, null, store.path(),
            store.layout().task().id(), store.layout().labelClasses(), aggregation.id(), settings.estimator(),
            settings.recordedParams(), new ArrayList<>(merged.values()));
        EnsembleManifest published = registry.publish(draft);
        List<Integer> empty = attemptedAt.keySet().stream().filter(s -> !mine.containsKey(s)).toList();
        return new TrainResult(storeVersion, List.copyOf(mine.keySet()), empty, published, Map.of(), Map.of());
      }
      long now = store.currentVersion();
      LOG.info("Shards {} hold sub-models fitted before a later delete; retraining them on store version {}", stale, now);
      List<SubModelEntry> retrained = new ShardTrainer(store, settings).train(stale, now, registry);
      stale.forEach(s -> {
        attemptedAt.put(s, now);
        mine.remove(s);
      });
      retrained.forEach(e -> mine.put(e.shard(), e));
    }
    throw new LetheException("Sub-models kept going stale while publishing: deletes keep landing in their shards."
        + " Run again when the concurrent forget runs have finished");
  }

  /**
   * Shards of a published ensemble whose sub-model was fitted on a store version older than a
   * later delete of rows in its shard: they were trained on rows that are deleted now.
   */
  public static List<Integer> shardsTrainedOnDeletedRows(ShardedStore store, EnsembleManifest published) {
    return trainedOnDeletedRows(store, published.shards());
  }

  /**
   * For each shard, the last store version that removed rows from it, since the oldest sub-model
   * directory on storage: what decides which stored artifacts were trained on deleted rows.
   */
  public static Map<Integer, Long> removalsSinceOldestSubModel(ShardedStore store, ModelRegistry registry) {
    long oldest = registry.subModelDirs().stream().mapToLong(SubModelDir::storeVersion).min().orElse(Long.MAX_VALUE);
    return oldest == Long.MAX_VALUE ? Map.of() : store.lastRemovalsSince(oldest);
  }

  private static List<Integer> trainedOnDeletedRows(ShardedStore store, Collection<SubModelEntry> entries) {
    long oldest = entries.stream().mapToLong(SubModelEntry::storeVersion).min().orElse(-1);
    Map<Integer, Long> removals = store.lastRemovalsSince(oldest);
    return entries.stream().filter(e -> e.storeVersion() < removals.getOrDefault(e.shard(), -1L))
        .map(SubModelEntry::shard).toList();
  }

  private boolean sameEstimator(EnsembleManifest base) {
    return base.estimator().equals(settings.estimator()) && base.estimatorParams().equals(settings.recordedParams());
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
            throw new InvalidRequestException("Shard " + s + " does not exist: the store has shards 0 to " + (total - 1));
          }
        }
        return new ArrayList<>(new TreeSet<>(selection.shards()));
      case STALE:
      default:
        return base.isEmpty() ? all : staleShards(store, base.get());
    }
  }
}
