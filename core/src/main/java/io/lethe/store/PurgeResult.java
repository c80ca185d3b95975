package io.lethe.store;

import java.util.List;

/**
 * What a purge did.
 *
 * @param shards the shards whose deletion-vector files were rewritten
 * @param reorgVersion the store version of the REORG commit (null when no shard was given)
 * @param filesDeleted files VACUUM deleted (null when Delta did not log its VACUUM)
 * @param retentionHours the VACUUM retention: versions newer than {@code vacuumedAt} minus this
 *     can still be read by time travel, and rows deleted within it may still be on storage
 * @param vacuumedAt when VACUUM started (ISO-8601)
 */
public record PurgeResult(List<Integer> shards, Long reorgVersion, Long filesDeleted, double retentionHours,
    String vacuumedAt) {

  public PurgeResult {
    shards = List.copyOf(shards);
  }
}
