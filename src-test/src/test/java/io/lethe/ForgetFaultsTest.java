package io.lethe;

import static org.apache.spark.sql.functions.col;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.delta.exceptions.ConcurrentDeleteReadException;
import io.lethe.demo.AdultData;
import io.lethe.internal.forget.Forgetter;
import io.lethe.internal.forget.Purger;
import io.lethe.internal.ledger.ForgetLedger;
import io.lethe.internal.ledger.LedgerKey;
import io.lethe.internal.registry.ModelRegistry;
import io.lethe.internal.store.CommitRetry;
import io.lethe.internal.store.ShardedStore;
import io.lethe.internal.train.Training;
import io.lethe.types.EnsembleManifest;
import io.lethe.types.ForgetRequest;
import io.lethe.types.ForgetResult;
import io.lethe.types.ForgetStep;
import io.lethe.types.IdKind;
import io.lethe.types.LedgerEntry;
import io.lethe.types.PurgeReport;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A forget run that stops at any step, that meets concurrent writers, or whose commits conflict:
 * re-running the same batch finishes it, no other row is ever deleted, no ensemble trained on
 * deleted rows is ever published, no request is ever lost.
 */
class ForgetFaultsTest extends LetheTestBase {
  @TempDir
  static Path dir;

  static LetheConfig config;
  static Trained trained;
  static ShardedStore store;
  static ModelRegistry registry;
  static Forgetter forgetter;
  static ForgetLedger ledger;
  static final LedgerKey KEY = LedgerKey.of(LEDGER_KEY);

  @BeforeAll
  static void trainEnsemble() {
    config = adultConfig(4, dir, Map.of(LetheConfig.TRAIN_ESTIMATOR, "naive_bayes", LetheConfig.FORGET_COMMIT_ATTEMPTS, "3"));
    trained = ingestAndTrain(config, adultTrain(2000));
    store = trained.store();
    registry = trained.registry();
    forgetter = forgetter(trained, config);
    ledger = forgetter.ledger();
  }

  @Test
  void aRunStoppedAtAnyStepIsFinishedByRunningTheSameBatchAgain() throws IOException {
    int next = 100;
    for (ForgetStep stop : List.of(ForgetStep.DELETE, ForgetStep.RETRAIN, ForgetStep.PUBLISH, ForgetStep.RETIRE,
        ForgetStep.PURGE, ForgetStep.COMPLETE)) {
      List<String> batch = List.of(Integer.toString(next), Integer.toString(next + 1));
      next += 2;
      long rowsBefore = rows(store.currentVersion());
      Set<Long> versionsBefore = Set.copyOf(registry.versions());
      Forgetter crashing = forgetter.withHook((step, attempt) -> {
        if (step == stop) {
          throw new IllegalStateException("injected crash");
        }
      });

      assertThatThrownBy(() -> crashing.execute(ForgetRequest.ofSubjects(batch))).as("stop at %s", stop)
          .isInstanceOf(RunStoppedException.class)
          .hasMessageContaining("stopped at step '" + stop.id() + "'")
          .hasMessageContaining("run the same batch again");

      // Nothing lost: both requests are open in the ledger, failed at that step.
      List<LedgerEntry> open = openRequests(batch);
      assertThat(open).as("open after a stop at %s", stop).hasSize(2).allSatisfy(e -> {
        assertThat(e.status()).isEqualTo("failed");
        assertThat(e.step()).isEqualTo(stop.id());
      });
      // No other row deleted: only the batch's rows may be gone.
      assertThat(store.read(store.currentVersion()).where(col(AdultData.SUBJECT).cast("string")
          .isin(batch.toArray()).unary_$bang()).count()).isEqualTo(rowsBefore - 2);
      // No version published since holds a sub-model trained on deleted rows.
      for (long v : registry.versions()) {
        if (!versionsBefore.contains(v)) {
          assertThat(Training.shardsTrainedOnDeletedRows(store, registry.manifest(v))).as("version %d", v).isEmpty();
        }
      }

      ForgetResult finished = forgetter.execute(ForgetRequest.ofSubjects(batch));

      assertThat(finished.plan().resumed()).as("resumed after %s", stop).isEqualTo(2);
      assertThat(finished.forgotten()).isEqualTo(2);
      assertThat(openRequests(batch)).isEmpty();
      assertThat(rows(store.currentVersion())).isEqualTo(rowsBefore - 2);
      assertThat(rowsOnStorage(store.path(), AdultData.SUBJECT, batch)).isZero();
      assertThat(Training.shardsTrainedOnDeletedRows(store, registry.latest().orElseThrow())).isEmpty();
      Map<Integer, Long> removals = store.lastRemovalsSince(-1);
      assertThat(registry.subModelDirs()).allSatisfy(d ->
          assertThat(d.storeVersion()).isGreaterThanOrEqualTo(removals.getOrDefault(d.shard(), -1L)));
    }
  }

  @Test
  void aConflictingDeleteIsRetriedAndOneThatNeverResolvesEndsClearlyAndIsFinishedLater() {
    List<String> retried = List.of("1300", "1301");
    Forgetter conflictTwice = forgetter.withHook((step, attempt) -> {
      if (step == ForgetStep.DELETE && attempt <= 2) {
        throw new ConcurrentDeleteReadException("injected conflict");
      }
    });
    assertThat(conflictTwice.execute(ForgetRequest.ofSubjects(retried)).forgotten()).isEqualTo(2);

    List<String> stuck = List.of("1400", "1401");
    long version = store.currentVersion();
    Forgetter conflictAlways = forgetter.withHook((step, attempt) -> {
      if (step == ForgetStep.DELETE) {
        throw new ConcurrentDeleteReadException("injected conflict");
      }
    });
    assertThatThrownBy(() -> conflictAlways.execute(ForgetRequest.ofSubjects(stuck)))
        .isInstanceOf(RunStoppedException.class).hasCauseInstanceOf(CommitConflictException.class)
        .hasMessageContaining("conflicted with concurrent writers 3 times")
        .hasMessageContaining("stopped at step 'delete'");
    assertThat(store.currentVersion()).as("nothing deleted").isEqualTo(version);
    assertThat(openRequests(stuck)).hasSize(2).allSatisfy(e -> assertThat(e.step()).isEqualTo("delete"));
    assertThat(ledger.summary(java.time.Instant.now()).requestsByStatus()).containsEntry("failed", 2L);

    assertThat(forgetter.execute(ForgetRequest.ofSubjects(stuck)).forgotten()).isEqualTo(2);
    assertThat(openRequests(stuck)).isEmpty();
  }

  @Test
  void twoForgetRunsAndAnAppendAtTheSameTimeAllLandCorrectly() throws Exception {
    LetheConfig deferPurge = config.with(Map.of(LetheConfig.FORGET_PURGE, "false"));
    Forgetter first = forgetter(trained, deferPurge);
    Forgetter second = forgetter(trained, deferPurge);
    List<String> a = List.of("1500", "1501", "1502", "1503");
    List<String> b = List.of("1600", "1601", "1602", "1603");
    long rowsBefore = rows(store.currentVersion());
    ExecutorService pool = Executors.newFixedThreadPool(3);
    List<Future<?>> runs = new ArrayList<>();
    try {
      runs.add(pool.submit(() -> first.execute(ForgetRequest.ofSubjects(a))));
      runs.add(pool.submit(() -> second.execute(ForgetRequest.ofSubjects(b))));
      runs.add(pool.submit(() -> store.append(adultTrain(2100).where(col(AdultData.SUBJECT).geq(2000)))));
      for (Future<?> run : runs) {
        run.get(10, TimeUnit.MINUTES);
      }
    } finally {
      pool.shutdownNow();
    }

    List<String> both = new ArrayList<>(a);
    both.addAll(b);
    assertThat(store.read(store.currentVersion()).where(col(AdultData.SUBJECT).cast("string").isin(both.toArray()))
        .count()).isZero();
    assertThat(rows(store.currentVersion())).as("8 forgotten, 100 appended").isEqualTo(rowsBefore - 8 + 100);
    assertThat(Training.shardsTrainedOnDeletedRows(store, registry.latest().orElseThrow())).isEmpty();
    assertThat(openRequests(both)).hasSize(8).allSatisfy(e -> assertThat(e.status()).isEqualTo("purge-pending"));

    // The scheduled purge, with no writer running, finishes them.
    Purger purger = new Purger(store, 0, new CommitRetry(3));
    PurgeReport report = purger.purge(ledger.open().stream().filter(LedgerEntry::isForgottenByModel).toList(), "purge");
    ledger.record(report.events());
    assertThat(report.forgotten()).isEqualTo(8);
    assertThat(openRequests(both)).isEmpty();
    assertThat(rowsOnStorage(store.path(), AdultData.SUBJECT, both)).isZero();
  }

  @Test
  void concurrentPublishersEachClaimTheirOwnVersion() throws Exception {
    EnsembleManifest base = registry.latest().orElseThrow();
    ExecutorService pool = Executors.newFixedThreadPool(3);
    List<Future<EnsembleManifest>> publishes = new ArrayList<>();
    try {
      for (int i = 0; i < 3; i++) {
        publishes.add(pool.submit(() -> registry.publish(base)));
      }
      List<Long> claimed = new ArrayList<>();
      for (Future<EnsembleManifest> p : publishes) {
        claimed.add(p.get(5, TimeUnit.MINUTES).version());
      }
      assertThat(claimed).doesNotHaveDuplicates().allSatisfy(v -> assertThat(v).isGreaterThan(base.version()));
      assertThat(registry.versions()).containsAll(claimed);
      for (long v : claimed) {
        assertThat(registry.manifest(v).shards()).isEqualTo(base.shards());
        assertThat(Path.of(registry.ensembleDir(v).toUri()).resolve(EnsembleManifest.FILE_NAME)).exists();
      }
    } finally {
      pool.shutdownNow();
    }
  }

  private static long rows(long version) {
    return store.read(version).count();
  }

  private static List<LedgerEntry> openRequests(List<String> ids) {
    Set<String> hashes = ids.stream().map(id -> KEY.hash(IdKind.SUBJECT, id)).collect(Collectors.toSet());
    return ledger.open().stream().filter(e -> hashes.contains(e.subjectHash())).toList();
  }
}
