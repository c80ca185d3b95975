package io.lethe.bench;

import io.lethe.internal.ledger.ForgetLedger;
import io.lethe.internal.ledger.LedgerKey;
import io.lethe.types.ForgetStep.Phase;
import io.lethe.types.ForgetStep;
import io.lethe.types.IdKind;
import io.lethe.types.LedgerEntry;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Days of forget requests written straight into a ledger, each day in one commit, as forget runs
 * record them: the day's new requests and the end of the previous day's open ones. Of the new
 * requests (fates drawn from a seeded hash of the day and the request), 5 in 100 match no row, 3
 * fail at the retrain and finish the next day, 8 wait for their purge until the next day, and the
 * rest are forgotten the same day. Subject ids are {@code subject-<day>-<n>}, hashed with the key.
 */
public final class SimulatedLedger {
  private static final Instant START = Instant.parse("2026-01-01T02:00:00Z");
  private static final ForgetStep[] FULL = {ForgetStep.DELETE, ForgetStep.RETRAIN, ForgetStep.PUBLISH,
      ForgetStep.RETIRE};

  private final ForgetLedger ledger;
  private final LedgerKey key;
  private final long seed;
  /** The previous day's requests still open (failed or waiting for their purge). */
  private List<LedgerEntry> open = new ArrayList<>();
  private long requests;
  private long events;

  public SimulatedLedger(ForgetLedger ledger, LedgerKey key, long seed) {
    this.ledger = ledger;
    this.key = key;
    this.seed = seed;
  }

  /** Records day {@code day} (from 0) with {@code newRequests} new requests, in one ledger commit; returns its events. */
  public int day(int day, int newRequests) {
    Instant t = START.plus(Duration.ofDays(day));
    String batch = "simulated-day-" + day;
    List<LedgerEntry> out = new ArrayList<>();
    List<LedgerEntry> stillOpen = new ArrayList<>();
    for (LedgerEntry e : open) {
      Clock clock = new Clock(t);
      LedgerEntry last = e;
      if (e.forgetPhase() == Phase.FAILED) {
        for (ForgetStep step : new ForgetStep[] {ForgetStep.RETRAIN, ForgetStep.PUBLISH, ForgetStep.RETIRE}) {
          last = add(out, last.then(batch, step, Phase.STARTED, clock.next()));
          last = add(out, last.then(batch, step, Phase.DONE, clock.next()));
        }
        last = add(out, last.then(batch, ForgetStep.PURGE, Phase.STARTED, clock.next()));
      }
      last = add(out, last.then(batch, ForgetStep.PURGE, Phase.DONE, clock.next()));
      add(out, last.then(batch, ForgetStep.COMPLETE, Phase.DONE, clock.next()));
    }
    for (int n = 0; n < newRequests; n++) {
      Clock clock = new Clock(t.plusMillis(n));
      String hash = key.hash(IdKind.SUBJECT, "subject-" + day + "-" + n);
      int fate = Math.floorMod(Long.hashCode(seed * 1_000_003L + day * 100_003L + n) * 31 + 17, 100);
      Instant received = clock.next();
      LedgerEntry e = add(out, LedgerEntry.received(batch + "-" + n, batch, hash, IdKind.SUBJECT, received,
          ledger.deadlineFor(received)));
      if (fate < 5) {
        e = add(out, e.then(batch, ForgetStep.PLAN, Phase.DONE, clock.next()).withPlan(List.of(), 0, day));
        add(out, e.then(batch, ForgetStep.COMPLETE, Phase.DONE, clock.next()).withDetail("no rows found"));
        continue;
      }
      e = add(out, e.then(batch, ForgetStep.PLAN, Phase.DONE, clock.next()).withPlan(List.of(fate % 16), 4, day));
      if (fate < 8) {
        e = add(out, e.then(batch, ForgetStep.DELETE, Phase.STARTED, clock.next()));
        e = add(out, e.then(batch, ForgetStep.DELETE, Phase.DONE, clock.next()).withStoreVersion(day + 1));
        e = add(out, e.then(batch, ForgetStep.RETRAIN, Phase.STARTED, clock.next()));
        stillOpen.add(add(out, e.then(batch, ForgetStep.RETRAIN, Phase.FAILED, clock.next()).withDetail("SparkException")));
        continue;
      }
      for (ForgetStep step : FULL) {
        e = add(out, e.then(batch, step, Phase.STARTED, clock.next()));
        e = add(out, e.then(batch, step, Phase.DONE, clock.next()));
      }
      e = add(out, e.then(batch, ForgetStep.PURGE, Phase.STARTED, clock.next()));
      if (fate < 16) {
        stillOpen.add(add(out, e.then(batch, ForgetStep.PURGE, Phase.PENDING, clock.next())
            .withPurge(clock.next(), t.plus(Duration.ofDays(1)))));
        continue;
      }
      e = add(out, e.then(batch, ForgetStep.PURGE, Phase.DONE, clock.next()));
      add(out, e.then(batch, ForgetStep.COMPLETE, Phase.DONE, clock.next()));
    }
    ledger.record(out);
    open = stillOpen;
    requests += newRequests;
    events += out.size();
    return out.size();
  }

  /** New requests recorded so far. */
  public long requests() {
    return requests;
  }

  /** Events recorded so far. */
  public long events() {
    return events;
  }

  private static LedgerEntry add(List<LedgerEntry> out, LedgerEntry e) {
    out.add(e);
    return e;
  }

  /** A request's event times: a millisecond apart, so its history has one order. */
  private static final class Clock {
    private Instant now;

    Clock(Instant start) {
      this.now = start;
    }

    Instant next() {
      now = now.plusMillis(1);
      return now;
    }
  }
}
