package io.lethe.internal.forget;

import io.lethe.internal.ledger.ForgetLedger;
import io.lethe.internal.store.CommitRetry;
import io.lethe.internal.store.ShardedStore;
import io.lethe.types.ForgetStep.Phase;
import io.lethe.types.ForgetStep;
import io.lethe.types.LedgerEntry;
import io.lethe.types.PurgePlan;
import io.lethe.types.PurgeReport;
import io.lethe.types.PurgeResult;
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



  public PurgePlan plan(ForgetLedger ledger) {
    List<LedgerEntry> waiting = ledger.open().stream().filter(LedgerEntry::isForgottenByModel).toList();
    return new PurgePlan(waiting.size(), shardsToRewrite(waiting), retentionHours);
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
  public PurgeReport purgeWaiting(ForgetLedger ledger, String batchId) {
    List<LedgerEntry> waiting = ledger.open().stream().filter(LedgerEntry::isForgottenByModel).toList();
    // The purge job is also the store's maintenance: it vacuums whatever the requests need.
    PurgeReport report = purge(waiting, batchId, true);
    ledger.record(report.events());
    ledger.compactStateIfDue();
    return report;
  }

  /**
   * Purges for the given requests' current states (each already gone from the model): a forget's
   * own purge. The VACUUM runs only when it can finish a request: when the retention is zero, or a
   * request's REORG is at least the retention old. Otherwise (the default retention) it would
   * delete none of their rows' files, and the REORG alone runs; the purge job vacuums later.
   */
  public PurgeReport purge(List<LedgerEntry> requests, String batchId) {
    return purge(requests, batchId, false);
  }

  private PurgeReport purge(List<LedgerEntry> requests, String batchId, boolean alwaysVacuum) {
    Duration retention = PurgeResult.retention(retentionHours);
    Instant start = Instant.now();
    boolean vacuum = alwaysVacuum || retention.isZero() || requests.stream()
        .anyMatch(e -> e.reorgedAt() != null && !e.reorgedAt().plus(retention).isAfter(start));
    PurgeResult result = store.purge(shardsToRewrite(requests), retentionHours, retry, vacuum);
    // VACUUM started after the REORG returned, so its start bounds the REORG's time from above; so
    // does now when no VACUUM ran.
    Instant now = Instant.now();
    Instant vacuumedAt = result.vacuumed() ? Instant.parse(result.vacuumedAt()) : null;
    List<LedgerEntry> events = new ArrayList<>();
    long forgotten = 0;
    for (LedgerEntry e : requests) {
      Instant reorgedAt = e.reorgedAt() != null ? e.reorgedAt() : vacuumedAt != null ? vacuumedAt : now;
      Instant purgeAfter = reorgedAt.plus(retention);
      if (vacuumedAt != null && !purgeAfter.isAfter(vacuumedAt)) {
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
    return new PurgeReport(result, forgotten, requests.size() - forgotten, events);
  }
}
