package io.lethe.internal.train;

import io.lethe.internal.model.Aggregation;
import io.lethe.internal.model.ShardEnsembleModel;
import io.lethe.internal.store.ShardedStore;
import io.lethe.types.EnsembleManifest;
import io.lethe.types.SubModelEntry;
import java.util.List;

/**
 * The baseline Lethe is measured against: one model of the same pipeline and estimator fitted on
 * all the store's rows (what users do without Lethe), as a one-member ensemble so that it scores
 * and evaluates like the sharded one. Never published.
 *
 * @param model the fitted model
 * @param rows the rows it saw
 * @param seconds wall time of the fit
 */
public record SingleModel(ShardEnsembleModel model, long rows, double seconds) {

  /** Fits on every row of the store at a version. */
  public static SingleModel fit(ShardedStore store, TrainSettings settings, long version) {
    // The estimator's own fit, spark.ml's distributed one (what a user does without Lethe): no slices, no
    // certified trainer, whatever the forget strategy, and never the task engine.
    ShardTrainer.FittedShard fitted = new ShardTrainer(store, settings.withStrategy(ShardRetrainStrategy.INSTANCE))
        .fit(0, store.read(version));
    SubModelEntry entry = new SubModelEntry(0, "", version, fitted.rows(), fitted.seed(), "", fitted.fitSeconds(),
        SubModelEntry.SHARD_RETRAIN, SubModelEntry.JOBS);
    EnsembleManifest manifest = new EnsembleManifest(EnsembleManifest.FORMAT_VERSION, 0, "", store.path(),
        store.layout().task().id(), store.layout().labelClasses(), Aggregation.SOFT.id(), settings.estimator(),
        settings.recordedParams(), List.of(entry));
    return new SingleModel(new ShardEnsembleModel(manifest, List.of(fitted.model())), fitted.rows(),
        fitted.fitSeconds());
  }
}
