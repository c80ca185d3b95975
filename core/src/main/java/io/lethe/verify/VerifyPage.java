package io.lethe.verify;

import io.lethe.report.Charts;
import io.lethe.report.Charts.Series;
import io.lethe.report.HtmlPage;
import io.lethe.verify.VerifyReport.Check;
import io.lethe.verify.VerifyReport.Refit;
import io.lethe.verify.VerifyReport.Request;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The verify report as a self-contained HTML page for people: verdict, checks, requests, models. */
public final class VerifyPage {
  private VerifyPage() {}

  public static String render(VerifyReport r) {
    HtmlPage page = new HtmlPage("Lethe verification of forget batch " + r.batchId(), String.format(Locale.ROOT,
        "Verified %s - store version %d (delete at %s) - ensemble version %s - hit shards %s", r.verifiedAt(),
        r.storeVersion(), r.deleteVersion(), r.ensembleVersion(), r.hitShards()));
    long failed = r.checks().stream().filter(c -> !c.passed()).count();
    page.section("Verdict");
    page.table("verdict", List.of("batch", "checks", "result"), List.of(List.of(r.batchId(),
        (r.checks().size() - failed) + " of " + r.checks().size() + " passed", r.passed() ? "PASS" : "FAIL")));

    page.section("Checks");
    List<List<String>> rows = new ArrayList<>();
    for (Check c : r.checks()) {
      rows.add(List.of(c.id(), c.passed() ? "PASS" : "FAIL", c.finding(), figures(c.figures())));
    }
    page.table("checks", List.of("check", "result", "finding", "figures"), rows);

    page.section("Requests");
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
    page.table("requests", List.of("request", "status", "received", "steps done", "completed", "deadline",
        "in time"), requests);
    if (!names.isEmpty() && names.size() <= 40) {
      page.figure("timeline-chart", Charts.bars("hours", names, List.of(Series.values("received to complete", taken),
          Series.values("received to deadline", allowed))), "Time each request took against the time it was allowed");
    }

    page.section("Retrained shards against a from-scratch fit");
    List<List<String>> refits = new ArrayList<>();
    for (Refit f : r.retrain()) {
      refits.add(List.of(Integer.toString(f.shard()), Long.toString(f.storeVersion()), Long.toString(f.seed()),
          String.format(Locale.ROOT, "%,d", f.rows()), String.format(Locale.ROOT, "%.4f", f.agreement()),
          f.parameterDistance() == null ? "n/a" : String.format(Locale.ROOT, "%.3g", f.parameterDistance())));
    }
    page.table("retrain", List.of("shard", "store version", "seed", "rows", "prediction agreement",
        "parameter distance (L2)"), refits);

    if (r.utility() != null) {
      VerifyReport.Utility u = r.utility();
      page.section("Utility");
      page.paragraph(String.format(Locale.ROOT, "The published ensemble's %s on %,d %s rows: %.4f.", u.metric(),
          u.rows(), u.source(), u.ensemble()));
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

  private static String figures(Map<String, Object> figures) {
    List<String> parts = new ArrayList<>();
    figures.forEach((k, v) -> parts.add(k + " " + v));
    return String.join("; ", parts);
  }
}
