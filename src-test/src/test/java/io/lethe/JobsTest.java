package io.lethe;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.format_string;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.lethe.demo.AdultData;
import io.lethe.jobs.ExitCodes;
import io.lethe.jobs.Lethe;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The command line as users run it: ingest a CSV, train, forget from an id file, score, status,
 * and the errors people make, on one store. The first story (ingest, train, a dry run, the forget,
 * what status and verify then say) runs once before the tests, which check it; every other test
 * takes the store as it finds it (versions and counts relative to then), so that no test depends
 * on another's order.
 */
class JobsTest extends LetheTestBase {
  @TempDir
  static Path dir;

  static Path csv;
  static Path heldOut;
  static final String FORGOTTEN_A = "person-000042";
  static final String FORGOTTEN_B = "person-000777";

  static Run ingest;
  static Run train;
  static final List<String[]> TRAIN_JOBS = new java.util.concurrent.CopyOnWriteArrayList<>();
  static Run dryRun;
  static JsonNode statusAfterDryRun;
  static Run forget;
  static JsonNode statusAfterForget;
  static Run verifyAfterForget;
  static Run verifyByIds;
  static Run forgetAgain;

  @BeforeAll
  static void story() throws Exception {
    writeSource();
    ingest = lethe("ingest", "--source", csv.toString(), "--format", "csv", "--option", "header=true",
        "--option", "inferSchema=true");
    // Every Spark job of the run carries the run's tag, and its step in its description.
    try (OwnJobs jobs = new OwnJobs() {
      @Override
      protected void ownJob(org.apache.spark.scheduler.SparkListenerJobStart start) {
        TRAIN_JOBS.add(new String[] {String.valueOf(start.properties().getProperty("spark.job.tags")),
            String.valueOf(start.properties().getProperty("spark.job.description"))});
      }
    }) {
      train = lethe("train");
      jobs.drain();
    }
    Path ids = Files.writeString(dir.resolve("ids.txt"), FORGOTTEN_A + "\n" + FORGOTTEN_B + "\nperson-999999\n");
    dryRun = lethe("forget", "--ids-file", ids.toString(), "--dry-run");
    statusAfterDryRun = lethe("status").summary().path("outputs");
    // With held-out rows configured, the run records membership evidence for verify.
    forget = lethe("forget", "--ids-file", ids.toString(), "-D", "verify.test=" + heldOut,
        "-D", "verify.path=" + dir.resolve("verify"));
    statusAfterForget = lethe("status").summary().path("outputs");
    verifyAfterForget = lethe("verify", "-D", "verify.path=" + dir.resolve("verify"));
    verifyByIds = lethe("verify", "-D", "verify.path=" + dir.resolve("verify"), "--ids", FORGOTTEN_A + "," + FORGOTTEN_B);
    forgetAgain = lethe("forget", "--ids", FORGOTTEN_A);
  }

  static void writeSource() {
    Dataset<Row> people = adultTrain(1200)
        .withColumn("customer", format_string("person-%06d", col(AdultData.SUBJECT)))
        .drop(AdultData.SUBJECT);
    csv = dir.resolve("people-csv");
    people.coalesce(1).write().option("header", "true").csv(csv.toString());
    heldOut = dir.resolve("held-out-csv");
    adultTest(400).withColumn("customer", format_string("test-%06d", col(AdultData.SUBJECT)))
        .drop(AdultData.SUBJECT).coalesce(1).write().option("header", "true").csv(heldOut.toString());
  }

  static Run lethe(String... args) {
    // The job, then the test's locations, then the arguments (a later -D wins over an earlier one).
    List<String> all = new ArrayList<>(List.of(args[0]));
    if (!List.of(args).contains("--help")) {
      all.addAll(List.of(
          "-D", "store.path=" + dir.resolve("store"),
          "-D", "models.path=" + dir.resolve("models"),
          "-D", "runs.path=" + dir.resolve("runs"),
          "-D", "ledger.path=" + dir.resolve("ledger"),
          "-D", "ledger.key=" + LEDGER_KEY,
          "-D", "purge.retention-hours=0",
          "-D", "store.subject-column=customer",
          "-D", "store.label-column=income",
          "-D", "store.shards=3",
          "-D", "store.salt=jobs-test",
          // Each L-BFGS iteration is a Spark job: fewer of them (fits are compared at equal settings).
          "-D", "train.param.maxIter=20"));
    }
    all.addAll(List.of(args).subList(1, args.length));
    return runLethe(all);
  }

  @Test
  void ingestCreatesTheStoreAndStoresARunSummary() throws IOException {
    Run run = ingest;
    assertThat(run.code()).as(run.err()).isZero();
    assertThat(run.summary().path("status").asText()).isEqualTo("succeeded");
    assertThat(run.summary().path("outputs").path("rows").asLong()).isEqualTo(1200);
    assertThat(run.summary().path("outputs").path("created").asBoolean()).isTrue();
    try (Stream<Path> files = Files.list(dir.resolve("runs"))) {
      assertThat(files.map(p -> p.getFileName().toString())).anyMatch(n -> n.startsWith("ingest-") && n.endsWith(".json"));
    }
  }

  @Test
  void trainPublishesTheFirstEnsembleVersion() {
    Run run = train;
    assertThat(run.code()).as(run.err()).isZero();
    String tag = "lethe-run-" + run.summary().path("runId").asText();
    assertThat(TRAIN_JOBS).as("the training's jobs").isNotEmpty()
        .allSatisfy(job -> assertThat(job[0]).as("job tags").contains(tag))
        .allSatisfy(job -> assertThat(job[1]).as("job description").startsWith("lethe: "));
    assertThat(run.summary().path("outputs").path("ensembleVersion").asLong()).isEqualTo(1);
    assertThat(run.summary().path("outputs").path("trainedShards").toString()).isEqualTo("[0,1,2]");
    // Logistic regression with the default featurization fits in tasks, every sub-model entry says so.
    assertThat(run.summary().path("outputs").path("subModels").findValuesAsText("engine"))
        .containsExactly("tasks", "tasks", "tasks");
  }

  @Test
  void forgetDryRunPrintsThePlanAndChangesNothing() {
    Run run = dryRun;
    assertThat(run.code()).as(run.err()).isZero();
    JsonNode plan = run.summary().path("outputs").path("plan");
    assertThat(plan.path("requested").asInt()).isEqualTo(3);
    assertThat(plan.path("found").asInt()).isEqualTo(2);
    assertThat(plan.path("notFound").asInt()).isEqualTo(1);
    assertThat(plan.path("rowsToDelete").asInt()).isEqualTo(2);
    assertThat(plan.path("ensembleVersionsToRetire").toString()).isEqualTo("[1]");
    assertThat(run.summary().path("outputs").has("ensembleVersion")).isFalse();
    assertThat(run.err()).contains("2 of 3 subject ids found").contains("1 not found");
    JsonNode status = statusAfterDryRun;
    assertThat(status.path("ensembleVersions").toString()).isEqualTo("[1]");
    assertThat(status.path("ledger").path("requestsByStatus").size()).as("a dry run records nothing").isZero();
  }

  @Test
  void forgetNewOnlyTakesTheIdsNoRequestHoldsYet() throws IOException {
    Path requests = Files.writeString(dir.resolve("requests.txt"),
        FORGOTTEN_A + "\n" + FORGOTTEN_B + "\nperson-000733\nperson-000733\n");
    Run run = lethe("forget", "--ids-file", requests.toString(), "--new-only", "--max-ids", "5", "--dry-run");
    assertThat(run.code()).as(run.err()).isZero();
    JsonNode counts = run.summary().path("inputs").path("newOnly");
    assertThat(counts.path("distinctIds").asLong()).isEqualTo(3);
    assertThat(counts.path("inLedger").asLong()).as("the two the story forgot").isEqualTo(2);
    assertThat(counts.path("leftForNextRun").asLong()).isZero();
    assertThat(run.summary().path("outputs").path("plan").path("requested").asInt()).isEqualTo(1);
    assertThat(run.err()).contains("New ids: 1 of 3 distinct ids have no request in the ledger yet; this run takes 1")
        .doesNotContain("person-000733");
  }

  @Test
  void forgetDeletesRetrainsAndNeverPrintsTheIds() throws IOException {
    Run run = forget;
    assertThat(run.code()).as(run.err()).isZero();
    JsonNode outputs = run.summary().path("outputs");
    assertThat(outputs.path("forgetSteps").has("audit")).isTrue();
    assertThat(dir.resolve("verify").resolve("membership").resolve(outputs.path("batchId").asText() + ".json"))
        .exists();
    assertThat(outputs.path("ensembleVersion").asLong()).isEqualTo(2);
    assertThat(outputs.path("retrainedShards").size()).isBetween(1, 2);
    assertThat(outputs.path("unlearning").size()).isEqualTo(outputs.path("retrainedShards").size());
    outputs.path("unlearning").forEach(u -> {
      assertThat(u.path("strategy").asText()).as("logistic regression's default").isEqualTo("shard-retrain");
      assertThat(u.path("detail").asText()).isEqualTo("configured");
      assertThat(u.path("engine").asText()).as("a forget's hit shards fit in tasks").isEqualTo("tasks");
    });
    assertThat(outputs.path("forgotten").asInt()).isEqualTo(2);
    assertThat(outputs.path("retired").path("ensembleVersions").toString()).isEqualTo("[1]");
    assertThat(outputs.path("purge").path("filesDeleted").asLong()).isPositive();
    // Not in any output, summary, model file, ledger file or transaction log (where a DELETE's
    // predicate would have put them), nor in any data file left on storage.
    for (String text : List.of(run.out(), run.err(), readAll(dir.resolve("runs").toString()),
        readAll(dir.resolve("models").toString()), readAll(dir.resolve("ledger").toString()),
        readAll(dir.resolve("store").resolve("_delta_log").toString()))) {
      assertThat(text).doesNotContain(FORGOTTEN_A).doesNotContain(FORGOTTEN_B).doesNotContain("person-999999");
    }
    assertThat(rowsOnStorage(dir.resolve("store").toString(), "customer", List.of(FORGOTTEN_A, FORGOTTEN_B))).isZero();

    JsonNode statusNow = statusAfterForget;
    assertThat(statusNow.path("published").path("subModels").findValuesAsText("engine")).containsOnly("tasks");
    JsonNode ledger = statusNow.path("ledger");
    assertThat(ledger.path("requestsByStatus").path("forgotten").asInt()).isEqualTo(2);
    assertThat(ledger.path("requestsByStatus").path("not-found").asInt()).isEqualTo(1);
    assertThat(ledger.path("open").size()).isZero();

    Run verify = verifyAfterForget;
    assertThat(verify.code()).as(verify.err()).isZero();
    assertThat(verify.summary().path("outputs").path("report").path("batchId").asText())
        .isEqualTo(run.summary().path("outputs").path("batchId").asText());
    assertThat(verify.summary().path("outputs").path("report").path("passed").asBoolean()).isTrue();
    assertThat(verify.err()).contains("PASS models.published").contains("PASS membership.forgotten")
        .doesNotContain("FAIL");
    assertThat(verify.summary().path("outputs").path("report").path("evidence").path("forgottenRows").asInt())
        .isEqualTo(2);
    Run byIds = verifyByIds;
    assertThat(byIds.code()).as(byIds.err()).isZero();
    assertThat(byIds.summary().path("outputs").path("report").path("scope").asText()).isEqualTo("ids");
    assertThat(byIds.summary().path("outputs").path("report").path("passed").asBoolean()).isTrue();
    assertThat(byIds.out() + byIds.err()).doesNotContain(FORGOTTEN_A);
    String reports = readAll(dir.resolve("verify").toString());
    assertThat(reports).contains("\"formatVersion\"").contains("<!DOCTYPE html>")
        .doesNotContain(FORGOTTEN_A).doesNotContain(FORGOTTEN_B);

    Run again = forgetAgain;
    assertThat(again.code()).as(again.err()).isZero();
    assertThat(again.summary().path("outputs").path("plan").path("alreadyForgotten").asInt())
        .as("a repeated request is idempotent").isEqualTo(1);
    assertThat(again.summary().path("outputs").path("requests").asInt()).isZero();
  }

  @Test
  void purgeJobFinishesRequestsThatForgetLeftWaiting() {
    JsonNode before = lethe("status").summary().path("outputs");
    Run deferred = lethe("forget", "--ids", "person-000100", "-D", "forget.purge=false");
    assertThat(deferred.code()).as(deferred.err()).isZero();
    assertThat(deferred.summary().path("outputs").path("purgePending").asInt()).isEqualTo(1);
    assertThat(deferred.summary().path("outputs").path("ensembleVersion").asLong())
        .isEqualTo(before.path("published").path("version").asLong() + 1);
    JsonNode open = lethe("status").summary().path("outputs").path("ledger").path("open");
    assertThat(open.size()).isEqualTo(1);
    assertThat(open.get(0).path("status").asText()).isEqualTo("purge-pending");
    assertThat(open.get(0).path("overdue").asBoolean()).isFalse();

    Run purge = lethe("purge");
    assertThat(purge.code()).as(purge.err()).isZero();
    assertThat(purge.summary().path("outputs").path("forgotten").asInt()).isEqualTo(1);
    assertThat(purge.summary().path("outputs").path("purge").path("reorgVersion").isNull())
        .as("the delete hid the rows behind deletion vectors: the purge's REORG rewrote their files").isFalse();
    JsonNode statusNow = lethe("status").summary().path("outputs");
    assertThat(statusNow.path("published").path("subModels").findValuesAsText("engine")).containsOnly("tasks");
    JsonNode ledger = statusNow.path("ledger");
    assertThat(ledger.path("open").size()).isZero();
    assertThat(ledger.path("requestsByStatus").path("forgotten").asInt())
        .isEqualTo(before.path("ledger").path("requestsByStatus").path("forgotten").asInt() + 1);
  }

  @Test
  void asADatabricksTaskAFailureThrowsAndTheSessionIsLeftRunning() {
    Lethe.exit(0, true);
    assertThatThrownBy(() -> Lethe.exit(1, true)).isInstanceOf(Lethe.JobFailedException.class)
        .hasMessageContaining("exit code 1");
    assertThat(spark().sparkContext().isStopped()).as("the platform's session is not stopped").isFalse();
  }

  @Test
  void staleTrainingRetrainsExactlyTheShardsAnAppendTouched() {
    long published = lethe("status").summary().path("outputs").path("published").path("version").asLong();
    Run nothingStale = lethe("train", "--stale");
    assertThat(nothingStale.code()).as(nothingStale.err()).isZero();
    assertThat(nothingStale.summary().path("outputs").path("ensembleVersion").isNull()).as("after forget").isTrue();

    Path more = dir.resolve("more-people-csv");
    adultTrain(1230).where(col(AdultData.SUBJECT).geq(1200))
        .withColumn("customer", format_string("person-%06d", col(AdultData.SUBJECT))).drop(AdultData.SUBJECT)
        .coalesce(1).write().option("header", "true").csv(more.toString());
    Run append = lethe("ingest", "--append", "--source", more.toString(), "--option", "header=true",
        "--option", "inferSchema=true");
    assertThat(append.code()).as(append.err()).isZero();
    List<Integer> touched = new ArrayList<>();
    append.summary().path("outputs").path("rowsPerShard").fieldNames().forEachRemaining(f -> touched.add(Integer.parseInt(f)));
    String touchedJson = touched.stream().sorted().toList().toString().replace(" ", "");
    assertThat(lethe("status").summary().path("outputs").path("staleShards").toString()).isEqualTo(touchedJson);

    Run stale = lethe("train", "--stale");
    assertThat(stale.code()).as(stale.err()).isZero();
    assertThat(stale.summary().path("outputs").path("trainedShards").toString()).isEqualTo(touchedJson);
    assertThat(stale.summary().path("outputs").path("ensembleVersion").asLong()).isEqualTo(published + 1);

    Run one = lethe("train", "--shards", "1");
    assertThat(one.code()).as(one.err()).isZero();
    assertThat(one.summary().path("outputs").path("trainedShards").toString()).isEqualTo("[1]");
    assertThat(one.summary().path("outputs").path("ensembleVersion").asLong()).isEqualTo(published + 2);
  }

  @Test
  void scoreWritesPredictionsWithClassLabels() {
    Path out = dir.resolve("scored");
    Run run = lethe("score", "--input", csv.toString(), "--option", "header=true", "--option", "inferSchema=true",
        "--output", out.toString());
    assertThat(run.code()).as(run.err()).isZero();
    Dataset<Row> scored = spark().read().parquet(out.toString());
    assertThat(scored.count()).isEqualTo(1200);
    assertThat(scored.columns()).contains("prediction", "predicted_label", "probability", "customer");
    double agreement = scored.where(col("predicted_label").equalTo(col("income"))).count() / 1200.0;
    double majority = majorityRate(scored, "income");
    assertThat(agreement).as("training accuracy of the ensemble, against always predicting the majority class (%.4f)",
        majority).isGreaterThan(majority + 0.03);
  }

  @Test
  void badInputGetsOneClearMessageAndANonZeroExit() {
    Run unknownKey = lethe("status", "-D", "train.estimatr=gbt");
    assertThat(unknownKey.code()).isEqualTo(1);
    assertThat(unknownKey.err()).contains("Unknown configuration key 'train.estimatr'");

    Run noStore = lethe("train", "-D", "store.path=" + dir.resolve("missing"));
    assertThat(noStore.code()).as("a missing store").isEqualTo(ExitCodes.MISSING_OR_CORRUPT);
    assertThat(noStore.err()).contains("No Lethe store at");
    assertThat(noStore.summary().path("status").asText()).isEqualTo("failed");

    Run noIds = lethe("forget", "--ids-file", dir.resolve("nope.txt").toString());
    assertThat(noIds.code()).isEqualTo(1);
    assertThat(noIds.err()).contains("does not exist");

    Run badEstimator = lethe("train", "-D", "train.estimator=linear_regression");
    assertThat(badEstimator.code()).isEqualTo(1);
    assertThat(badEstimator.err()).contains("does not do classification");

    Run badParam = lethe("train", "-D", "train.param.maxIterations=5");
    assertThat(badParam.code()).isEqualTo(1);
    assertThat(badParam.err()).contains("has no parameter 'maxIterations'");
  }

  @Test
  void eachKindOfFailureHasItsExitCode() {
    assertThat(ExitCodes.of(new InvalidConfigException("x"))).isEqualTo(1);
    assertThat(ExitCodes.of(new InvalidRequestException("x"))).isEqualTo(1);
    assertThat(ExitCodes.of(new IllegalStateException("x"))).as("unexpected").isEqualTo(2);
    assertThat(ExitCodes.of(new StoreNotFoundException("x"))).isEqualTo(3);
    assertThat(ExitCodes.of(new CorruptRegistryException("x"))).isEqualTo(3);
    assertThat(ExitCodes.of(new CommitConflictException("x"))).isEqualTo(4);
    assertThat(ExitCodes.of(new VerificationFailedException("x"))).isEqualTo(5);
    // A stopped run is run again, unless what stopped it was bad input or corrupt data.
    assertThat(ExitCodes.of(new RunStoppedException("x", new CommitConflictException("y")))).isEqualTo(4);
    assertThat(ExitCodes.of(new RunStoppedException("x", new IllegalStateException("lost executor")))).isEqualTo(4);
    assertThat(ExitCodes.of(new RunStoppedException("x", new CorruptRegistryException("y")))).isEqualTo(3);
    assertThat(ExitCodes.of(new RunStoppedException("x", new InvalidRequestException("y")))).isEqualTo(1);
    assertThat(lethe("train", "--help").out()).contains("Exit codes:", "4   a commit conflict");
  }

  @Test
  void everyJobHasHelp() {
    for (String job : List.of("ingest", "train", "forget", "purge", "score", "status", "verify", "demo",
        "bench")) {
      Run help = lethe(job, "--help");
      assertThat(help.code()).as(job).isZero();
      assertThat(help.out()).as(job).contains("Usage: lethe " + job).contains("--conf").contains("-D");
    }
    assertThat(lethe("forget", "--help").out()).as("forget's help lists the registered strategies")
        .contains(io.lethe.internal.unlearn.Strategies.all().stream().map(s -> "  " + s.id() + " (").toList());
  }

  @Test
  void aDailyCycleWithTheDefaultRetentionSucceedsAndSaysThePurgeIsPending() {
    // The daily pipeline: forget, then verify, with the default VACUUM retention (24 hours). The
    // forget's own purge rewrites the files but cannot vacuum them yet.
    String retention = "purge.retention-hours="
        + LetheConfig.load(null, Map.of()).get(LetheConfig.PURGE_RETENTION_HOURS);
    Run forget = lethe("forget", "--ids", "person-000300", "-D", retention);
    assertThat(forget.code()).as(forget.err()).isZero();
    assertThat(forget.summary().path("outputs").path("purgePending").asInt()).isEqualTo(1);
    JsonNode purged = forget.summary().path("outputs").path("purge");
    assertThat(purged.path("reorgVersion").isNumber()).as("the shard's files rewritten: " + purged).isTrue();
    assertThat(purged.path("vacuumedAt").isNull()).as("no VACUUM that could delete none of them: " + purged).isTrue();
    Run status = lethe("status", "--fail-on-overdue");
    assertThat(status.code()).as("a pending purge within its deadline is not overdue: " + status.err()).isZero();

    Run verify = lethe("verify", "-D", "verify.path=" + dir.resolve("verify"), "-D", retention,
        "-D", "verify.retrain-shards=1");
    assertThat(verify.code()).as(verify.err()).isZero();
    JsonNode report = verify.summary().path("outputs").path("report");
    assertThat(report.path("passed").asBoolean()).isTrue();
    assertThat(report.path("purgeDueAfter").asText()).isNotEmpty();
    assertThat(Instant.parse(report.path("purgeDueAfter").asText())).isAfter(Instant.now().plusSeconds(23 * 3600));
    Map<String, String> statuses = new java.util.TreeMap<>();
    report.path("checks").forEach(c -> statuses.put(c.path("id").asText(), c.path("status").asText()));
    assertThat(statuses).containsEntry("ledger.complete", "pending").containsEntry("ledger.deadline", "passed")
        .containsEntry("data.current", "passed").containsEntry("data.retained-versions", "pending")
        .containsEntry("models.published", "passed").containsEntry("models.retired", "passed");
    assertThat(statuses.get("data.change-feed")).isIn("pending", "passed");
    // Versions whose hit shard holds the same files as one already read are answered from the log.
    JsonNode retained = java.util.stream.StreamSupport.stream(report.path("checks").spliterator(), false)
        .filter(c -> c.path("id").asText().equals("data.retained-versions")).findFirst().orElseThrow().path("figures");
    assertThat(retained.path("versionsScanned").asLong()).as(retained.toString()).isPositive()
        .isLessThan(retained.path("versionsReadable").asLong() - 1);
    assertThat(verify.err()).contains("PENDING ledger.complete").contains("PENDING data.retained-versions")
        .contains("Passed with the purge pending").doesNotContain("FAIL");
    assertThat(ReportSchema.errors(report.toString())).isEmpty();

    // A retention longer than the deadline (30 days) puts it at risk: verify fails, naming the deadline.
    Run tooLate = lethe("forget", "--ids", "person-000301", "-D", "purge.retention-hours=800");
    assertThat(tooLate.code()).as(tooLate.err()).isZero();
    Run atRisk = lethe("verify", "-D", "verify.path=" + dir.resolve("verify"), "-D", "verify.retrain-shards=1");
    assertThat(atRisk.code()).as(atRisk.err()).isEqualTo(ExitCodes.VERIFICATION_FAILED);
    assertThat(atRisk.err()).contains("FAIL ledger.deadline").contains("purge due after");

    // The purge job, run once the retention has passed (a retention of 0 stands in for the wait),
    // finishes both batches; verify's checks then pass with nothing pending.
    Run purge = lethe("purge");
    assertThat(purge.code()).as(purge.err()).isZero();
    assertThat(purge.summary().path("outputs").path("forgotten").asInt()).isEqualTo(2);
    Run after = lethe("verify", "-D", "verify.path=" + dir.resolve("verify"), "-D", "verify.retrain-shards=1", "--batch",
        forget.summary().path("outputs").path("batchId").asText());
    assertThat(after.code()).as(after.err()).isZero();
    assertThat(after.summary().path("outputs").path("report").path("purgeDueAfter").isNull()).isTrue();
    after.summary().path("outputs").path("report").path("checks")
        .forEach(c -> assertThat(c.path("status").asText()).as(c.toString()).isEqualTo("passed"));
  }

  @Test
  void anErrorIsACrashWithItsSummaryWritten() throws IOException {
    java.io.StringWriter out = new java.io.StringWriter();
    java.io.StringWriter err = new java.io.StringWriter();
    Path runs = dir.resolve("crash-runs");
    int code = Lethe.execute(new io.lethe.jobs.CrashingJob(), new java.io.PrintWriter(out), new java.io.PrintWriter(err),
        "-D", "runs.path=" + runs, "-D", "store.path=" + dir.resolve("store"));
    assertThat(code).as("an Error is a crash, not invalid input").isEqualTo(ExitCodes.CRASHED);
    assertThat(err.toString()).contains("lethe crash: error: unexpected failure: org/example/MissingFromTheClasspath");
    JsonNode summary = io.lethe.internal.run.Json.read(out.toString(), JsonNode.class, "summary");
    assertThat(summary.path("status").asText()).isEqualTo("failed");
    assertThat(readAll(runs.toString())).as("the summary is stored").contains("MissingFromTheClasspath");
    assertThat(ExitCodes.of(new OutOfMemoryError())).isEqualTo(ExitCodes.CRASHED);
  }

  @Test
  void aLedgerRefusesAnotherKeyAndAKeyIsRotatedWithANewLedger() throws IOException {
    // The ledger records its key's fingerprint (never the key) when it is created.
    String log = readAll(dir.resolve("ledger").resolve("_delta_log").toString());
    String fingerprint = io.lethe.internal.ledger.LedgerKey.of(LEDGER_KEY).fingerprint();
    assertThat(log).contains(io.lethe.internal.ledger.ForgetLedger.KEY_FINGERPRINT).contains(fingerprint)
        .doesNotContain(LEDGER_KEY);

    // Another key would hash every id to something the ledger never saw: plan and verify refuse it.
    String otherKey = "ledger.key=another-key-of-the-team";
    Run plan = lethe("forget", "--ids", "person-000500", "--dry-run", "-D", otherKey);
    assertThat(plan.code()).isEqualTo(ExitCodes.INVALID);
    assertThat(plan.err()).contains("was written under another ledger key").contains(fingerprint);
    Run verify = lethe("verify", "-D", otherKey, "-D", "verify.path=" + dir.resolve("verify"));
    assertThat(verify.code()).isEqualTo(ExitCodes.INVALID);
    assertThat(verify.err()).contains("was written under another ledger key");

    // Rotation: the new key starts a new ledger; the old one stays, verifiable with the old key.
    Path rotated = dir.resolve("ledger-2027");
    Run forget = lethe("forget", "--ids", "person-000501", "-D", otherKey, "-D", "ledger.path=" + rotated);
    assertThat(forget.code()).as(forget.err()).isZero();
    assertThat(readAll(rotated.resolve("_delta_log").toString()))
        .contains(io.lethe.internal.ledger.LedgerKey.of("another-key-of-the-team").fingerprint()).doesNotContain(fingerprint);
    assertThat(lethe("verify", "-D", "verify.path=" + dir.resolve("verify"), "-D", "verify.retrain-shards=1",
        "--batch", forget.summary().path("outputs").path("batchId").asText(), "-D", otherKey,
        "-D", "ledger.path=" + rotated).code()).isZero();
  }
}
