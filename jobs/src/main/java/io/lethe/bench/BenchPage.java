package io.lethe.bench;

import io.lethe.bench.BenchReport.AccuracyPoint;
import io.lethe.bench.BenchReport.ForgetPoint;
import io.lethe.bench.BenchReport.LedgerPoint;
import io.lethe.bench.BenchReport.ScalePoint;
import io.lethe.bench.BenchReport.Target;
import io.lethe.internal.report.Charts.Series;
import io.lethe.internal.report.Charts;
import io.lethe.internal.report.HtmlPage;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The bench report as a self-contained HTML page: targets, tables and charts. */
final class BenchPage {
  private BenchPage() {}

  static String render(BenchReport r) {
    BenchReport.Environment env = r.environment();
    HtmlPage page = new HtmlPage("Lethe bench", String.format(Locale.ROOT,
        "%s - %d cores, %.1f GiB heap, Spark %s (%s), Java %s - %s %s, %d shards at a time - %.0f s in all",
        r.startedAt(), env.cores(), env.maxHeapGib(), env.sparkVersion(), env.master(), env.javaVersion(),
        env.estimator(), env.params(), env.parallelism(), r.seconds()));

    page.section("Targets");
    List<List<String>> targets = new ArrayList<>();
    for (Target t : r.targets()) {
      targets.add(List.of(t.name(), t.goal(), num(t.measured()) + " " + t.unit(), t.met() ? "MET" : "MISSED"));
    }
    page.table("targets", List.of("target", "goal", "measured", ""), targets);
    r.warnings().forEach(page::warning);

    if (r.workload() != null) {
      BenchReport.Workload w = r.workload();
      page.section("Workload");
      page.paragraph(String.format(Locale.ROOT, "%,d synthetic rows of %,d subjects (%d rows each; %d numeric and %d"
              + " categorical features, seed %d) in %d shards: ingested in %.1f s (%,.0f rows/s) into %d files.",
          w.rows(), w.subjects(), w.rowsPerSubject(), w.numericFeatures(), w.categoricalFeatures(), w.seed(),
          w.shards(), w.ingestSeconds(), w.ingestRowsPerSecond(), w.storeFiles()));
    }
    if (!r.forget().isEmpty()) {
      page.section("Forget versus retraining");
      BenchReport.Retrain ref = r.retrain();
      page.paragraph(String.format(Locale.ROOT, "Forget: request to published ensemble (plan, ledger, delete,"
              + " retrain of the hit shards, publish), the median of each batch size's runs, each run after the"
              + " purge of the one before. References, on the trained store (version %d) before any forget: a full"
              + " retrain of every shard (%.1f s, the median of %s s; %s engine) and one model on all %,d rows by"
              + " spark.ml's own fit (%.1f s). Saving one sub-model took %.3f s. The first forget in the JVM (not"
              + " counted: it loads the forget path's code) took %.1f s, its membership audit %.1f s; the audit"
              + " column is the median of the counted 1-subject runs' audits, each after its forget was published.",
          ref.storeVersion(), ref.fullRetrainSeconds(), joined(ref.fullRetrainRuns()), ref.engine(), ref.rows(),
          ref.singleModelSeconds(), ref.saveSeconds(), ref.firstForgetSeconds(), ref.firstAuditSeconds()));
      List<List<String>> rows = new ArrayList<>();
      List<String> batches = new ArrayList<>();
      List<Double> forget = new ArrayList<>();
      List<Double> full = new ArrayList<>();
      List<Double> single = new ArrayList<>();
      for (ForgetPoint p : r.forget()) {
        rows.add(List.of(Integer.toString(p.subjects()), Long.toString(p.rowsDeleted()),
            p.shardsHit() + " (" + num(p.expectedShardsHit()) + ")", num(p.forgetSeconds()), joined(p.runSeconds()),
            num(p.retrainSeconds()),
            num(p.overheadSeconds()), num(p.speedupVsFullRetrain()) + "x", num(p.idealSpeedup()) + "x",
            pct(p.efficiency()), num(p.speedupVsSingleModel()) + "x", num(p.retireSeconds()), num(p.purgeSeconds()),
            p.auditSeconds() == null ? "" : num(p.auditSeconds())));
        batches.add("k = " + p.subjects());
        forget.add(p.forgetSeconds());
        full.add(ref.fullRetrainSeconds());
        single.add(ref.singleModelSeconds());
      }
      page.table("forget", List.of("subjects", "rows", "shards hit (expected)", "forget s", "runs s", "retrain s",
          "overhead s",
          "vs full retrain", "ideal", "efficiency", "vs one model", "retire s", "purge s", "audit s"), rows);
      page.figure("forget-chart", Charts.bars("seconds", batches, List.of(Series.values("forget", forget),
          Series.values("full retrain", full), Series.values("one model on all rows", single))),
          "Wall time of a forget batch against its references");
    }
    if (r.training() != null) {
      BenchReport.Training t = r.training();
      page.section("Concurrent training");
      page.table("training", List.of("shards", "at a time", "seconds", "CPU use"), List.of(
          List.of(Integer.toString(t.shards()), Integer.toString(t.parallelism()), num(t.concurrentSeconds()),
              pct(t.concurrentCpuUse())),
          List.of(Integer.toString(t.shards()), "1", num(t.sequentialSeconds()), pct(t.sequentialCpuUse()))));
      page.paragraph(String.format(Locale.ROOT, "Concurrency is %.2fx faster. CPU use is the process's CPU time over"
          + " wall time times cores (local mode: the executors run in this process).", t.speedup()));
    }
    if (r.scoring() != null) {
      BenchReport.Scoring s = r.scoring();
      page.section("Scoring");
      page.table("scoring", List.of("model", "rows", "seconds", "accuracy"), List.of(
          List.of("ensemble of " + s.shards(), String.format(Locale.ROOT, "%,d", s.rows()), num(s.ensembleSeconds()),
              num(100 * s.ensembleAccuracy()) + "%"),
          List.of("one model", String.format(Locale.ROOT, "%,d", s.rows()), num(s.singleModelSeconds()),
              num(100 * s.singleModelAccuracy()) + "%")));
      page.paragraph(String.format(Locale.ROOT, "The ensemble takes %.2fx the time of one model: every sub-model"
          + " runs in the same pass over the rows.", s.ratio()));
    }
    if (!r.strategies().isEmpty()) {
      page.section("Unlearning strategies against a shard retrain");
      List<List<String>> rows = new ArrayList<>();
      for (BenchReport.StrategyPoint p : r.strategies()) {
        rows.add(List.of(p.estimator() + " " + p.params(), p.strategy(), p.exact() ? "exact" : "approximate",
            String.format(Locale.ROOT, "%,d", p.shardRows()), num(p.updateSeconds()), num(p.shardRetrainSeconds()),
            String.format(Locale.ROOT, "%.1fx", p.speedup()), num(p.forgetSeconds())));
      }
      page.table("strategies", List.of("estimator", "strategy", "kind", "shard rows", "model update s",
          "shard retrain s", "speed-up", "whole forget s"), rows);
      page.paragraph("One subject forgotten with each strategy. The model update and the shard retrain both make the"
          + " hit shard's new sub-model on the same store version and save it; the whole forget run adds the plan,"
          + " the ledger, the delete and the publish. The shard retrain uses the same settings: it is what the"
          + " strategy falls back to (for slicing, every step; for certified removal, Lethe's trainer from zero).");
      for (BenchReport.StrategyPoint p : r.strategies()) {
        if (p.certificate() != null) {
          page.paragraph(String.format(Locale.ROOT, "%s: %s. Certificate: epsilon %.3g, delta %.3g, noise %.3g;"
              + " gradient residual %.3g against a budget of %.3g.", p.strategy(), p.detail(),
              p.certificate().get("epsilon"), p.certificate().get("delta"), p.certificate().get("noise"),
              p.certificate().get("residual"), p.certificate().get("budget")));
        }
      }
    }
    if (!r.trees().isEmpty()) {
      page.section("Trees: a shard fitted in a task against spark.ml's fit of it");
      List<List<String>> rows = new ArrayList<>();
      for (BenchReport.TreePoint p : r.trees()) {
        rows.add(List.of(p.estimator() + " " + p.params(), String.format(Locale.ROOT, "%,d", p.shardRows()),
            num(p.tasksSeconds()), num(p.jobsSeconds()), String.format(Locale.ROOT, "%.1fx", p.speedup()),
            pct2(p.tasksAccuracy()), pct2(p.jobsAccuracy())));
      }
      page.table("trees", List.of("estimator", "shard rows", "in a task s", "spark.ml's fit s", "speed-up",
          "accuracy (task)", "accuracy (spark.ml)"), rows);
      page.paragraph("The same shard on the same store version with the same parameters and seed, each fit saved"
          + " in the model registry; accuracy on the same held-out rows. A forest in a task draws its own rows and"
          + " features, so its accuracy differs from spark.ml's forest by the luck of the draw.");
    }
    if (r.dare() != null) {
      BenchReport.Dare d = r.dare();
      page.section("DaRE: deleting rows from a random forest without regrowing it");
      page.table("dare-shard", List.of("forest", "shard rows", "rows deleted", "update s", "nodes regrown",
          "DaRE retrain s", "speed-up", "spark.ml's fit s", "speed-up", "accuracy (DaRE / spark.ml)"),
          List.of(List.of("random_forest " + d.params(), String.format(Locale.ROOT, "%,d", d.shardRows()),
              Integer.toString(d.rowsDeleted()), String.format(Locale.ROOT, "%.4f", d.updateSeconds()),
              pct2(d.shareRebuilt()), num(d.retrainSeconds()), String.format(Locale.ROOT, "%.0fx", d.speedupVsRetrain()),
              num(d.sparkFitSeconds()), String.format(Locale.ROOT, "%.0fx", d.speedupVsSparkFit()),
              pct2(d.accuracy()) + " / " + pct2(d.sparkAccuracy()))));
      page.paragraph("One shard's rows in memory, as DaRE keeps them: a subject's worth of random rows deleted from"
          + " its forest (the median of five deletions), against DaRE's training of the remaining rows (what a task computes when the shard is"
          + " retrained) and spark.ml's fit of the shard with the same parameters (saved).");
      List<List<String>> rows = new ArrayList<>();
      for (BenchReport.DareBatch b : d.batches()) {
        rows.add(List.of(Integer.toString(b.subjects()), Long.toString(b.rowsDeleted()),
            b.shardsByDare() + " of " + b.shardsHit(), num(b.forgetSeconds()),
            String.format(Locale.ROOT, "%.4f", b.updateSeconds()), String.format(Locale.ROOT, "%.2g",
                b.updateSecondsPerRow()), num(b.readSeconds()), pct2(b.shareRebuilt()),
            String.format(Locale.ROOT, "%.1fx", b.speedupVsSingleModel())));
      }
      page.table("dare-forget", List.of("subjects", "rows", "shards by DaRE", "forget run s", "updates s",
          "update s per row", "rows read s", "forest regrown", "vs one spark.ml forest"), rows);
      page.paragraph(String.format(Locale.ROOT, "Forget runs under dare on an ensemble trained with it in %.1f s;"
          + " one spark.ml random forest on all rows took %.1f s. The updates are the deletions from the hit shards'"
          + " forests; reading a shard's remaining rows, when a node must be regrown from them, is apart.",
          d.trainSeconds(), d.singleModelSeconds()));
    }
    if (r.update() != null && !r.update().isEmpty()) {
      page.section("What an update gives away, by batch size");
      page.paragraph("The difference attack (Chen et al., CCS 2021): an observer compares the published ensemble's"
          + " class probabilities before and after an update on rows they know, and the removed rows stand out. Each"
          + " size removes that many random people from the main store's published ensemble (their shards fitted in"
          + " tasks with and without them) several times; the AUC is that of the strongest of the three features"
          + " against kept rows of the same shards (0.5: the update gives nothing away).");
      List<List<String>> rows = new ArrayList<>();
      for (BenchReport.UpdatePoint u : r.update()) {
        rows.add(List.of(Integer.toString(u.subjects()), Integer.toString(u.draws()),
            String.format(Locale.ROOT, "%.1f", u.rowsRemoved()), String.format(Locale.ROOT, "%.1f", u.shardsHit()),
            String.format(Locale.ROOT, "%.3f", u.meanAuc()), String.format(Locale.ROOT, "%.3f to %.3f", u.minAuc(),
                u.maxAuc()), String.format(Locale.ROOT, "%.3f", u.aucBound()), num(u.seconds())));
      }
      page.table("update", List.of("subjects", "draws", "rows removed", "shards hit", "mean AUC", "range",
          "chance's 1% bound", "s per draw"), rows);
    }
    if (!r.accuracy().isEmpty()) {
      page.section("Accuracy as the shard count grows (Adult)");
      List<List<String>> rows = new ArrayList<>();
      List<double[]> ensemble = new ArrayList<>();
      List<double[]> single = new ArrayList<>();
      for (AccuracyPoint p : r.accuracy()) {
        rows.add(List.of(Integer.toString(p.shards()), pct2(p.ensembleAccuracy()), pct2(p.singleModelAccuracy()),
            num(p.gapPoints()), num(p.trainSeconds()), String.format(Locale.ROOT, "%,d", p.smallestShardRows())));
        ensemble.add(new double[] {p.shards(), 100 * p.ensembleAccuracy()});
        single.add(new double[] {p.shards(), 100 * p.singleModelAccuracy()});
      }
      page.table("accuracy", List.of("shards", "ensemble", "one model", "gap (points)", "train s", "smallest shard"),
          rows);
      double low = Math.floor(r.accuracy().stream().mapToDouble(p -> 100 * Math.min(p.ensembleAccuracy(),
          p.singleModelAccuracy())).min().orElse(0) - 1);
      double high = Math.ceil(r.accuracy().stream().mapToDouble(p -> 100 * Math.max(p.ensembleAccuracy(),
          p.singleModelAccuracy())).max().orElse(100) + 1);
      page.figure("accuracy-chart", Charts.lines("shards", "test accuracy %", List.of(new Series("ensemble", ensemble),
          new Series("one model", single)), low, high), "Held-out accuracy on adult.test");
    }
    if (!r.scale().isEmpty()) {
      page.section("Cost as the store grows");
      List<List<String>> rows = new ArrayList<>();
      List<double[]> train = new ArrayList<>();
      List<double[]> forget = new ArrayList<>();
      List<double[]> single = new ArrayList<>();
      for (ScalePoint p : r.scale()) {
        rows.add(List.of(String.format(Locale.ROOT, "%,d", p.rows()), Integer.toString(p.shards()),
            num(p.ingestSeconds()), String.format(Locale.ROOT, "%,.0f", p.ingestRowsPerSecond()),
            num(p.trainSeconds()), num(p.forgetSeconds()), num(p.singleModelSeconds()),
            num(p.speedupVsSingleModel()) + "x"));
        train.add(new double[] {p.rows() / 1e6, p.trainSeconds()});
        forget.add(new double[] {p.rows() / 1e6, p.forgetSeconds()});
        single.add(new double[] {p.rows() / 1e6, p.singleModelSeconds()});
      }
      page.table("scale", List.of("rows", "shards", "ingest s", "rows/s", "train s", "forget 1 s", "one model s",
          "forget vs one model"), rows);
      double high = r.scale().stream().mapToDouble(p -> Math.max(Math.max(p.trainSeconds(), p.forgetSeconds()),
          p.singleModelSeconds())).max().orElse(1);
      page.figure("scale-chart", Charts.lines("million rows", "seconds", List.of(new Series("train all shards", train),
          new Series("forget 1 subject", forget), new Series("one model on the remaining rows", single)), 0,
          high * 1.1), "Forgetting one subject against one model as the store grows");
    }
    if (!r.ledger().isEmpty()) {
      page.section("The ledger as it grows");
      List<List<String>> rows = new ArrayList<>();
      List<double[]> plan = new ArrayList<>();
      List<double[]> status = new ArrayList<>();
      for (LedgerPoint p : r.ledger()) {
        rows.add(List.of(Integer.toString(p.days()), String.format(Locale.ROOT, "%,d", p.requests()),
            String.format(Locale.ROOT, "%,d", p.events()), Long.toString(p.commits()), Long.toString(p.stateCommits()),
            num(p.planSeconds()), num(p.statusSeconds()), String.format(Locale.ROOT, "%,d", p.openRequests()),
            num(p.compactSeconds())));
        plan.add(new double[] {p.requests() / 1e6, p.planSeconds()});
        status.add(new double[] {p.requests() / 1e6, p.statusSeconds()});
      }
      page.table("ledger", List.of("days", "requests", "events", "commits", "commits after the snapshot",
          "plan's look-up s", "status s", "open", "longest snapshot s"), rows);
      double high = r.ledger().stream().mapToDouble(p -> Math.max(p.planSeconds(), p.statusSeconds())).max().orElse(1);
      page.figure("ledger-chart", Charts.lines("million requests", "seconds", List.of(
          new Series("forget plan's look-up of 100 ids", plan), new Series("status", status)), 0, Math.max(2.2, high * 1.1)),
          "Reading the ledger's state as it grows (the target: under 2 s)");
    }
    return page.render();
  }

  private static String num(double v) {
    return Double.isNaN(v) ? "n/a" : String.format(Locale.ROOT, Math.abs(v) >= 100 ? "%,.0f" : "%.2f", v);
  }

  /** Times as "2.90, 2.01, 2.84". */
  private static String joined(List<Double> values) {
    return values.stream().map(BenchPage::num).collect(java.util.stream.Collectors.joining(", "));
  }

  private static String pct(double v) {
    return Double.isNaN(v) ? "n/a" : String.format(Locale.ROOT, "%.0f%%", 100 * v);
  }

  private static String pct2(double v) {
    return String.format(Locale.ROOT, "%.2f%%", 100 * v);
  }
}
