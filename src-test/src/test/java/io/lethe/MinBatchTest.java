package io.lethe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lethe.internal.forget.ForgetSettings;
import io.lethe.internal.forget.Forgetter;
import io.lethe.internal.forget.IdFile;
import io.lethe.internal.ledger.ForgetLedger;
import io.lethe.internal.ledger.LedgerKey;
import io.lethe.types.ForgetRequest;
import io.lethe.types.ForgetResult;
import io.lethe.types.IdKind;
import io.lethe.types.LedgerEntry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * forget.min-batch: a run with fewer requests than the minimum holds them (recorded, nothing else
 * changed), and a later run works on them once the batch is big enough, once the oldest has waited
 * forget.max-wait-hours, never past a deadline. On the shared Adult store (4 shards).
 */
class MinBatchTest extends LetheTestBase {
  @TempDir
  static Path dir;

  @Test
  void requestsWaitAcrossRunsUntilTheBatchReachesItsMinimum() {
    Path here = dir.resolve("count");
    LetheConfig config = sharedAdultConfig(here).with(Map.of(LetheConfig.FORGET_PURGE, "false",
        LetheConfig.FORGET_MIN_BATCH, "3", LetheConfig.FORGET_MAX_WAIT_HOURS, "48"));
    Trained trained = sharedAdult(here);
    Forgetter forgetter = forgetter(trained, config);
    long storeVersion = trained.store().currentVersion();
    long ensemble = trained.registry().latest().orElseThrow().version();

    ForgetResult first = forgetter.execute(ForgetRequest.ofSubjects(List.of("10")));
    assertThat(first.plan().held()).isEqualTo(1);
    assertThat(first.plan().heldBecause()).startsWith("1 request(s) held for a batch of 3 (forget.min-batch)")
        .contains("forget.max-wait-hours = 48.0");
    assertThat(first.plan().changesNothing()).isTrue();
    assertThat(first.requests()).as("requests worked on").isZero();
    assertThat(trained.store().currentVersion()).as("no row deleted").isEqualTo(storeVersion);
    assertThat(trained.registry().latest().orElseThrow().version()).as("no update published").isEqualTo(ensemble);
    LedgerEntry held = current(config, "10");
    assertThat(held.status()).isEqualTo("held");
    assertThat(held.detail()).isEqualTo(first.plan().heldBecause());
    assertThat(held.rows()).as("its rows, counted, no id").isPositive();
    Instant received = held.receivedAt();

    // The held id again, with a new one: two of three, both wait; the first keeps its request.
    ForgetResult second = forgetter.execute(ForgetRequest.ofSubjects(List.of("10", "20")));
    assertThat(second.plan().held()).isEqualTo(2);
    assertThat(second.plan().resumed()).as("the held request, open").isEqualTo(1);
    assertThat(trained.store().currentVersion()).isEqualTo(storeVersion);
    assertThat(current(config, "10").receivedAt()).isEqualTo(received);
    assertThat(current(config, "10").requestId()).isEqualTo(held.requestId());
    assertThat(current(config, "20").status()).isEqualTo("held");

    // A third: the batch is complete, and one update forgets all three.
    ForgetResult third = forgetter.execute(ForgetRequest.ofSubjects(List.of("10", "20", "30")));
    assertThat(third.plan().held()).isZero();
    assertThat(third.plan().heldBecause()).isNull();
    assertThat(third.requests()).isEqualTo(3);
    assertThat(third.plan().resumed()).isEqualTo(2);
    assertThat(third.ensembleVersion()).as("one update for the three").isEqualTo(ensemble + 1);
    assertThat(trained.store().currentVersion()).isGreaterThan(storeVersion);
    assertThat(trained.store().match(trained.store().layout().subjectColumn(), List.of("10", "20", "30"), null,
        trained.store().currentVersion())).as("their rows").isEmpty();
    for (String id : List.of("10", "20", "30")) {
      assertThat(current(config, id).status()).as(id).isEqualTo("purge-pending");
    }
    assertThat(current(config, "10").requestId()).as("the request held first").isEqualTo(held.requestId());
  }

  @Test
  void aHeldRequestIsReleasedByItsAgeAndTheDailyRunTakesItsIdAgain() throws Exception {
    Path here = dir.resolve("age");
    // 0.001 hours: 3.6 seconds.
    LetheConfig config = sharedAdultConfig(here).with(Map.of(LetheConfig.FORGET_PURGE, "false",
        LetheConfig.FORGET_MIN_BATCH, "5", LetheConfig.FORGET_MAX_WAIT_HOURS, "0.001"));
    Trained trained = sharedAdult(here);
    Forgetter forgetter = forgetter(trained, config);
    long ensemble = trained.registry().latest().orElseThrow().version();

    assertThat(forgetter.execute(ForgetRequest.ofSubjects(List.of("40"))).plan().held()).isEqualTo(1);
    LedgerEntry held = current(config, "40");
    assertThat(held.status()).isEqualTo("held");

    // The daily run's --new-only: a held request's id counts as new again, a completed one's not.
    Path requests = here.resolve("requests.txt");
    Files.writeString(requests, "40\n50\n");
    IdFile.NewIds fresh = IdFile.readNew(spark(), requests.toString(), "text", null, IdKind.SUBJECT,
        ForgetLedger.from(spark(), config), LedgerKey.from(config), 10);
    assertThat(fresh.request().ids()).containsExactlyInAnyOrder("40", "50");
    assertThat(fresh.inLedger()).isZero();

    // Past forget.max-wait-hours the request goes, alone, below the minimum.
    Instant releasedBy = ForgetSettings.from(config).releasedBy(held.receivedAt());
    Thread.sleep(Math.max(0, Duration.between(Instant.now(), releasedBy).toMillis()) + 200);
    ForgetResult released = forgetter.execute(ForgetRequest.ofSubjects(List.of("40")));
    assertThat(released.plan().held()).isZero();
    assertThat(released.requests()).isEqualTo(1);
    assertThat(released.ensembleVersion()).isEqualTo(ensemble + 1);
    assertThat(current(config, "40").status()).isEqualTo("purge-pending");
    assertThat(IdFile.readNew(spark(), requests.toString(), "text", null, IdKind.SUBJECT,
        ForgetLedger.from(spark(), config), LedgerKey.from(config), 10).request().ids())
        .as("once worked on, the id is known").containsExactly("50");
  }

  @Test
  void aWaitThatCouldReachADeadlineIsRefused() throws IOException {
    LetheConfig tooLong = LetheConfig.defaultsOnly().with(Map.of(LetheConfig.FORGET_MIN_BATCH, "10",
        LetheConfig.LEDGER_DEADLINE_DAYS, "3", LetheConfig.FORGET_MAX_WAIT_HOURS, "60"));
    assertThatThrownBy(() -> ForgetSettings.from(tooLong)).isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("forget.max-wait-hours (60.0) must leave a day before a request's deadline: at most 48"
            + " hours with ledger.deadline-days = 3");
    // A day before the deadline is allowed; with nothing held (min-batch 1) the wait does not matter.
    assertThat(ForgetSettings.from(tooLong.with(Map.of(LetheConfig.FORGET_MAX_WAIT_HOURS, "48"))).maxWaitHours())
        .isEqualTo(48.0);
    assertThat(ForgetSettings.from(tooLong.with(Map.of(LetheConfig.FORGET_MIN_BATCH, "1"))).minBatch()).isEqualTo(1);
    assertThatThrownBy(() -> ForgetSettings.from(LetheConfig.defaultsOnly().with(Map.of(LetheConfig.FORGET_MIN_BATCH,
        "0")))).isInstanceOf(InvalidConfigException.class).hasMessageContaining("forget.min-batch must be at least 1");
  }

  /** The current ledger entry of a subject's request. */
  private static LedgerEntry current(LetheConfig config, String id) {
    String hash = LedgerKey.from(config).hash(IdKind.SUBJECT, id);
    return ForgetLedger.from(spark(), config).currentOf(List.of(hash)).stream()
        .max(java.util.Comparator.comparing(LedgerEntry::receivedAt)).orElseThrow();
  }
}
