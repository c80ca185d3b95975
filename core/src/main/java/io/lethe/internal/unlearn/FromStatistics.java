package io.lethe.internal.unlearn;

import io.lethe.internal.engine.ShardStatistics;
import io.lethe.internal.registry.ModelRegistry;
import io.lethe.internal.store.ShardedStore;
import io.lethe.internal.train.ExactStatistics;
import io.lethe.internal.train.ShardOutcome;
import io.lethe.internal.train.ShardUnlearn;
import io.lethe.internal.train.StatisticsModel;
import io.lethe.internal.train.Strategy;
import io.lethe.types.ShardUnlearning;
import io.lethe.types.SubModelEntry;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.apache.spark.ml.PipelineModel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the strategies that start from a shard's statistics share: training keeps the statistics
 * beside the sub-model; a forget updates them from the rows that changed in the shard since (the
 * change data feed; recomputed from the shard when the feed is gone) and builds the new sub-model
 * from them, as {@link #build} says.
 */
abstract class FromStatistics implements Strategy {
  private static final Logger LOG = LoggerFactory.getLogger(FromStatistics.class);

  /** A sub-model built from the updated statistics, and what the step reports. */
  record Built(PipelineModel model, String detail, Map<String, Object> state, boolean exact,
      Map<String, Double> certificate) {}

  /**
   * The new sub-model from the shard's updated statistics, or empty with why it cannot be built
   * from them (the shard is then retrained).
   *
   * @param defaultDetail how the statistics were brought up to date
   */
  abstract Built build(ShardUnlearn shard, ShardStatistics statistics, String defaultDetail)
      throws StatisticsModel.SingularException;

  /** Why the published sub-model's state cannot start this strategy, or empty when it can. */
  Optional<String> missingState(ShardUnlearn shard) {
    return Optional.empty();
  }

  @Override
  public ShardOutcome unlearn(ShardUnlearn u) {
    long start = System.nanoTime();
    ShardedStore store = u.store();
    SubModelEntry published = u.published();
    Optional<ShardStatistics> kept = u.keptStatistics();
    if (kept.isEmpty() || missingState(u).isPresent() || !u.sameEstimator()) {
      return ShardOutcome.retrain("fallback: the published sub-model keeps nothing " + id() + " can start from");
    }
    int shard = u.shard();
    store.spark().sparkContext().setJobDescription("lethe: unlearn shard " + shard + " by " + id());
    ExactStatistics.Update update = ExactStatistics.update(store, shard, kept.get(), published.storeVersion(),
        u.storeVersion());
    if (update.statistics().totalRows() == 0) {
      return ShardOutcome.retrain("no rows left");
    }
    long updated = System.nanoTime();
    String detail = update.incremental() ? "statistics updated from the changed rows"
        : "statistics recomputed from the shard";
    Built built;
    try {
      built = build(u, update.statistics(), detail);
    } catch (StatisticsModel.SingularException e) {
      return ShardOutcome.retrain("fallback: " + e.getMessage());
    }
    long made = System.nanoTime();
    Map<String, Object> state = new HashMap<>(built.state());
    state.put(ModelRegistry.STATISTICS_FILE, update.statistics());
    SubModelEntry saved = u.registry().saveSubModel(shard, u.storeVersion(), built.model(),
        update.statistics().totalRows(), u.settings().seedFor(shard), 0, id(), SubModelEntry.JOBS, state);
    long end = System.nanoTime();
    double seconds = (end - start) / 1e9;
    LOG.info("Shard {}: unlearned {} rows by {} in {} s (statistics {} s, model {} s, save {} s)", shard,
        update.rowsRemoved(), id(), String.format("%.2f", seconds), String.format("%.2f", (updated - start) / 1e9),
        String.format("%.2f", (made - updated) / 1e9), String.format("%.2f", (end - made) / 1e9));
    return ShardOutcome.done(saved.withFitSeconds(seconds), new ShardUnlearning(shard, id(), built.exact(),
        built.detail(), update.rowsRemoved(), update.rowsAdded(), seconds, built.certificate(), SubModelEntry.JOBS));
  }
}
