package io.lethe;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import io.lethe.bench.Bench;
import io.lethe.bench.SyntheticData;
import io.lethe.internal.run.Json;
import io.lethe.jobs.Lethe;
import io.lethe.types.ShardMath;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.ml.classification.LogisticRegression;
import org.apache.spark.ml.feature.VectorAssembler;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The bench job at a tiny scale, run once for the class through the command line: every section,
 * its report as JSON and HTML, and the figures checked against each other and the data.
 */
class BenchTest extends LetheTestBase {
  @TempDir
  static Path dir;

  static JsonNode summary;
  static JsonNode report;
  static String err;

  @BeforeAll
  static void runTheBench() throws IOException {
    StringWriter out = new StringWriter();
    StringWriter errors = new StringWriter();
    int code = Lethe.execute(new Lethe(), new PrintWriter(out), new PrintWriter(errors), "bench",
        "--rows", "8000", "--shards", "4", "--forget", "1,3", "--score-rows", "4000", "--accuracy-shards", "2",
        "--scale-rows", "4000", "--ledger-requests", "200", "--ledger-days", "20", "--update-draws", "3",
        "--repeats", "1",
        "--data-dir", home().resolve("data/adult").toString(),
        "--work-dir", dir.resolve("work").toString(), "--output", dir.resolve("report").toString(),
        "-D", "runs.path=" + dir.resolve("runs"), "-D", "train.param.maxIter=10", "-D", "forget.slices=2",
        "-D", "verify.attack-rows=300", "-D", "verify.shadow-models=2");
    err = errors.toString();
    assertThat(code).as(err).isZero();
    summary = Json.read(out.toString(), JsonNode.class, "bench summary");
    report = Json.read(Files.readString(dir.resolve("report/bench.json")), JsonNode.class, "bench.json");
  }

  @Test
  void theReportFileIsTheRunSummarysReport() {
    assertThat(summary.path("status").asText()).isEqualTo("succeeded");
    assertThat(summary.path("outputs").path("report")).isEqualTo(report);
    assertThat(Files.exists(dir.resolve("work"))).as("the work folder is deleted at the end").isFalse();
  }

  @Test
  void forgetRowsAreConsistentWithTheCostModel() {
    JsonNode workload = report.path("workload");
    assertThat(workload.path("rows").asLong()).isEqualTo(8000);
    assertThat(workload.path("subjects").asLong()).isEqualTo(2000);
    assertThat(workload.path("ingestRowsPerSecond").asDouble())
        .isCloseTo(8000 / workload.path("ingestSeconds").asDouble(), within(1e-6));

    JsonNode forget = report.path("forget");
    assertThat(forget).hasSize(2);
    JsonNode one = forget.get(0);
    assertThat(one.path("subjects").asInt()).isEqualTo(1);
    assertThat(one.path("rowsDeleted").asLong()).as("a subject has 4 rows").isEqualTo(4);
    assertThat(one.path("shardsHit").asInt()).isEqualTo(1);
    assertThat(one.path("idealSpeedup").asDouble()).isCloseTo(4.0, within(1e-9));
    JsonNode three = forget.get(1);
    assertThat(three.path("rowsDeleted").asLong()).isEqualTo(12);
    assertThat(three.path("expectedShardsHit").asDouble()).isCloseTo(ShardMath.expectedShardsHit(4, 3), within(1e-9));
    double full = report.path("retrain").path("fullRetrainSeconds").asDouble();
    for (JsonNode p : forget) {
      double seconds = p.path("forgetSeconds").asDouble();
      assertThat(p.path("speedupVsFullRetrain").asDouble()).isCloseTo(full / seconds, within(1e-9));
      assertThat(p.path("efficiency").asDouble())
          .isCloseTo(p.path("speedupVsFullRetrain").asDouble() / p.path("idealSpeedup").asDouble(), within(1e-9));
      assertThat(p.path("overheadSeconds").asDouble())
          .isCloseTo(seconds - p.path("retrainSeconds").asDouble(), within(1e-9));
      assertThat(p.path("retrainSeconds").asDouble()).isPositive();
      assertThat(p.path("purgeSeconds").asDouble()).isPositive();
      // What the run cost, counted by the listener: the retrain is one Spark job (every hit shard
      // read and fitted in its own task), the plan none (ids matched in the driver), and the
      // commits are the delete, the publish and the ledger's three.
      JsonNode cost = p.path("cost");
      assertThat(p.path("retrainJobs").asLong()).as("the retrain's jobs").isEqualTo(1);
      assertThat(cost.path("retrain").path("sparkJobs").asLong()).isEqualTo(1);
      assertThat(cost.path("plan").path("sparkJobs").asLong()).as("the plan's jobs").isZero();
      assertThat(cost.path("delete").path("deltaCommits").asLong()).isEqualTo(1);
      assertThat(cost.path("publish").path("deltaCommits").asLong()).isEqualTo(1);
      assertThat(cost.path("ledger").path("deltaCommits").asLong()).isEqualTo(3);
      assertThat(p.path("deltaCommits").asLong()).isEqualTo(5);
      assertThat(p.path("sparkJobs").asLong()).isEqualTo(p.path("retrainJobs").asLong()
          + p.path("jobsOutsideRetrain").asLong());
      // The delete's own jobs (Delta's DELETE; a checkpoint every tenth commit adds some): the
      // target on their number is the bench's, not a test's.
      assertThat(p.path("jobsOutsideRetrain").asLong()).as("the delete's jobs, outside the retrain")
          .isEqualTo(cost.path("delete").path("sparkJobs").asLong()).isPositive();
    }
    assertThat(report.path("retrain").path("rows").asLong())
        .as("the references come first, on every row of the trained store").isEqualTo(8000);
    assertThat(report.path("retrain").path("fullRetrainRuns")).as("one run with --repeats 1").hasSize(1);
    assertThat(report.path("retrain").path("fullRetrainRuns").get(0).asDouble()).isEqualTo(full);
    for (JsonNode p : forget) {
      assertThat(p.path("runSeconds")).hasSize(1);
      assertThat(p.path("runSeconds").get(0).asDouble()).isEqualTo(p.path("forgetSeconds").asDouble());
    }
    assertThat(report.path("retrain").path("firstForgetSeconds").asDouble()).isPositive();
    // The membership audit: the first forget's (cold) with the references, the counted 1-subject
    // runs' (warm) with the batch of one; none with the batch of three.
    assertThat(report.path("retrain").path("firstAuditSeconds").asDouble()).isPositive();
    assertThat(one.path("auditSeconds").asDouble()).isPositive();
    assertThat(three.path("auditSeconds").isNumber()).isFalse();
    assertThat(report.path("targets").findValuesAsText("name"))
        .anyMatch(t -> t.startsWith("membership audit of a 1-subject forget (the median of its runs) vs the forget"));
  }

  @Test
  void aMeasureCountsItsMedianRun() {
    List<Double> runs = List.of(2.9, 2.0, 2.8);
    assertThat(Bench.medianRun(runs, Double::doubleValue)).isEqualTo(2.8);
    assertThat(Bench.medianRun(List.of(3.0, 1.0), Double::doubleValue)).as("the lower middle of an even count")
        .isEqualTo(1.0);
    assertThat(Bench.medianRun(List.of(5.0), Double::doubleValue)).isEqualTo(5.0);
  }

  @Test
  void aBatchHittingMostShardsGetsAdviceWithAShardCount() {
    // 3 people in 4 shards are expected to hit 2.3 shards: more than half.
    assertThat(report.path("warnings")).hasSize(1);
    String warning = report.path("warnings").get(0).asText();
    assertThat(warning).contains("batch of 3 people").contains(ShardMath.suggestedShards(3) + " shards");
    assertThat(err).contains("Warning: " + warning);
  }

  @Test
  void dareDeletesFromAShardsForestAndForgetsUnderDare() {
    JsonNode dare = report.path("dare");
    assertThat(dare.path("shardRows").asLong()).as("shard 0 of 8,000 rows in 4 shards").isBetween(1_500L, 2_500L);
    assertThat(dare.path("rowsDeleted").asInt()).as("a subject's worth of rows").isEqualTo(4);
    assertThat(dare.path("speedupVsRetrain").asDouble())
        .isCloseTo(dare.path("retrainSeconds").asDouble() / dare.path("updateSeconds").asDouble(), within(1e-9));
    assertThat(dare.path("shareRebuilt").asDouble()).isBetween(0.0, 1.0);
    assertThat(dare.path("batches")).hasSize(2);
    for (JsonNode b : dare.path("batches")) {
      assertThat(b.path("shardsByDare").asInt()).as("every hit shard updated by DaRE, none retrained")
          .isEqualTo(b.path("shardsHit").asInt()).isPositive();
      assertThat(b.path("rowsDeleted").asLong()).isEqualTo(4L * b.path("subjects").asInt());
      assertThat(b.path("updateSecondsPerRow").asDouble())
          .isCloseTo(b.path("updateSeconds").asDouble() / b.path("rowsDeleted").asLong(), within(1e-9));
      assertThat(b.path("speedupVsSingleModel").asDouble()).isCloseTo(
          dare.path("singleModelSeconds").asDouble() / b.path("forgetSeconds").asDouble(), within(1e-9));
    }
  }

  @Test
  void concurrencyScoringAccuracyAndScaleAreMeasured() {
    JsonNode training = report.path("training");
    assertThat(training.path("parallelism").asInt()).isEqualTo(2);
    assertThat(training.path("speedup").asDouble()).isCloseTo(
        training.path("sequentialSeconds").asDouble() / training.path("concurrentSeconds").asDouble(), within(1e-9));
    assertThat(training.path("concurrentCpuUse").asDouble()).isBetween(0.0, 1.05);

    JsonNode scoring = report.path("scoring");
    assertThat(scoring.path("rows").asLong()).isEqualTo(4000);
    // The same held-out rows the bench scored (its default seed): both models beat their majority class by 5 points.
    Dataset<Row> heldOut = SyntheticData.of(8000, 42).heldOut(spark(), 4000);
    double positive = heldOut.where(col("label").equalTo(1)).count() / 4000.0;
    double majority = Math.max(positive, 1 - positive);
    assertThat(scoring.path("ensembleAccuracy").asDouble()).isGreaterThan(majority + 0.05);
    assertThat(scoring.path("singleModelAccuracy").asDouble()).isGreaterThan(majority + 0.05);
    assertThat(scoring.path("shards").asInt()).isEqualTo(4);

    JsonNode accuracy = report.path("accuracy");
    assertThat(accuracy).hasSize(1);
    assertThat(accuracy.get(0).path("shards").asInt()).isEqualTo(2);
    assertThat(accuracy.get(0).path("ensembleAccuracy").asDouble()).as("Adult, 2 shards").isGreaterThan(0.8);
    assertThat(accuracy.get(0).path("singleModelAccuracy").asDouble()).isGreaterThan(0.8);
    assertThat(accuracy.get(0).path("smallestShardRows").asLong()).isBetween(15_000L, 17_561L);

    assertThat(report.path("scale")).hasSize(1);
    JsonNode scale = report.path("scale").get(0);
    assertThat(scale.path("rows").asLong()).isEqualTo(4000);
    assertThat(scale.path("singleModelSeconds").asDouble()).as("one model on the remaining rows").isPositive();
    assertThat(scale.path("speedupVsSingleModel").asDouble())
        .isCloseTo(scale.path("singleModelSeconds").asDouble() / scale.path("forgetSeconds").asDouble(), within(1e-9));

    List<String> targets = new ArrayList<>();
    report.path("targets").forEach(t -> targets.add(t.path("name").asText()));
    assertThat(targets).hasSize(18).anyMatch(t -> t.startsWith("forget 1 subject vs full retrain (8,000 rows, S = 4; the target is set at"))
        .anyMatch(t -> t.startsWith("fixed cost of a forget run"))
        .anyMatch(t -> t.startsWith("Spark jobs of a forget run outside the retrain"))
        .anyMatch(t -> t.startsWith("purge after forgetting 1 subject vs the forget itself"))
        .anyMatch(t -> t.startsWith("forget 1 subject vs one model on the remaining rows (spark.ml's fit)"))
        .anyMatch(t -> t.startsWith("train all shards (tasks engine) vs one model on all rows"))
        .contains("one shard's sub-model saved")
        .anyMatch(t -> t.startsWith("exact-statistics forget of 1 subject vs retraining its shard"))
        .contains("forget plan's ledger look-up of 100 ids (200 requests over 20 days; the target is set at 1,000,000"
            + " requests over 365 days)")
        .anyMatch(t -> t.startsWith("status's ledger summary (200 requests over 20 days"))
        .anyMatch(t -> t.startsWith("dare: the update of a hit shard's forest vs a task-engine retrain of the shard"))
        .anyMatch(t -> t.startsWith("dare: forget 1 subject vs one spark.ml random forest on all rows"));
    JsonNode retrain = report.path("retrain");
    assertThat(retrain.path("engine").asText()).as("logistic regression fits in tasks").isEqualTo("tasks");
    assertThat(retrain.path("saveSeconds").asDouble()).isPositive();
  }

  @Test
  void theLedgerSectionReadsTheGrowingLedgerAtAHundredthATenthAndAllOfItsDays() {
    JsonNode ledger = report.path("ledger");
    assertThat(ledger.findValuesAsText("days")).containsExactly("1", "2", "20");
    JsonNode last = ledger.get(2);
    assertThat(last.path("requests").asLong()).isEqualTo(200);
    assertThat(last.path("commits").asLong()).as("a commit a day").isEqualTo(20);
    assertThat(last.path("stateCommits").asLong()).as("no snapshot before 50 commits: every commit is read")
        .isEqualTo(20);
    assertThat(last.path("events").asLong()).as("each request's steps").isGreaterThan(200L * 3);
    assertThat(last.path("planSeconds").asDouble()).isPositive();
    assertThat(last.path("openRequests").asLong()).as("at most the last day's (failed, or waiting for the purge)")
        .isBetween(0L, 10L);
    assertThat(err).contains("Ledger after 20 days: 200 requests");
  }

  @Test
  void eachStrategyIsMeasuredAgainstARetrainOfTheSameShard() {
    JsonNode strategies = report.path("strategies");
    assertThat(strategies).hasSize(3);
    JsonNode sliced = strategies.get(2);
    assertThat(sliced.path("estimator").asText()).isEqualTo("multilayer_perceptron");
    assertThat(sliced.path("strategy").asText()).isEqualTo("sliced");
    assertThat(sliced.path("exact").asBoolean()).isTrue();
    assertThat(sliced.path("detail").asText()).startsWith("retrained");
    assertThat(sliced.path("params").path("maxIter").asText()).as("-D train.param.maxIter=10 over the example's 20")
        .isEqualTo("10");
    assertThat(sliced.path("params").path("hiddenLayers").asText()).as("the example's own").isEqualTo("8");
    JsonNode certified = strategies.get(1);
    assertThat(certified.path("estimator").asText()).isEqualTo("logistic_regression");
    assertThat(certified.path("strategy").asText()).isEqualTo("certified-removal");
    assertThat(certified.path("certificate").path("residual").asDouble()).isPositive();
    assertThat(certified.path("certificate").path("residual").asDouble())
        .isLessThanOrEqualTo(certified.path("certificate").path("budget").asDouble());
    assertThat(certified.path("exact").asBoolean()).as("approximate after a Newton step, exact once solved")
        .isEqualTo(certified.path("detail").asText().contains("exact optimum"));
    JsonNode p = strategies.get(0);
    assertThat(p.path("estimator").asText()).isEqualTo("naive_bayes");
    assertThat(p.path("strategy").asText()).isEqualTo("exact-statistics");
    assertThat(p.path("exact").asBoolean()).isTrue();
    assertThat(p.path("detail").asText()).isEqualTo("statistics updated from the changed rows");
    assertThat(p.path("rowsDeleted").asLong()).as("a subject has 4 rows").isEqualTo(4);
    assertThat(p.path("shardRows").asLong()).as("a quarter of the store, roughly").isBetween(1000L, 3000L);
    assertThat(p.path("speedup").asDouble()).isCloseTo(
        p.path("shardRetrainSeconds").asDouble() / p.path("updateSeconds").asDouble(), within(1e-9));
    assertThat(p.path("forgetSeconds").asDouble()).isGreaterThan(p.path("updateSeconds").asDouble());
    assertThat(err).contains("naive_bayes exact-statistics, forget 1 subject");
  }

  @Test
  void eachTreeEstimatorIsMeasuredInATaskAgainstSparkMlsFitOfTheSameShard() {
    JsonNode trees = report.path("trees");
    double majority = majorityRate(SyntheticData.of(8000, 42).heldOut(spark(), 4000), SyntheticData.LABEL);
    assertThat(trees).extracting(t -> t.path("estimator").asText()).containsExactly("random_forest", "decision_tree");
    for (JsonNode t : trees) {
      assertThat(t.path("shardRows").asLong()).as("a quarter of the store, roughly").isBetween(1000L, 3000L);
      assertThat(t.path("speedup").asDouble()).isCloseTo(
          t.path("jobsSeconds").asDouble() / t.path("tasksSeconds").asDouble(), within(1e-9));
      assertThat(t.path("gapPoints").asDouble()).isCloseTo(
          100 * (t.path("jobsAccuracy").asDouble() - t.path("tasksAccuracy").asDouble()), within(1e-9));
      // Both fits beat always predicting the held-out rows' majority class by a margin.
      assertThat(t.path("tasksAccuracy").asDouble()).isGreaterThan(majority + 0.02);
      assertThat(t.path("jobsAccuracy").asDouble()).isGreaterThan(majority + 0.02);
    }
    // The same tree twice: spark.ml finds thresholds on every row of a shard this small, as the task does.
    assertThat(trees.get(1).path("gapPoints").asDouble()).isCloseTo(0.0, within(1e-9));
    assertThat(report.path("targets")).extracting(t -> t.path("name").asText())
        .anyMatch(n -> n.startsWith("random forest: a shard fitted in a task vs spark.ml's fit of it"));
    assertThat(err).contains("random_forest {").contains("fitted and saved in a task in");
  }

  @Test
  void theUpdateSectionMeasuresWhatAnUpdateGivesAwayByBatchSize() {
    JsonNode update = report.path("update");
    assertThat(update.findValuesAsText("subjects")).containsExactly("1", "3");
    for (JsonNode u : update) {
      assertThat(u.path("draws").asInt()).as("--update-draws 3, less a person an earlier section forgot").isBetween(2, 3);
      assertThat(u.path("meanAuc").asDouble()).isBetween(u.path("minAuc").asDouble(), u.path("maxAuc").asDouble());
      assertThat(u.path("rowsRemoved").asDouble()).as("a subject has 4 rows").isPositive()
          .isLessThanOrEqualTo(4.0 * u.path("subjects").asInt());
      assertThat(u.path("aucBound").asDouble()).isBetween(0.5, 1.0);
    }
    // One person's 4 rows in a shard of about 2,000: well above chance on average.
    assertThat(update.get(0).path("meanAuc").asDouble()).isGreaterThan(0.7);
    assertThat(err).contains("Update of 1 subject(s) (");
  }

  @Test
  void theHtmlPageIsSelfContainedWithChartsAndTables() throws IOException {
    String html = Files.readString(dir.resolve("report/bench.html"));
    assertThat(html).startsWith("<!DOCTYPE html>").contains("<table id=\"targets\"").contains("<table id=\"forget\"")
        .contains("<figure id=\"forget-chart\"><svg").contains("<figure id=\"accuracy-chart\"><svg")
        .contains("<figure id=\"scale-chart\"><svg").contains("<table id=\"strategies\"").contains("<table id=\"trees\"")
        .contains("<table id=\"dare-shard\"").contains("<table id=\"dare-forget\"")
        .contains("<figure id=\"ledger-chart\"><svg").contains("<table id=\"ledger\"").contains("<table id=\"update\"");
    assertThat(html).doesNotContain("<script").doesNotContain(" src=").doesNotContain(" href=")
        .doesNotContain("url(");
  }

  @Test
  void syntheticDataIsDeterministicWithWholeSubjectsAndALearnableLabel() {
    SyntheticData spec = SyntheticData.of(3000, 7);
    Dataset<Row> a = spec.generate(spark());
    Dataset<Row> b = spec.generate(spark()).repartition(3);
    assertThat(a.exceptAll(b).count()).as("same spec, same rows").isZero();
    assertThat(a.count()).isEqualTo(3000);
    assertThat(SyntheticData.of(3000, 8).generate(spark()).exceptAll(a).count()).isEqualTo(3000);
    assertThat(a.groupBy(SyntheticData.SUBJECT).agg(count("*").as("n")).where(col("n").notEqual(4)).count()).isZero();
    double positives = a.where(col(SyntheticData.LABEL).equalTo(1)).count() / 3000.0;
    assertThat(positives).isBetween(0.2, 0.8);
    // The label follows the features: a logistic regression on the numeric ones beats the majority class.
    Dataset<Row> features = new VectorAssembler().setInputCols(new String[] {"x0", "x1", "x2", "x3", "x4", "x5",
        "x6", "x7", "x8", "x9"}).setOutputCol("features").transform(a.withColumn("y", col(SyntheticData.LABEL)
        .cast("double")));
    Dataset<Row> predicted = new LogisticRegression().setLabelCol("y").setMaxIter(30).fit(features).transform(features);
    double accuracy = predicted.where(col("prediction").equalTo(col("y"))).count() / 3000.0;
    assertThat(accuracy).isGreaterThan(Math.max(positives, 1 - positives) + 0.05);
    Dataset<Row> heldOut = spec.heldOut(spark(), 500);
    assertThat(heldOut.join(a, SyntheticData.SUBJECT).count()).as("held-out rows are other people").isZero();
  }
}
