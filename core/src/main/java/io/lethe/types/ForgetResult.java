package io.lethe.types;

import io.lethe.Evolving;
import java.util.List;
import java.util.Map;

/**
 * What a forget run did. Counts, versions and times only.
 *
 * @param batchId the run's id in the ledger
 * @param requests requests the run worked on (new and resumed; not-found ones are complete at once)
 * @param storeVersion the store version after the delete (the plan's version if nothing was deleted)
 * @param ensembleVersion the ensemble published after retraining (null if none)
 * @param retrainedShards shards whose sub-models were replaced (retrained or rebuilt)
 * @param unlearning per replaced shard, the strategy that made its new sub-model and why
 * @param retirement what was deleted from the registry and why (null when the run stopped before)
 * @param purge what the purge did (null when purging is left to the purge job)
 * @param forgotten requests complete after this run
 * @param purgePending requests gone from the model whose rows may still be on storage until a
 *     later purge (the retention has not passed, or forget.purge is false)
 * @param seconds wall time by step
 * @param cost by step: wall time, Spark jobs started, Delta commits made
 */
@Evolving
public record ForgetResult(ForgetPlan plan, String batchId, int requests, long storeVersion, Long ensembleVersion,
    List<Integer> retrainedShards, List<ShardUnlearning> unlearning, Retirement retirement, PurgeResult purge,
    long forgotten, long purgePending, Map<String, Double> seconds, Map<String, StepCost> cost) {

  public ForgetResult {
    retrainedShards = List.copyOf(retrainedShards);
    unlearning = List.copyOf(unlearning);
    seconds = Map.copyOf(seconds);
    cost = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(cost));
  }
}
