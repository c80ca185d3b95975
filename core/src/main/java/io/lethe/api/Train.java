package io.lethe.api;

import io.lethe.Evolving;
import io.lethe.types.ShardSelection;
import io.lethe.types.TrainPlan;
import io.lethe.types.TrainResult;
import java.util.List;

/** Trains the selected shards on the store's current version and publishes an ensemble version. */
@Evolving
public final class Train {
  private final Lethe lethe;
  private ShardSelection selection = ShardSelection.all();

  Train(Lethe lethe) {
    this.lethe = lethe;
  }

  /** Every shard (the default). */
  public Train allShards() {
    selection = ShardSelection.all();
    return this;
  }

  /** Only these shards; the others keep their published sub-models. */
  public Train shards(List<Integer> shards) {
    selection = ShardSelection.of(shards);
    return this;
  }

  /** Only the shards whose rows changed since their sub-model (none: nothing is published). */
  public Train staleShards() {
    selection = ShardSelection.stale();
    return this;
  }

  public ShardSelection selection() {
    return selection;
  }

  /** The shards it would fit and on which engine; changes nothing. */
  public TrainPlan plan() {
    return lethe.internals().training().plan(selection);
  }

  public TrainResult execute() {
    return lethe.internals().training().run(selection);
  }
}
