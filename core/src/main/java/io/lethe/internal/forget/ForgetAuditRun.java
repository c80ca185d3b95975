package io.lethe.internal.forget;

import io.lethe.internal.run.StepTimes;
import io.lethe.internal.store.ShardedStore;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The membership audit of a forget run, at the one moment it can run: what it looks at (the rows
 * the run deleted, and those an earlier run of its batch deleted, each read where they still were)
 * and its failure, which is logged without ids and does not stop the forget.
 */
final class ForgetAuditRun {
  private static final Logger LOG = LoggerFactory.getLogger(ForgetAuditRun.class);
  /** How far back a resumed run looks for a store version that still holds its requests' rows. */
  private static final int RESUMED_LOOKBACK = 20;

  private final ShardedStore store;
  private final ForgetAudit audit;

  ForgetAuditRun(ShardedStore store, ForgetAudit audit) {
    this.store = store;
    this.audit = audit;
  }

  /** Runs the audit; its failure is logged (without ids) and does not stop the forget. */
  void run(String batchId, ForgetPlanner.Prepared prepared, long deletedAt, Set<Integer> hit,
      Long ensembleBefore, Long ensembleAfter, StepTimes times) {
    if (audit == ForgetAudit.NONE) {
      return;
    }
    try {
      times.time("audit", () -> {
        moment(batchId, prepared, deletedAt, hit, ensembleBefore, ensembleAfter).ifPresent(audit::record);
        return null;
      });
    } catch (RuntimeException e) {
      // The class only: a message could quote the ids the audit was reading.
      LOG.warn("Forget batch {}: the membership audit failed and is skipped ({})", batchId,
          e.getClass().getSimpleName());
    }
  }

  /**
   * What the audit looks at: the rows this run deleted, read at the version its plan matched them
   * on, and those of resumed requests whose rows an earlier run of the batch deleted, read at the
   * newest version that still holds them (found by time travel from the version their ledger entry
   * records, back at most {@link #RESUMED_LOOKBACK} versions). Empty when no deleted row can be read.
   */
  private Optional<ForgetAudit.Moment> moment(String batchId, ForgetPlanner.Prepared prepared, long deletedAt,
      Set<Integer> hit, Long ensembleBefore, Long ensembleAfter) {
    List<String> ids = new ArrayList<>();
    long before = prepared.plan().storeVersion();
    List<ForgetPlanner.Item> resumed = new ArrayList<>();
    for (ForgetPlanner.Item item : prepared.items()) {
      if (item.found()) {
        ids.add(item.id());
      } else if (item.open() != null && item.open().storeVersion() != null && !item.open().shards().isEmpty()) {
        resumed.add(item);
      }
    }
    if (!resumed.isEmpty()) {
      List<String> gone = resumed.stream().map(ForgetPlanner.Item::id).toList();
      long from = resumed.stream().mapToLong(i -> i.open().storeVersion()).min().orElseThrow();
      for (long v = Math.min(from, before); v >= Math.max(0, from - RESUMED_LOOKBACK); v--) {
        boolean holds;
        try {
          holds = !store.match(prepared.column(), gone, hit, v).isEmpty();
        } catch (RuntimeException vacuumed) { // time travel no longer reaches it
          break;
        }
        if (holds) {
          ids.addAll(gone);
          before = v;
          break;
        }
      }
    }
    return ids.isEmpty() ? Optional.empty()
        : Optional.of(new ForgetAudit.Moment(batchId, before, deletedAt, hit, prepared.column(), ids, ensembleBefore,
            ensembleAfter));
  }
}
