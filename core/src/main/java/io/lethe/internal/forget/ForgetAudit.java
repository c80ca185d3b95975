package io.lethe.internal.forget;

import java.util.List;
import java.util.Set;

/**
 * Evidence a forget run takes at the one moment it can: after the new ensemble is published and
 * before the old one is retired and the store purged. The deleted rows can then still be read by
 * time travel and the model trained on them still exists, so both models can be measured on
 * them. An audit keeps aggregates only, never the rows. A failing audit does not stop the run:
 * forgetting comes first, and verify reports a batch without evidence as such.
 */
@FunctionalInterface
public interface ForgetAudit {
  ForgetAudit NONE = moment -> { };

  void record(Moment moment);

  /**
   * What the run did, for the audit to look at.
   *
   * @param versionBefore a store version that still holds the deleted rows: the one the run's plan matched
   *     them on, whatever commits landed between the plan and the delete (for rows an earlier run of the
   *     batch deleted, the newest version that still holds them)
   * @param deleteVersion the store version of the delete
   * @param hitShards the shards that held the rows
   * @param idColumn the store column the ids are in
   * @param ids the ids whose rows this run, or an earlier run of its batch, deleted (in memory only)
   * @param ensembleBefore the ensemble version published before the run (null if none)
   * @param ensembleAfter the ensemble version the run published (null if none)
   */
  record Moment(String batchId, long versionBefore, long deleteVersion, Set<Integer> hitShards, String idColumn,
      List<String> ids, Long ensembleBefore, Long ensembleAfter) {}
}
