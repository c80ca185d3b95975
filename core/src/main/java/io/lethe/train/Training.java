package io.lethe.train;

import static org.apache.spark.sql.functions.col;

import io.lethe.InvalidConfigException;
import io.lethe.InvalidRequestException;
import io.lethe.LetheException;
import io.lethe.model.Aggregation;
import io.lethe.registry.EnsembleManifest;
import io.lethe.registry.ModelRegistry;
import io.lethe.registry.SubModelDir;
import io.lethe.registry.SubModelEntry;
import io.lethe.run.StepTimes;
import io.lethe.store.ShardedStore;
import io.lethe.store.StoreLayout;
import io.lethe.unlearn.CertifiedLogistic;
import io.lethe.unlearn.CertifiedRemoval;
import io.lethe.unlearn.CertifiedState;
import io.lethe.unlearn.Checkpoints;
import io.lethe.unlearn.ExactStatistics;
import io.lethe.unlearn.ShardStatistics;
import io.lethe.unlearn.ShardUnlearning;
import io.lethe.unlearn.SlicedTraining;
import io.lethe.unlearn.StatisticsModel;
import io.lethe.unlearn.Strategy;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;
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
      return new TrainResult(storeVersion, List.of(), List.of(), null, times.asMap());
    }
    List<SubModelEntry> fitted = times.time("fit", () -> fit(shards, storeVersion));
    TrainResult published = times.time("publish", () -> publish(fitted, shards, storeVersion));
    return new TrainResult(storeVersion, published.trainedShards(), published.emptyShards(), published.published(),
        times.asMap());
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
   * appended), each by the configured strategy: exact statistics or certified removal from what
   * the published sub-model keeps, else, and whenever those cannot apply, a retrain of the shard.
   * Saves, does not publish.
   */
  public Unlearned unlearn(List<Integer> shards, long storeVersion) {
    if (shards.isEmpty()) {
      return new Unlearned(List.of(), List.of());
    }
    Optional<EnsembleManifest> base = registry.latest();
    List<SubModelEntry> entries = new ArrayList<>();
    List<ShardUnlearning> steps = new ArrayList<>();
    Map<Integer, String> retrain = new TreeMap<>();
    Optional<String> unsupported = ShardTrainer.unsupported(store.layout(), settings);
    boolean fromStatistics = unsupported.isEmpty() && (settings.strategy() == Strategy.EXACT_STATISTICS
        || settings.strategy() == Strategy.CERTIFIED_REMOVAL);
    // Read only when used: the imputer writes back in each column's type.
    StatisticsModel statisticsModel = fromStatistics
        ? new StatisticsModel(store.layout(), settings, store.read(storeVersion).schema()) : null;
    for (int shard : shards) {
      if (settings.hasPipeline()) {
        retrain.put(shard, "fallback: " + UserPipeline.RETRAINS);
      } else if (settings.strategy() == Strategy.SHARD_RETRAIN) {
        retrain.put(shard, "configured");
      } else if (unsupported.isPresent()) {
        retrain.put(shard, "fallback: " + unsupported.get());
      } else {
        String why = settings.strategy() == Strategy.SLICED
            ? unlearnSliced(shard, base, storeVersion, entries, steps)
            : unlearnShard(shard, base, storeVersion, statisticsModel, entries, steps);
        if (why != null) {
          retrain.put(shard, why);
        }
      }
    }
    List<SubModelEntry> fitted = fit(new ArrayList<>(retrain.keySet()), storeVersion);
    entries.addAll(fitted);
    retrain.forEach((shard, why) -> {
      List<SubModelEntry> mine = fitted.stream().filter(e -> e.shard() == shard).toList();
      steps.add(new ShardUnlearning(shard, Strategy.SHARD_RETRAIN.id(), true, why, 0, 0,
          mine.stream().mapToDouble(SubModelEntry::fitSeconds).sum(), null,
          mine.stream().map(SubModelEntry::engine).findFirst().orElse(null)));
    });
    steps.sort(java.util.Comparator.comparingInt(ShardUnlearning::shard));
    return new Unlearned(entries, steps);
  }

  /**
   * One shard by the configured strategy, from what its published sub-model keeps: adds its saved
   * sub-model and step, and returns null; or returns why the shard must be retrained instead.
   */
  private String unlearnShard(int shard, Optional<EnsembleManifest> base, long storeVersion,
      StatisticsModel statisticsModel, List<SubModelEntry> entries, List<ShardUnlearning> steps) {
    long start = System.nanoTime();
    Optional<SubModelEntry> published = base.flatMap(m -> m.shard(shard));
    boolean certified = settings.strategy() == Strategy.CERTIFIED_REMOVAL;
    Optional<ShardStatistics> kept = published.flatMap(e -> registry.statistics(base.get().version(), e));
    Optional<CertifiedState> state = certified
        ? published.flatMap(e -> registry.certified(base.get().version(), e)) : Optional.empty();
    if (kept.isEmpty() || (certified && state.isEmpty()) || !sameEstimator(base.get())) {
      return "fallback: the published sub-model keeps nothing " + settings.strategy().id() + " can start from";
    }
    store.spark().sparkContext().setJobDescription("lethe: unlearn shard " + shard + " by " + settings.strategy().id());
    ExactStatistics.Update update = ExactStatistics.update(store, shard, kept.get(), published.get().storeVersion(),
        storeVersion);
    if (update.statistics().totalRows() == 0) {
      return "no rows left";
    }
    long updated = System.nanoTime();
    String detail = update.incremental() ? "statistics updated from the changed rows"
        : "statistics recomputed from the shard";
    PipelineModel model;
    CertifiedState after = null;
    try {
      if (certified) {
        Transformer[] features = statisticsModel.features(update.statistics(), shard);
        CertifiedRemoval.Fit fit = certifiedRemoval(shard, storeVersion, features, state.get());
        after = fit.state();
        List<Transformer> stages = new ArrayList<>(List.of(features));
        stages.add(fit.model());
        model = new PipelineModel(Identifiable.randomUID("pipeline"), stages.toArray(new Transformer[0]));
        detail = after.exact()
            ? String.format("gradient residual of a Newton step over the budget %.3g: solved to the exact optimum",
                after.budget())
            : String.format("one Newton step; gradient residual %.3g within the budget %.3g (%d removal step(s)"
                + " since the last exact solve)", after.residual(), after.budget(), after.removals());
      } else {
        model = statisticsModel.build(update.statistics(), shard);
      }
    } catch (StatisticsModel.SingularException e) {
      return "fallback: " + e.getMessage();
    }
    long built = System.nanoTime();
    Map<String, Object> sideFiles = new HashMap<>(Map.of(ModelRegistry.STATISTICS_FILE, update.statistics()));
    if (after != null) {
      sideFiles.put(CertifiedState.FILE_NAME, after);
    }
    SubModelEntry saved = registry.saveSubModel(shard, storeVersion, model, update.statistics().totalRows(),
        settings.seedFor(shard), 0, settings.strategy().id(), SubModelEntry.JOBS, sideFiles);
    long end = System.nanoTime();
    double seconds = (end - start) / 1e9;
    entries.add(saved.withFitSeconds(seconds));
    boolean exact = after == null || after.exact();
    steps.add(new ShardUnlearning(shard, settings.strategy().id(), exact, detail, update.rowsRemoved(),
        update.rowsAdded(), seconds, after == null ? null : after.certificate(), SubModelEntry.JOBS));
    LOG.info("Shard {}: unlearned {} rows by {} in {} s (statistics {} s, model {} s, save {} s)", shard,
        update.rowsRemoved(), settings.strategy().id(), String.format("%.2f", seconds),
        String.format("%.2f", (updated - start) / 1e9), String.format("%.2f", (built - updated) / 1e9),
        String.format("%.2f", (end - built) / 1e9));
    return null;
  }

  /**
   * One sliced shard: the earliest slice that changed since its sub-model (read from the change
   * feed; every slice when that is unreadable), then the steps from there on, starting from the
   * checkpoint before it. Returns null when done, else why the shard must be retrained.
   */
  private String unlearnSliced(int shard, Optional<EnsembleManifest> base, long storeVersion,
      List<SubModelEntry> entries, List<ShardUnlearning> steps) {
    long start = System.nanoTime();
    Optional<SubModelEntry> published = base.flatMap(m -> m.shard(shard));
    Optional<Checkpoints> kept = published.flatMap(e -> registry.checkpoints(base.get().version(), e));
    if (kept.isEmpty() || kept.get().slices() != settings.slices() || !sameEstimator(base.get())) {
      return "fallback: the published sub-model has no checkpoints of " + settings.slices() + " slices";
    }
    store.spark().sparkContext().setJobDescription("lethe: unlearn shard " + shard + " from its checkpoints");
    StoreLayout layout = store.layout();
    int slices = settings.slices();
    long removed = 0;
    long added = 0;
    int first;
    try {
      Column slice = layout.sliceOf(col(layout.subjectColumn()), slices);
      Column deleted = ShardedStore.removedByChange();
      Row changed = store.changes(published.get().storeVersion() + 1, storeVersion, List.of(shard))
          .agg(functions.min(slice), functions.sum(functions.when(deleted, 1).otherwise(0)),
              functions.sum(functions.when(deleted, 0).otherwise(1))).head();
      first = changed.isNullAt(0) ? slices - 1 : changed.getInt(0);
      removed = changed.isNullAt(1) ? 0 : changed.getLong(1);
      added = changed.isNullAt(2) ? 0 : changed.getLong(2);
    } catch (Exception unreadable) { // change data vacuumed: every slice may have changed
      first = 0;
    }
    int from = first;
    List<Checkpoints.Checkpoint> reused = kept.get().checkpoints().stream().filter(c -> c.slice() < from).toList();
    SlicedTraining.Result result = SlicedTraining.fit(layout, settings, shard, storeVersion,
        store.readShard(shard, storeVersion), from, reused, Integer.MAX_VALUE);
    if (result == null) {
      return "no rows left";
    }
    SubModelEntry saved = registry.saveSubModel(shard, storeVersion, result.model(), result.rows(),
        settings.seedFor(shard), 0, Strategy.SLICED.id(), SubModelEntry.JOBS,
        Map.of(Checkpoints.FILE_NAME, result.checkpoints()));
    double seconds = (System.nanoTime() - start) / 1e9;
    entries.add(saved.withFitSeconds(seconds));
    String detail = from == 0 ? "retrained every slice from the start: the first slice changed"
        : String.format("retrained slices %d to %d from the checkpoint of slices 0 to %d; %d checkpoint(s) reused,"
            + " %d retired", from, slices - 1, from - 1, reused.size(),
            kept.get().checkpoints().size() - reused.size());
    steps.add(new ShardUnlearning(shard, Strategy.SLICED.id(), true, detail, removed, added, seconds, null,
        SubModelEntry.JOBS));
    LOG.info("Shard {}: {} in {} s", shard, detail, String.format("%.2f", seconds));
    return null;
  }

  /** The certified removal step of one shard on its remaining rows, featurized by the rebuilt stages. */
  private CertifiedRemoval.Fit certifiedRemoval(int shard, long storeVersion, Transformer[] features,
      CertifiedState before) {
    StoreLayout layout = store.layout();
    List<String> names = CertifiedRemoval.featureNames(features, layout);
    Dataset<Row> rows = store.readShard(shard, storeVersion).select(layout.trainingColumns().toArray(new Column[0]));
    Dataset<Row> featurized = new PipelineModel(Identifiable.randomUID("pipeline"), features).transform(rows);
    JavaRDD<CertifiedLogistic.LabeledVector> labeled = CertifiedRemoval.rows(featurized, shard);
    try {
      return CertifiedRemoval.remove(labeled, names, before, layout, settings, shard);
    } finally {
      CertifiedRemoval.release(labeled);
    }
  }

  /**
   * Publishes a new ensemble version: the fitted sub-models, and for every other shard the latest
   * published one. A shard that was fitted but had no rows leaves the ensemble. Before publishing,
   * every sub-model is checked against the store's log: one fitted on a version older than a later
   * delete in its shard (a concurrent forget, a run that stopped half-way) is refitted on the
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
        return new TrainResult(storeVersion, List.copyOf(mine.keySet()), empty, published, Map.of());
      }
      long now = store.currentVersion();
      LOG.info("Shards {} hold sub-models fitted before a later delete; refitting them on store version {}", stale, now);
      List<SubModelEntry> refitted = new ShardTrainer(store, settings).train(stale, now, registry);
      stale.forEach(s -> {
        attemptedAt.put(s, now);
        mine.remove(s);
      });
      refitted.forEach(e -> mine.put(e.shard(), e));
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
