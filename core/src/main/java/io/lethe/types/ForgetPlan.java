package io.lethe.types;

import io.lethe.Evolving;
import java.util.List;
import java.util.Map;

/**
 * What a forget batch will do, computed without changing anything. Counts, shard numbers and
 * versions only: no id.
 *
 * @param storeVersion the store version the plan was computed on
 * @param ensembleVersion the published ensemble it starts from (null if none is published)
 * @param kind subject or record
 * @param requested distinct ids in the batch
 * @param found ids with rows in the store now
 * @param notFound new ids with no row in the store: recorded in the ledger, nothing to delete
 * @param resumed ids whose request is already open in the ledger (an earlier run stopped, or held it
 *     for a batch): the run finishes it rather than opening a second one
 * @param alreadyForgotten ids whose request is complete and that have no rows: nothing to do
 * @param rowsToDelete rows that the delete will remove
 * @param rowsPerShard rows to delete, by shard
 * @param hitShards shards holding rows of the batch (now, or when a resumed request was planned)
 * @param shardsToRetrain hit shards, plus shards whose published sub-model predates an earlier
 *     delete (a run that stopped before retraining)
 * @param ensembleVersionsToRetire ensemble versions that will be deleted: they hold a sub-model
 *     trained on rows of the batch or on other deleted rows
 * @param subModelsToRetire sub-model directories that will be deleted for the same reason
 * @param totalShards the store's shard count
 * @param expectedShardsHit S * (1 - (1 - 1/S)^k) for k = found ids: what chance predicts
 * @param estimatedRetrainSeconds the last fit times of the shards to retrain, summed
 * @param fullRetrainSeconds the last fit times of all shards, summed: a full retrain's cost
 * @param held requests the run holds for a larger batch (forget.min-batch) instead of working on
 *     them: it records them and changes nothing else; 0 when it works on them
 * @param heldBecause why they are held and until when at the latest (null when none is)
 */
@Evolving
public record ForgetPlan(
    long storeVersion,
    Long ensembleVersion,
    String kind,
    int requested,
    long found,
    long notFound,
    long resumed,
    long alreadyForgotten,
    long rowsToDelete,
    Map<Integer, Long> rowsPerShard,
    List<Integer> hitShards,
    List<Integer> shardsToRetrain,
    List<Long> ensembleVersionsToRetire,
    int subModelsToRetire,
    int totalShards,
    double expectedShardsHit,
    double estimatedRetrainSeconds,
    double fullRetrainSeconds,
    long held,
    String heldBecause) {

  public ForgetPlan {
    rowsPerShard = Map.copyOf(rowsPerShard);
    hitShards = List.copyOf(hitShards);
    shardsToRetrain = List.copyOf(shardsToRetrain);
    ensembleVersionsToRetire = List.copyOf(ensembleVersionsToRetire);
  }

  /** Share of a full retrain this batch costs: shards to retrain over all shards. */
  public double retrainFraction() {
    return totalShards == 0 ? 0 : (double) shardsToRetrain.size() / totalShards;
  }

  /** Nothing to delete, retrain or finish (or every request is held). */
  public boolean changesNothing() {
    return held > 0 || (rowsToDelete == 0 && resumed == 0 && shardsToRetrain.isEmpty());
  }

  /** Advice when the batch is expected to hit most shards (see {@link ShardMath#advice}), else null. */
  public String advice() {
    return ShardMath.advice(totalShards, found).orElse(null);
  }
}
