package io.lethe.internal.verify;

import io.lethe.internal.report.Charts.Series;
import io.lethe.internal.report.Charts;
import io.lethe.internal.report.HtmlPage;
import io.lethe.internal.run.HadoopFiles;
import io.lethe.internal.run.Json;
import io.lethe.types.AttackResult;
import io.lethe.types.ForgetEvidence;
import io.lethe.types.VerifyReport.Check;
import io.lethe.types.VerifyReport.Retrain;
import io.lethe.types.VerifyReport.Request;
import io.lethe.types.VerifyReport;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.apache.hadoop.fs.Path;

/** The verify report as a self-contained HTML page for people: verdict, checks, requests, models. */
public final class VerifyPage {
  private VerifyPage() {}

  /** Where {@link #write} put a report. */
  public record Written(Path json, Path html) {}

  /** Writes the report as verify-&lt;batch&gt;.json and verify-&lt;batch&gt;.html under the directory. */
  public static Written write(HadoopFiles files, String directory, VerifyReport report) {
    Path dir = files.qualify(directory);
    files.mkdirs(dir);
    Written out = new Written(new Path(dir, "verify-" + report.batchId() + ".json"),
        new Path(dir, "verify-" + report.batchId() + ".html"));
    files.overwrite(out.json(), Json.write(report));
    files.overwrite(out.html(), render(report));
    return out;
  }

  /** PASS, PENDING, WARN or FAIL: how the page and the job's output name a check's result. */
  public static String label(Check c) {
    return c.awaitsPurge() ? "PENDING" : c.warns() ? "WARN" : c.passed() ? "PASS" : "FAIL";
  }

  public static String render(VerifyReport r) {
    boolean ids = "ids".equals(r.scope());
    HtmlPage page = new HtmlPage(ids ? "Lethe verification of " + r.idsChecked() + " ids (" + r.batchId() + ")"
        : "Lethe verification of forget batch " + r.batchId(), String.format(Locale.ROOT,
        "Verified %s - store version %d (delete at %s) - ensemble version %s - %s shards %s", r.verifiedAt(),
        r.storeVersion(), r.deleteVersion(), r.ensembleVersion(), ids ? "searched" : "hit", r.hitShards()));
    long failed = r.checks().stream().filter(c -> !c.passed()).count();
    page.section("Verdict");
    page.table("verdict", List.of(ids ? "ids" : "batch", "checks", "result"), List.of(List.of(
        ids ? r.idsChecked() + " checked" : r.batchId(),
        (r.checks().size() - failed) + " of " + r.checks().size() + " passed", r.passed() ? "PASS" : "FAIL")));
    if (r.checks().stream().anyMatch(Check::awaitsPurge)) {
      page.paragraph("Pending: the batch's rows leave storage with the purge due after "
          + (r.purgeDueAfter() != null ? r.purgeDueAfter() : "the retention")
          + ", before every deadline. Until then older store versions and the change feed"
          + " hold them; the model does not.");
    }

    page.section("Checks");
    List<List<String>> rows = new ArrayList<>();
    for (Check c : r.checks()) {
      rows.add(List.of(c.id(), label(c), c.finding(), figures(c.figures())));
    }
    page.table("checks", List.of("check", "result", "finding", "figures"), rows);

    page.section("Requests");
    page.table("requests-by-status", List.of("status", "requests", "completed in time", "completed late",
        "open, within deadline", "open, overdue", "earliest open deadline"), requestSummary(r));
    page.paragraph("Each request by its random request id (no subject id or hash appears in this report): when each"
        + " step ended, and its deadline.");
    List<List<String>> requests = new ArrayList<>();
    List<String> names = new ArrayList<>();
    List<Double> taken = new ArrayList<>();
    List<Double> allowed = new ArrayList<>();
    for (Request q : r.requests()) {
      requests.add(List.of(q.requestId(), q.status(), q.receivedAt(), String.join(", ", q.steps().keySet()),
          q.completedAt() == null ? "-" : q.completedAt(), q.deadline(), q.withinDeadline() ? "PASS" : "FAIL"));
      Instant received = Instant.parse(q.receivedAt());
      Instant end = q.completedAt() == null ? Instant.parse(r.verifiedAt()) : Instant.parse(q.completedAt());
      names.add(q.requestId().substring(0, Math.min(8, q.requestId().length())));
      taken.add(Duration.between(received, end).toMillis() / 3_600_000.0);
      allowed.add(Duration.between(received, Instant.parse(q.deadline())).toMillis() / 3_600_000.0);
    }
    // A large batch's rows are folded away (they are all in the JSON report too).
    boolean fold = requests.size() > FOLD_REQUESTS_OVER;
    if (fold) {
      page.openDetails("requests-list", String.format(Locale.ROOT, "All %,d requests, one row each", requests.size()));
    }
    page.table("requests", List.of("request", "status", "received", "steps done", "completed", "deadline",
        "in time"), requests);
    if (fold) {
      page.closeDetails();
    }
    if (!names.isEmpty() && names.size() <= 40) {
      page.figure("timeline-chart", Charts.bars("hours", names, List.of(Series.values("received to complete", taken),
          Series.values("received to deadline", allowed))), "Time each request took against the time it was allowed");
    }

    page.section("How each hit shard unlearned");
    List<List<String>> strategies = new ArrayList<>();
    for (VerifyReport.ShardStrategy u : r.unlearning()) {
      strategies.add(List.of(Integer.toString(u.shard()), u.strategy(), u.exact() ? "exact" : "approximate",
          u.guarantee(), u.certificate() == null ? "" : String.format(Locale.ROOT,
              "epsilon %.3g, delta %.3g, noise %.3g: residual %.3g within budget %.3g", u.certificate().get("epsilon"),
              u.certificate().get("delta"), u.certificate().get("noise"), u.certificate().get("residual"),
              u.certificate().get("budget"))));
    }
    page.table("unlearning", List.of("shard", "strategy", "kind", "guarantee", "certificate"), strategies);

    page.section("Retrained shards against a from-scratch fit");
    List<List<String>> retrains = new ArrayList<>();
    for (Retrain f : r.retrain()) {
      retrains.add(List.of(Integer.toString(f.shard()), Long.toString(f.storeVersion()), Long.toString(f.seed()),
          String.format(Locale.ROOT, "%,d", f.rows()), String.format(Locale.ROOT, "%.4f", f.agreement()),
          f.parameterDistance() == null ? "n/a" : String.format(Locale.ROOT, "%.3g", f.parameterDistance()),
          f.sameTrees() == null ? "n/a" : f.sameTrees() ? "yes" : "no"));
    }
    page.table("retrain", List.of("shard", "store version", "seed", "rows", "prediction agreement",
        "parameter distance (L2)", "same trees"), retrains);

    membership(page, r);
    if (!"ids".equals(r.scope())) {
      update(page, r.evidence());
    }

    if (r.utility() != null) {
      VerifyReport.Utility u = r.utility();
      page.section("Utility");
      page.paragraph(String.format(Locale.ROOT, "The published ensemble's %s on %,d %s rows: %.4f.", u.metric(),
          u.rows(), u.source(), u.ensemble()));
      ForgetEvidence e = r.evidence();
      if (e != null && e.utilityAfter() != null) {
        page.table("utility-change", List.of("measured by the forget run on " + e.heldOutRows() + " held-out rows",
            e.metric()), List.of(List.of("before the forget (ensemble version " + e.ensembleBefore() + ")",
                e.utilityBefore() == null ? "n/a" : String.format(Locale.ROOT, "%.4f", e.utilityBefore())),
            List.of("after the forget (ensemble version " + e.ensembleAfter() + ")",
                String.format(Locale.ROOT, "%.4f", e.utilityAfter()))));
      }
      List<String> shards = new ArrayList<>();
      List<Double> values = new ArrayList<>();
      u.perShard().forEach((shard, v) -> {
        shards.add(Integer.toString(shard));
        values.add(v);
      });
      page.figure("utility-chart", Charts.bars(u.metric(), shards, List.of(Series.values("sub-model", values))),
          "Each shard's sub-model on the same rows");
    }
    return page.render();
  }

  /** The forget run's membership evidence: a table of every attack, and ROC curves before and after. */
  private static void membership(HtmlPage page, VerifyReport r) {
    if ("ids".equals(r.scope())) {
      return;
    }
    page.section("Membership inference");
    ForgetEvidence e = r.evidence();
    if (e == null) {
      page.paragraph("The forget run recorded no membership evidence: it runs when the forget job has held-out rows"
          + " (verify.test).");
      return;
    }
    page.paragraph(String.format(Locale.ROOT, "Measured by the forget run between publishing the new ensemble and"
        + " retiring the old one, on %,d forgotten rows (read by time travel from store version %d), %,d retained rows"
        + " of the hit shards and %,d never-seen held-out rows. Each attack scores how much a model trusts a row's"
        + " true label; the AUC is how well that tells members from never-seen rows (0.5: not at all). Retained rows"
        + " are a control: they stay members, so the attack should see them before and after. Only aggregates are"
        + " kept.", e.forgottenRows(), e.versionBefore(), e.retainedRows(), e.unseenRows()));
    if (e.note() != null) {
      page.warning(e.note());
    }
    List<List<String>> rows = new ArrayList<>();
    for (ForgetEvidence.Measurement m : e.attacks()) {
      AttackResult a = m.result();
      rows.add(List.of(m.population() + " vs never seen", m.model() + " the forget", a.attack(),
          Long.toString(a.members()), Long.toString(a.nonMembers()), String.format(Locale.ROOT, "%.3f", a.auc()),
          String.format(Locale.ROOT, "%.3f", a.tprAtFpr1Percent()),
          String.format(Locale.ROOT, "%.3f", a.tprAtFpr01Percent())));
    }
    page.table("membership", List.of("members", "model", "attack", "members", "never seen", "AUC",
        "TPR at 1% FPR", "TPR at 0.1% FPR"), rows);
    for (String population : List.of("forgotten", "retained")) {
      List<Series> curves = new ArrayList<>();
      for (ForgetEvidence.Measurement m : e.attacks()) {
        if (m.population().equals(population)) {
          curves.add(new Series(m.result().attack() + ", " + m.model(), m.result().roc()));
        }
      }
      if (!curves.isEmpty()) {
        curves.add(new Series("chance", List.of(new double[] {0, 0}, new double[] {1, 1})));
        page.figure("roc-" + population + "-chart", Charts.lines("false-positive rate", "true-positive rate", curves,
            0, 1), "ROC of the attacks on " + population + " rows against never-seen ones, before and after the"
            + " forget");
      }
    }
  }

  /** The difference attack on the update, and its control: a table of every feature. */
  private static void update(HtmlPage page, ForgetEvidence e) {
    if (e == null || e.update() == null) {
      return;
    }
    page.section("What the update gives away");
    page.paragraph("An observer who holds the ensemble before and after the forget compares their class"
        + " probabilities on rows they know (the difference attack of Chen et al., CCS 2021). The AUC is how well"
        + " that tells the removed rows from the kept rows of the same shards. The control removes as many random"
        + " retained people from the same shards, to show what the attack sees when it is known to be right.");
    if (e.update().note() != null) {
      page.warning(e.update().note());
    }
    List<List<String>> rows = new ArrayList<>();
    for (String update : List.of("forget", "control")) {
      for (AttackResult a : "forget".equals(update) ? e.update().forgotten() : e.update().control()) {
        rows.add(List.of(update, a.attack(), Long.toString(a.members()), Long.toString(a.nonMembers()),
            String.format(Locale.ROOT, "%.3f", a.auc()), String.format(Locale.ROOT, "%.3f", a.tprAtFpr1Percent())));
      }
    }
    page.table("update", List.of("update", "feature", "removed", "kept", "AUC", "TPR at 1% FPR"), rows);
  }

  /** Requests of more than this many are listed in a part the reader opens. */
  static final int FOLD_REQUESTS_OVER = 50;

  /** Per status: how many, completed in or past their deadline, open in or past it, the earliest open deadline. */
  private static List<List<String>> requestSummary(VerifyReport r) {
    Map<String, long[]> counts = new TreeMap<>();
    Map<String, String> earliest = new TreeMap<>();
    Instant at = Instant.parse(r.verifiedAt());
    for (Request q : r.requests()) {
      long[] c = counts.computeIfAbsent(q.status(), s -> new long[5]);
      c[0]++;
      boolean open = q.completedAt() == null;
      c[open ? (at.isAfter(Instant.parse(q.deadline())) ? 4 : 3) : (q.withinDeadline() ? 1 : 2)]++;
      if (open) {
        earliest.merge(q.status(), q.deadline(), (a, b) -> Instant.parse(a).isBefore(Instant.parse(b)) ? a : b);
      }
    }
    List<List<String>> rows = new ArrayList<>();
    counts.forEach((status, c) -> rows.add(List.of(status, count(c[0]), count(c[1]), count(c[2]), count(c[3]),
        count(c[4]), earliest.getOrDefault(status, "-"))));
    return rows;
  }

  private static String count(long n) {
    return String.format(Locale.ROOT, "%,d", n);
  }

  private static String figures(Map<String, Object> figures) {
    List<String> parts = new ArrayList<>();
    figures.forEach((k, v) -> parts.add(k + " " + forPeople(v)));
    return String.join("; ", parts);
  }

  /** A figure as people read it: fractions to three decimals, large values without decimals, counts as they are. */
  public static String forPeople(Object v) {
    if (v instanceof Double || v instanceof Float) {
      double d = ((Number) v).doubleValue();
      double a = Math.abs(d);
      if (Double.isNaN(d) || Double.isInfinite(d)) {
        return String.valueOf(d);
      }
      return a >= 100 ? String.format(Locale.ROOT, "%,.0f", d) : a >= 1 ? String.format(Locale.ROOT, "%.2f", d)
          : a == 0 || a >= 0.001 ? String.format(Locale.ROOT, "%.3f", d) : String.format(Locale.ROOT, "%.2g", d);
    }
    if (v instanceof Long || v instanceof Integer) {
      return String.format(Locale.ROOT, "%,d", ((Number) v).longValue());
    }
    if (v instanceof Collection<?> list) {
      return list.stream().map(VerifyPage::forPeople).collect(Collectors.joining(", ", "[", "]"));
    }
    return String.valueOf(v);
  }
}
