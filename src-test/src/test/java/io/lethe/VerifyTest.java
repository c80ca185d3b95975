package io.lethe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lethe.api.Lethe;
import io.lethe.internal.forget.Forgetter;
import io.lethe.internal.ledger.LedgerKey;
import io.lethe.internal.run.Json;
import io.lethe.internal.store.CommitRetry;
import io.lethe.internal.verify.Verifier;
import io.lethe.internal.verify.VerifyPage;
import io.lethe.types.ForgetRequest;
import io.lethe.types.ForgetResult;
import io.lethe.types.ForgetStep.Phase;
import io.lethe.types.ForgetStep;
import io.lethe.types.IdKind;
import io.lethe.types.LedgerEntry;
import io.lethe.types.VerifyReport.Check;
import io.lethe.types.VerifyReport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Verify on real forgets of Adult people: a complete forget passes every check; a broken one (rows
 * deleted and recorded as done, shard never retrained) fails with findings that say what is wrong.
 * The complete forget and its report are made once, before any test, so that no test depends on
 * another's order.
 */
class VerifyTest extends LetheTestBase {
  @TempDir
  static Path dir;

  static LetheConfig config;
  static Trained fixture;
  static Forgetter forgetter;
  static Verifier verifier;
  static final List<String> PEOPLE = List.of("21", "400", "1333");
  static ForgetResult result;
  static String latestAfterForget;
  static VerifyReport report;

  @BeforeAll
  static void trainAndForget() {
    config = sharedAdultConfig(dir);
    fixture = sharedAdult(dir);
    forgetter = forgetter(fixture, config);
    verifier = Lethe.get(spark(), config).internals().verifier();
    result = forgetter.execute(ForgetRequest.ofSubjects(PEOPLE));
    latestAfterForget = verifier.latestBatch();
    report = verifier.verify(result.batchId(), adultTest(800));
  }

  static Check check(VerifyReport report, String id) {
    return report.checks().stream().filter(c -> c.id().equals(id)).findFirst().orElseThrow();
  }

  @Test
  void aCompleteForgetPassesEveryCheck() {
    assertThat(latestAfterForget).isEqualTo(result.batchId());

    assertThat(report.checks()).extracting(Check::id).containsExactly("ledger.complete", "ledger.deadline",
        "data.current", "data.retained-versions", "data.change-feed", "models.published", "models.retired",
        "retrain.equivalence");
    assertThat(report.checks()).allSatisfy(c -> assertThat(c.passed()).as(c.id() + ": " + c.finding()).isTrue());
    assertThat(report.passed()).isTrue();
    assertThat(report.requests()).hasSize(3).allSatisfy(r -> {
      assertThat(r.status()).isEqualTo("forgotten");
      assertThat(r.withinDeadline()).isTrue();
      assertThat(r.steps()).containsKeys("plan", "delete", "retrain", "publish", "retire", "purge", "complete");
    });
    assertThat(report.hitShards()).containsExactlyElementsOf(result.plan().hitShards());
    assertThat(report.deleteVersion()).isEqualTo(result.storeVersion());
    assertThat(report.ensembleVersion()).isEqualTo(result.ensembleVersion());
    // Each hit shard retrained from scratch with its recorded seed is the published sub-model.
    assertThat(report.retrain()).hasSize(result.retrainedShards().size()).allSatisfy(r -> {
      assertThat(r.agreement()).isEqualTo(1.0);
      assertThat(r.parameterDistance()).isLessThan(1e-6);
    });
    assertThat(report.unlearning()).extracting(VerifyReport.ShardStrategy::shard)
        .containsExactlyElementsOf(result.retrainedShards());
    assertThat(report.unlearning()).allSatisfy(u -> {
      assertThat(u.strategy()).as("logistic regression's default").isEqualTo("shard-retrain");
      assertThat(u.exact()).isTrue();
    });
    assertThat(report.utility().source()).isEqualTo("held-out");
    assertThat(report.utility().rows()).isEqualTo(800);
    double majority = majorityRate(adultTest(800), io.lethe.demo.AdultData.LABEL);
    assertThat(report.utility().ensemble()).as("held-out accuracy, against always predicting the majority class (%.4f)",
        majority).isGreaterThan(majority + 0.03);
    assertThat(report.utility().perShard()).hasSize(4);

    // No id, and no hash of one, in the JSON or the page.
    LedgerKey key = LedgerKey.from(config);
    String json = Json.write(report);
    assertThat(ReportSchema.errors(json)).isEmpty();
    assertThat(report.scope()).isEqualTo("batch");
    assertThat(report.evidence()).as("no held-out rows were given to the forget run").isNull();
    String html = VerifyPage.render(report);
    for (String id : PEOPLE) {
      assertThat(json).doesNotContain(key.hash(IdKind.SUBJECT, id));
      assertThat(html).doesNotContain(key.hash(IdKind.SUBJECT, id));
    }
    assertThat(html).contains("<table id=\"checks\"").contains("<table id=\"requests\"")
        .contains("<figure id=\"utility-chart\"><svg").contains("class=\"ok\">PASS</td>").doesNotContain("FAIL</td>")
        .contains("recorded no membership evidence");
  }

  @Test
  void theReportPageRendersInAHeadlessBrowser() throws Exception {
    HeadlessBrowser browser = HeadlessBrowser.find();
    Path page = Files.writeString(dir.resolve("verify.html"), VerifyPage.render(report));

    String dom = browser.dumpDom(page, dir);
    assertThat(dom).contains("<table id=\"verdict\"").contains("<table id=\"checks\"")
        .contains("<table id=\"requests\"").contains("<table id=\"retrain\"")
        .contains("<figure id=\"utility-chart\"><svg").contains("<figure id=\"timeline-chart\"><svg");
    assertThat(dom.split("<tr>", -1).length - 1).as("table rows rendered")
        .isGreaterThanOrEqualTo(1 + 8 + 3 + report.retrain().size());
    Path png = browser.screenshot(page, dir, dir.resolve("verify.png"));
    byte[] bytes = Files.readAllBytes(png);
    assertThat(bytes.length).as("screenshot size").isGreaterThan(20_000);
    assertThat(new String(bytes, 1, 3, java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("PNG");
  }

  @Test
  void aRunResumedAfterItsDeleteCommittedPassesAndARealLaterDeleteDoesNot() {
    // Its own store: the checks read every delete of the store's log.
    LetheConfig own = adultConfig(2, dir.resolve("resumed"), Map.of("train.param.maxIter", "20"));
    Trained trained = ingestAndTrain(own, adultTrain(600));
    ForgetResult forgot = forgetter(trained, own).execute(ForgetRequest.ofSubjects(List.of("5")));
    int hit = forgot.plan().hitShards().get(0);
    // A later commit that removes nothing (an append), then the batch's requests recorded again as a
    // run resumed after the delete had committed records them: at that later version.
    io.lethe.internal.store.ShardedStore.ingest(spark(), own.get(LetheConfig.STORE_PATH), adultTrain(601)
        .where(org.apache.spark.sql.functions.col("person_id").equalTo(600)), own, true);
    long later = trained.store().currentVersion();
    assertThat(later).isGreaterThan(forgot.storeVersion());
    io.lethe.internal.ledger.ForgetLedger ledger = io.lethe.internal.ledger.ForgetLedger.from(spark(), own);
    List<LedgerEntry> current = ledger.currentOf(List.of(LedgerKey.from(own).hash(IdKind.SUBJECT, "5")));
    ledger.record(current.stream().map(e -> e.then(forgot.batchId(), ForgetStep.COMPLETE, Phase.DONE, Instant.now())
        .withStoreVersion(later)).toList());
    Verifier own2 = Lethe.get(spark(), own).internals().verifier();
    Check published = check(own2.verify(forgot.batchId(), null), "models.published");
    assertThat(published.passed()).as(published.finding()).isTrue();
    // A row of the hit shard deleted after its sub-model, with no retrain: that one is stale.
    String other = trained.store().read(later).where(org.apache.spark.sql.functions.col(
        io.lethe.types.StoreLayout.SHARD_COLUMN).equalTo(hit)).select("person_id").head().get(0).toString();
    trained.store().deleteMatching("person_id", List.of(other), Set.of(hit), new CommitRetry(3), true);
    Check stale = check(own2.verify(forgot.batchId(), null), "models.published");
    assertThat(stale.passed()).as(stale.finding()).isFalse();
    assertThat(stale.finding()).contains("shards [" + hit + "]");
  }

  @Test
  void aShardIsRetrainedOnItsOwnRowsAfterItsVersionIsVacuumedAndPeopleAreAdded() {
    // Found by the soak: the forget's purge rewrites the delete version's files (REORG) and, with
    // retention 0, vacuums them; new people then land in the hit shard. The retrain must read the
    // rows the sub-model was trained on (the rewrite's version), not the current ones.
    LetheConfig own = adultConfig(2, dir.resolve("appended"), Map.of("train.param.maxIter", "20"));
    Trained trained = ingestAndTrain(own, adultTrain(600));
    ForgetResult forgot = forgetter(trained, own).execute(ForgetRequest.ofSubjects(List.of("5")));
    int hit = forgot.plan().hitShards().get(0);
    assertThat(trained.store().readableRows(forgot.storeVersion(), List.of(hit))).as("the delete version, vacuumed")
        .isEmpty();
    io.lethe.internal.store.ShardedStore.ingest(spark(), own.get(LetheConfig.STORE_PATH), adultTrain(1000)
        .where(org.apache.spark.sql.functions.col("person_id").geq(600)), own, true);
    long now = trained.store().currentVersion();
    long trainedOn = trained.store().rowsPerShardFromLog(forgot.storeVersion(), List.of(hit)).get(hit);
    assertThat(trained.store().rowsPerShardFromLog(now, List.of(hit)).get(hit)).as("people added to the hit shard")
        .isGreaterThan(trainedOn + 100);

    VerifyReport after = Lethe.get(spark(), own).internals().verifier().verify(forgot.batchId(), null);

    Check equivalence = check(after, "retrain.equivalence");
    assertThat(equivalence.passed()).as(equivalence.finding()).isTrue();
    assertThat(after.retrain()).singleElement().satisfies(r -> {
      assertThat(r.rows()).as("rows retrained").isEqualTo(trainedOn);
      assertThat(r.storeVersion()).isGreaterThan(forgot.storeVersion()).isLessThan(now);
    });
  }

  @Test
  void rowsDeletedButTheShardNeverRetrainedFailWithClearFindings() {
    // A broken forget: the rows are deleted and the ledger says done, but nothing was retrained,
    // retired or purged.
    String person = "777";
    Set<Integer> shards = fixture.store().shardsOf(List.of(person));
    long deleted = fixture.store().deleteMatching("person_id", List.of(person), shards, new CommitRetry(3), true);
    LedgerKey key = LedgerKey.from(config);
    String batch = UUID.randomUUID().toString();
    Instant now = Instant.now();
    LedgerEntry received = LedgerEntry.received(UUID.randomUUID().toString(), batch,
        key.hash(IdKind.SUBJECT, person), IdKind.SUBJECT, now, forgetter.ledger().deadlineFor(now));
    LedgerEntry planned = received.then(batch, ForgetStep.PLAN, Phase.DONE, now)
        .withPlan(new ArrayList<>(shards), 1, deleted - 1);
    forgetter.ledger().record(List.of(received, planned,
        planned.then(batch, ForgetStep.DELETE, Phase.DONE, now).withStoreVersion(deleted),
        planned.then(batch, ForgetStep.COMPLETE, Phase.DONE, now).withStoreVersion(deleted)));

    VerifyReport broken = verifier.verify(batch, null);

    assertThat(broken.passed()).isFalse();
    assertThat(check(broken, "ledger.complete").passed()).as("the ledger was told it is done").isTrue();
    assertThat(check(broken, "data.current").passed()).isTrue();
    Check published = check(broken, "models.published");
    assertThat(published.passed()).isFalse();
    assertThat(published.finding()).contains("trained before the delete").contains(shards.iterator().next().toString());
    Check retained = check(broken, "data.retained-versions");
    assertThat(retained.passed()).as("versions before the delete still hold the row").isFalse();
    assertThat(retained.finding()).contains("time travel");
    assertThat(broken.utility().source()).isEqualTo("store-sample");
    assertThat(VerifyPage.render(broken)).contains("class=\"fail\">FAIL</td>");

    assertThatThrownBy(() -> verifier.verify("no-such-batch", null)).isInstanceOf(InvalidRequestException.class)
        .hasMessageContaining("No forget batch no-such-batch");
  }

  @Test
  void idsAreVerifiedOnDemandWhateverBatchForgotThem() {
    // Two people forgotten by the complete forget's batch pass; one never asked about fails, and says so.
    VerifyReport forgotten = verifier.verify(ForgetRequest.ofSubjects(List.of("21", "1333")), null);
    assertThat(forgotten.scope()).isEqualTo("ids");
    assertThat(forgotten.idsChecked()).isEqualTo(2);
    assertThat(forgotten.batchId()).startsWith("ids-");
    assertThat(forgotten.requests()).hasSize(2).allSatisfy(r -> assertThat(r.status()).isEqualTo("forgotten"));
    assertThat(forgotten.checks()).filteredOn(c -> c.id().startsWith("ledger.") || c.id().startsWith("data."))
        .hasSize(5).allSatisfy(c -> assertThat(c.passed()).as(c.id() + ": " + c.finding()).isTrue());
    assertThat(ReportSchema.errors(Json.write(forgotten))).isEmpty();

    VerifyReport mixed = verifier.verify(ForgetRequest.ofSubjects(List.of("21", "5")), null);
    assertThat(mixed.passed()).isFalse();
    Check ledgerComplete = check(mixed, "ledger.complete");
    assertThat(ledgerComplete.passed()).isFalse();
    assertThat(ledgerComplete.finding()).isEqualTo("1 id(s) have no forget request in the ledger");
    Check current = check(mixed, "data.current");
    assertThat(current.passed()).as("person 5's row is in the store").isFalse();
    assertThat(current.figures()).containsEntry("rows", 1L);
    assertThat(VerifyPage.render(mixed)).contains("Lethe verification of 2 ids");
  }
}
