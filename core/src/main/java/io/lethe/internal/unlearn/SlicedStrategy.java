package io.lethe.internal.unlearn;

import static org.apache.spark.sql.functions.col;

import io.lethe.InvalidConfigException;
import io.lethe.LetheConfig;
import io.lethe.LetheException;
import io.lethe.internal.store.ShardedStore;
import io.lethe.internal.train.Engine;
import io.lethe.internal.train.ShardOutcome;
import io.lethe.internal.train.ShardTrainer;
import io.lethe.internal.train.ShardUnlearn;
import io.lethe.internal.train.Strategy;
import io.lethe.internal.train.TrainSettings;
import io.lethe.types.ShardUnlearning;
import io.lethe.types.StoreLayout;
import io.lethe.types.SubModelEntry;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * SISA's slices with checkpoints, for the multilayer perceptron (which warm-starts from initial
 * weights): training runs R steps on growing prefixes of the shard's slices and keeps a checkpoint
 * after each; a forget retrains from the last checkpoint that saw no changed slice. Exact: the same
 * sliced training, on the same rows with the same seeds, as one from scratch.
 */
final class SlicedStrategy implements Strategy {
  private static final Logger LOG = LoggerFactory.getLogger(SlicedStrategy.class);
  /** R, the slices of each shard. */
  static final String SLICES = "forget.slices";
  private static final int DEFAULT_SLICES = 4;

  private final int slices;

  SlicedStrategy() {
    this(DEFAULT_SLICES);
  }

  private SlicedStrategy(int slices) {
    if (slices < 1) {
      throw new InvalidConfigException(SLICES + " must be at least 1, got " + slices);
    }
    this.slices = slices;
  }

  @Override
  public Map<String, String> keys() {
    return Map.of(SLICES, Integer.toString(DEFAULT_SLICES));
  }

  @Override
  public Strategy configure(LetheConfig config) {
    return new SlicedStrategy(config.getInt(SLICES));
  }

  /** A sub-model is fitted again with the slices it was trained on, whatever the configuration says now. */
  @Override
  public ShardTrainer retraining(ShardTrainer trainer, int shard, KeptState kept) {
    return kept.read(Checkpoints.FILE_NAME, Checkpoints.class)
        .map(c -> new ShardTrainer(trainer.store(), trainer.settings().withStrategy(new SlicedStrategy(c.slices()))))
        .orElse(trainer);
  }

  @Override
  public String id() {
    return "sliced";
  }

  @Override
  public boolean exact() {
    return true;
  }

  @Override
  public String guarantee() {
    return "exact: retrained from the last checkpoint before the earliest slice that held a deleted row; the same"
        + " sliced training, on the same rows with the same seeds, as one from scratch";
  }

  @Override
  public List<String> estimators() {
    return List.of("multilayer_perceptron");
  }

  @Override
  public Optional<String> ownSolver() {
    return Optional.of("the strategy " + id() + " trains with its own solver");
  }

  @Override
  public List<String> stateFiles() {
    return List.of(Checkpoints.FILE_NAME);
  }

  @Override
  public boolean trainsShards() {
    return true;
  }

  @Override
  public ShardTrainer.FittedShard train(ShardTrainer trainer, int shard, Dataset<Row> rows, long version,
      int maxPartitions) {
    long start = System.nanoTime();
    TrainSettings settings = trainer.settings();
    SlicedTraining.Result sliced;
    try {
      sliced = SlicedTraining.fit(trainer.store().layout(), settings, slices, shard, version, rows, 0, List.of(),
          maxPartitions);
    } catch (LetheException e) {
      throw e;
    } catch (Exception e) {
      throw new LetheException("Training shard " + shard + " failed: " + LetheException.firstLine(e), e);
    }
    return sliced == null ? null : new ShardTrainer.FittedShard(shard, sliced.model(), sliced.rows(),
        settings.seedFor(shard), (System.nanoTime() - start) / 1e9, Map.of(Checkpoints.FILE_NAME, sliced.checkpoints()),
        Engine.JOBS);
  }

  /**
   * The earliest slice that changed since the published sub-model (read from the change feed; every
   * slice when that is unreadable), then the steps from there on, from the checkpoint before it.
   */
  @Override
  public ShardOutcome unlearn(ShardUnlearn u) {
    long start = System.nanoTime();
    TrainSettings settings = u.settings();
    SubModelEntry published = u.published();
    Optional<Checkpoints> kept = u.kept(Checkpoints.FILE_NAME, Checkpoints.class);
    if (kept.isEmpty() || kept.get().slices() != slices || !u.sameEstimator()) {
      return ShardOutcome.retrain("fallback: the published sub-model has no checkpoints of " + slices + " slices");
    }
    int shard = u.shard();
    ShardedStore store = u.store();
    store.spark().sparkContext().setJobDescription("lethe: unlearn shard " + shard + " from its checkpoints");
    StoreLayout layout = store.layout();
    long removed = 0;
    long added = 0;
    int first;
    try {
      Column slice = layout.sliceOf(col(layout.subjectColumn()), slices);
      Column deleted = ShardedStore.removedByChange();
      Row changed = store.changes(published.storeVersion() + 1, u.storeVersion(), List.of(shard))
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
    SlicedTraining.Result result = SlicedTraining.fit(layout, settings, slices, shard, u.storeVersion(),
        store.readShard(shard, u.storeVersion()), from, reused, Integer.MAX_VALUE);
    if (result == null) {
      return ShardOutcome.retrain("no rows left");
    }
    SubModelEntry saved = u.registry().saveSubModel(shard, u.storeVersion(), result.model(), result.rows(),
        settings.seedFor(shard), 0, id(), SubModelEntry.JOBS, Map.of(Checkpoints.FILE_NAME, result.checkpoints()));
    double seconds = (System.nanoTime() - start) / 1e9;
    String detail = from == 0 ? "retrained every slice from the start: the first slice changed"
        : String.format("retrained slices %d to %d from the checkpoint of slices 0 to %d; %d checkpoint(s) reused,"
            + " %d retired", from, slices - 1, from - 1, reused.size(),
            kept.get().checkpoints().size() - reused.size());
    LOG.info("Shard {}: {} in {} s", shard, detail, String.format("%.2f", seconds));
    return ShardOutcome.done(saved.withFitSeconds(seconds), new ShardUnlearning(shard, id(), true, detail, removed,
        added, seconds, null, SubModelEntry.JOBS));
  }

  @Override
  public Optional<Example> example() {
    return Optional.of(new Example("multilayer_perceptron", Map.of("hiddenLayers", "8", "maxIter", "20")));
  }
}
