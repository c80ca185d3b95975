package io.lethe.forget;

import io.lethe.ledger.ForgetLedger;
import io.lethe.ledger.ForgetStep;
import io.lethe.ledger.ForgetStep.Phase;
import io.lethe.ledger.LedgerEntry;
import io.lethe.store.CommitRetry;
import io.lethe.store.PurgeResult;
import io.lethe.store.ShardedStore;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Removes deleted rows from storage for requests already gone from the model: rewrites their
 * shards' files that hold rows behind deletion vectors (REORG ... APPLY (PURGE)), then VACUUMs.
 * A request is complete once a VACUUM ran at least the retention after its shards' REORG: only
 * then are the files holding its rows (old versions, change data) deleted.
 */
public final class Purger {
  private final ShardedStore store;
  private final double retentionHours;
  private final CommitRetry retry;

  public Purger(ShardedStore store, double retentionHours, CommitRetry retry) {
    this.store = store;
    this.retentionHours = retentionHours;
    this.retry = retry;
  }

  /**
   * What a purge did, and the ledger events it leads to: complete for requests whose rows are now
   * gone from storage, purge pending (with the time after which a purge will finish them) for the
   * others.
   */
  public record Report(PurgeResult store, long forgotten, long pending, List<LedgerEntry> events) {
    public Report {
      events = List.copyOf(events);
    }
  }

  /**
   * What {@link #purgeWaiting} would do, with no side effect: the open requests already gone from
   * the model, and the shards it would rewrite (REORG) for them before its VACUUM.
   */
  public record Plan(long requests, Set<Integer> shards, double retentionHours) {
    public Plan {
      shards = Set.copyOf(shards);
    }
  }

  public Plan plan(ForgetLedger ledger) {
    List<LedgerEntry> waiting = ledger.open().stream().filter(LedgerEntry::isForgottenByModel).toList();
    return new Plan(waiting.size(), shardsToRewrite(waiting), retentionHours);
  }

  private static Set<Integer> shardsToRewrite(List<LedgerEntry> requests) {
    Set<Integer> shards = new TreeSet<>();
    requests.stream().filter(e -> e.reorgedAt() == null).forEach(e -> shards.addAll(e.shards()));
    return shards;
  }

  /**
   * Purges for every open request of the ledger that is already gone from the model (forget runs
   * with {@code forget.purge=false}, or purges still inside the retention) and records the outcome.
   */
  public Report purgeWaiting(ForgetLedger ledger, String batchId) {
    List<LedgerEntry> waiting = ledger.open().stream().filter(LedgerEntry::isForgottenByModel).toList();
    Report report = purge(waiting, batchId);
    ledger.record(report.events());
    return report;
  }

  /** Purges for the given requests' current states (each already gone from the model). */
  public Report purge(List<LedgerEntry> requests, String batchId) {
    PurgeResult result = store.purge(shardsToRewrite(requests), retentionHours, retry);
    Instant vacuumedAt = Instant.parse(result.vacuumedAt());
    Duration retention = PurgeResult.retention(retentionHours);
    List<LedgerEntry> events = new ArrayList<>();
    long forgotten = 0;
    Instant now = Instant.now();
    for (LedgerEntry e : requests) {
      // VACUUM started after the REORG returned, so vacuumedAt bounds the REORG's time from above.
      Instant reorgedAt = e.reorgedAt() != null ? e.reorgedAt() : vacuumedAt;
      Instant purgeAfter = reorgedAt.plus(retention);
      if (!purgeAfter.isAfter(vacuumedAt)) {
        LedgerEntry done = e.then(batchId, ForgetStep.PURGE, Phase.DONE, now).withPurge(reorgedAt, null);
        events.add(done);
        events.add(done.then(batchId, ForgetStep.COMPLETE, Phase.DONE, now));
        forgotten++;
      } else {
        events.add(e.then(batchId, ForgetStep.PURGE, Phase.PENDING, now).withPurge(reorgedAt, purgeAfter)
            .withDetail("rows stay on storage until a purge after purge_after (VACUUM retention "
                + retentionHours + " h)"));
      }
    }
    return new Report(result, forgotten, requests.size() - forgotten, events);
  }
}
