package io.lethe.internal.train;

import io.lethe.internal.engine.ShardStatistics;
import io.lethe.internal.registry.ModelRegistry;
import io.lethe.internal.store.ShardedStore;
import io.lethe.types.EnsembleManifest;
import io.lethe.types.SubModelEntry;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * One hit shard for a strategy to unlearn: where its rows and sub-models are, the settings, the
 * published ensemble and the shard's entry in it, and the store version to bring it to.
 *
 * @param published the shard's entry in the published ensemble, or null when it has none
 * @param sameEstimator whether the published ensemble was trained with these settings' estimator
 *     and parameters (else its state describes another model)
 * @param statisticsModel the model builder from statistics, made on first use (it reads the schema)
 */
public record ShardUnlearn(ShardedStore store, ModelRegistry registry, TrainSettings settings, int shard,
    EnsembleManifest base, SubModelEntry published, long storeVersion, boolean sameEstimator,
    Supplier<StatisticsModel> statisticsModel) {

  /** The statistics the published sub-model keeps beside it, if it has a published sub-model and they exist. */
  public Optional<ShardStatistics> keptStatistics() {
    return kept(ModelRegistry.STATISTICS_FILE, ShardStatistics.class);
  }

  /**
   * A state file the published sub-model keeps beside it, by the name its strategy gave it, read
   * as the type the strategy names; empty when the shard has no published sub-model or it keeps none.
   */
  public <T> Optional<T> kept(String name, Class<T> type) {
    return published == null ? Optional.empty() : registry.stateFile(base.version(), published, name, type);
  }
}
