package io.lethe.internal.train;

import java.util.List;

/**
 * SISA's own: a hit shard is retrained from scratch on its remaining rows, with the same settings
 * and seed. Applies to every estimator and pipeline, and is what every other strategy falls back to.
 */
public final class ShardRetrainStrategy implements Strategy {
  /** The one instance: training's default, and what every other strategy falls back to. */
  public static final Strategy INSTANCE = new ShardRetrainStrategy();

  private ShardRetrainStrategy() {}

  @Override
  public String id() {
    return io.lethe.types.SubModelEntry.SHARD_RETRAIN;
  }

  @Override
  public boolean exact() {
    return true;
  }

  @Override
  public String guarantee() {
    return "exact: the sub-model is a fit of the shard's remaining rows";
  }

  @Override
  public List<String> estimators() {
    return List.of();
  }

  @Override
  public List<String> stateFiles() {
    return List.of();
  }

  @Override
  public ShardOutcome unlearn(ShardUnlearn shard) {
    return ShardOutcome.retrain("configured");
  }
}
