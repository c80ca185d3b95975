package io.lethe.api;

import io.lethe.Evolving;
import io.lethe.types.PurgePlan;
import io.lethe.types.PurgeReport;
import java.util.UUID;

/**
 * Purges the store for the ledger's requests already gone from the model: REORG of their shards,
 * VACUUM with {@code purge.retention-hours}, and marks those whose rows are gone from storage
 * forgotten.
 */
@Evolving
public final class Purge {
  private final Lethe lethe;
  private String batchId;

  Purge(Lethe lethe) {
    this.lethe = lethe;
  }

  /** The batch id the ledger records the purge under (default: a fresh {@code purge-<uuid>}). */
  public Purge batchId(String id) {
    this.batchId = id;
    return this;
  }

  /** The waiting requests and the shards it would rewrite; changes nothing. */
  public PurgePlan plan() {
    return lethe.internals().purger().plan(lethe.internals().ledger());
  }

  public PurgeReport execute() {
    return lethe.internals().purger().purgeWaiting(lethe.internals().ledger(), batchId != null ? batchId : "purge-" + UUID.randomUUID());
  }
}
