package io.lethe.forget;

import java.util.List;
import java.util.Map;

/**
 * What a forget run did. Counts, versions and times only.
 *
 * @param storeVersion the store version after the delete (the plan's version if nothing changed)
 * @param ensembleVersion the ensemble published after retraining (null if none)
 * @param retrainedShards shards whose sub-models were refitted on the new version
 * @param seconds wall time by step
 */
public record ForgetResult(ForgetPlan plan, long storeVersion, Long ensembleVersion, List<Integer> retrainedShards,
    Map<String, Double> seconds) {

  public ForgetResult {
    retrainedShards = List.copyOf(retrainedShards);
    seconds = Map.copyOf(seconds);
  }
}
