package io.lethe;

import static org.assertj.core.api.Assertions.assertThat;

import io.lethe.api.Lethe;
import io.lethe.internal.forget.ForgetAudit;
import io.lethe.internal.ledger.LedgerKey;
import io.lethe.internal.run.Json;
import io.lethe.internal.store.CommitRetry;
import io.lethe.internal.verify.MembershipAudit;
import io.lethe.internal.verify.Verifier;
import io.lethe.internal.verify.VerifySettings;
import io.lethe.types.AttackResult;
import io.lethe.types.ForgetEvidence;
import io.lethe.types.ForgetRequest;
import io.lethe.types.ForgetResult;
import io.lethe.types.IdKind;
import io.lethe.types.PerExampleEvidence;
import io.lethe.types.VerifyReport;
import io.lethe.types.VerifyReport.Check;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The per-example membership test (LiRA with shadow models of the hit shards) on logistic regression, through a
 * forget run and verify: its control tells retained members from never-seen rows, the people to
 * forget look like members to the model before and like strangers to the model after, and a model
 * that still holds them fails the check. Adult in 8 shards of about 300 rows: small shards, where a
 * sub-model's own rows leave a mark that the test can find.
 */
class PerExampleTest extends LetheTestBase {
  @TempDir
  static Path dir;

  static LetheConfig config;
  static Trained trained;
  static MembershipAudit audit;
  static ForgetResult result;
  static VerifyReport report;

  @BeforeAll
  static void trainAndForget() {
    config = adultConfig(8, dir, Map.of("train.param.regParam", "0.0001", "train.param.maxIter", "50",
        "verify.path", dir.resolve("verify").toString(), "verify.per-example-rows", "60"));
    trained = ingestAndTrain(config, adultTrain(2400));
    audit = new MembershipAudit(trained.store(), trained.registry(), adultTest(600), VerifySettings.from(config),
        trained.settings());
    result = forgetter(trained, config).withAudit(audit).execute(ForgetRequest.ofSubjects(people(0, 40)));
    report = Lethe.get(spark(), config).internals().verifier().verify(result.batchId(), adultTest(600));
  }

  static List<String> people(int from, int to) {
    return IntStream.range(from, to).mapToObj(Integer::toString).toList();
  }

  static AttackResult lira(PerExampleEvidence e, String population, String model) {
    return e.attacks().stream().filter(m -> m.population().equals(population) && m.model().equals(model))
        .map(ForgetEvidence.Measurement::result).findFirst().orElseThrow();
  }

  static Check check(VerifyReport report, String id) {
    return report.checks().stream().filter(c -> c.id().equals(id)).findFirst().orElseThrow();
  }

  @Test
  void theTestHasPowerAndTheForgottenLookLikeStrangersAfter() {
    PerExampleEvidence e = report.evidence().perExample();
    assertThat(e).isNotNull();
    assertThat(e.note()).isNull();
    assertThat(e.shadowModels()).as("verify.shadow-models, by default").isEqualTo(8);
    assertThat(e.seconds()).isPositive();
    AttackResult control = lira(e, "retained", "after");
    AttackResult before = lira(e, "forgotten", "before");
    AttackResult after = lira(e, "forgotten", "after");
    assertThat(control.members()).isEqualTo(60);
    assertThat(before.members()).isEqualTo(40);
    assertThat(after.nonMembers()).isEqualTo(60);
    System.out.printf("lira: control %.3f, forgotten before %.3f, after %.3f, %.1f s%n", control.auc(), before.auc(),
        after.auc(), e.seconds());
    Check c = check(report, "membership.per-example");
    double bound = (Double) c.figures().get("aucBound");
    double controlBound = (Double) c.figures().get("controlAucBound");
    assertThat(control.auc()).as("the control: retained members against never-seen rows").isGreaterThan(controlBound);
    assertThat(before.auc()).as("the people to forget, to the model before").isGreaterThan(bound);
    assertThat(after.auc()).as("and to the model after").isLessThanOrEqualTo(bound).isLessThan(before.auc() - 0.1);
    assertThat(c.passed()).as(c.finding()).isTrue();
    assertThat(c.finding()).contains("so the test has power");
    assertThat(report.passed()).isTrue();

    String json = Json.write(report);
    assertThat(ReportSchema.errors(json)).isEmpty();
    LedgerKey key = LedgerKey.from(config);
    for (String id : people(0, 40)) {
      assertThat(json).doesNotContain(key.hash(IdKind.SUBJECT, id));
    }
  }

  @Test
  void aModelThatStillHoldsTheForgottenRowsFailsThePerExampleCheck() {
    // A broken forget: the rows of 40 people are deleted, but no shard is retrained.
    List<String> ids = people(1000, 1040);
    Set<Integer> shards = trained.store().shardsOf(ids);
    long deleted = trained.store().deleteMatching(io.lethe.demo.AdultData.SUBJECT, ids, shards, new CommitRetry(3),
        true);
    long published = trained.registry().latest().orElseThrow().version();
    ForgetAudit.Moment moment = new ForgetAudit.Moment(UUID.randomUUID().toString(), deleted - 1, deleted, shards,
        io.lethe.demo.AdultData.SUBJECT, ids, published, published);
    ForgetEvidence broken = audit.measure(moment);

    Check c = Verifier.perExample(broken).orElseThrow();
    assertThat(c.passed()).as(c.finding()).isFalse();
    assertThat(c.finding()).contains("still tells the forgotten rows from never-seen ones");
    assertThat((Double) c.figures().get("aucAfter")).isGreaterThan((Double) c.figures().get("aucBound"));

    // A batch above verify.per-example-rows is not tested per example.
    LetheConfig tenRows = adultConfig(8, dir, Map.of("verify.per-example-rows", "10"));
    ForgetEvidence untested = new MembershipAudit(trained.store(), trained.registry(), adultTest(600),
        VerifySettings.from(tenRows), trained.settings()).measure(moment);
    assertThat(untested.perExample()).as("40 forgotten rows, above 10").isNull();
    assertThat(Verifier.perExample(untested)).isEmpty();
  }
}
