package io.lethe;

import static org.assertj.core.api.Assertions.assertThat;

import io.lethe.internal.verify.VerifyPage;
import io.lethe.types.VerifyReport;
import io.lethe.types.VerifyReport.Check;
import io.lethe.types.VerifyReport.Request;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The verify page of a batch of 10,000 requests stays readable: verdict and checks first, requests
 * summed up by status and deadline, their rows folded away (and all in the DOM), figures rounded.
 * No Spark: the report is built as a verify run of that size would build it.
 */
class VerifyPageTest {
  @TempDir
  Path dir;

  static final Instant VERIFIED = Instant.parse("2026-12-06T12:00:00Z");

  /** A batch report: 90% forgotten (10 of them late), 9% waiting for the purge, 1% held, one overdue. */
  static VerifyReport report(int size) {
    List<Request> requests = new ArrayList<>();
    for (int i = 0; i < size; i++) {
      Instant received = VERIFIED.minus(Duration.ofDays(2)).plusSeconds(i);
      Instant deadline = received.plus(Duration.ofDays(30));
      Map<String, String> steps = new LinkedHashMap<>();
      steps.put("plan", received.plusSeconds(5).toString());
      String status;
      String completed = null;
      boolean inTime = true;
      if (i % 100 < 90) {
        status = "forgotten";
        completed = received.plusSeconds(60).toString();
        steps.put("complete", completed);
        if (i < 1000 && i % 100 == 0) { // 10 completed after their deadline
          completed = deadline.plusSeconds(1).toString();
          inTime = false;
        }
      } else if (i % 100 < 99) {
        status = "purge-pending";
      } else {
        status = i == size - 1 ? "in-progress" : "held";
      }
      if (i == size - 1) { // one open past its deadline
        deadline = VERIFIED.minusSeconds(3600);
        inTime = false;
      }
      requests.add(new Request(UUID.nameUUIDFromBytes(Integer.toString(i).getBytes()).toString(), "subject", status,
          received.toString(), deadline.toString(), completed, inTime, steps));
    }
    Map<String, Object> figures = new LinkedHashMap<>();
    figures.put("auc", 0.6123456789);
    figures.put("aucBound", 0.8129996006387229);
    figures.put("rows", 1234567L);
    List<Check> checks = List.of(new Check("ledger.complete", false, "101 of " + size + " requests are not complete",
        Map.<String, Object>of("forgotten", (long) size)), Check.warning("update.difference", "an observer can single them out",
        figures));
    return new VerifyReport(VerifyReport.FORMAT_VERSION, "batch-of-" + size, "batch", null, VERIFIED.toString(), false,
        null, checks, requests, List.of(0, 1, 2, 3), 7L, 8L, 3L, List.of(), List.of(), null, null);
  }

  @Test
  void aBatchOfTenThousandRequestsPutsTheVerdictFirstAndFoldsItsRows() throws Exception {
    VerifyReport r = report(10_000);
    String html = VerifyPage.render(r);
    int verdict = html.indexOf("<table id=\"verdict\"");
    int checks = html.indexOf("<table id=\"checks\"");
    int summary = html.indexOf("<table id=\"requests-by-status\"");
    int folded = html.indexOf("<details id=\"requests-list\"><summary>All 10,000 requests, one row each</summary>");
    int rows = html.indexOf("<table id=\"requests\"");
    assertThat(List.of(verdict, checks, summary, folded, rows)).as("in reading order").doesNotContain(-1).isSorted();
    assertThat(html).as("rows shut away until opened").doesNotContain("<details open");
    // By status: how many, completed in or past the deadline, open in or past it, the earliest open deadline.
    assertThat(html).contains("<tr><td>forgotten</td><td>9,000</td><td>8,990</td><td>10</td><td>0</td><td>0</td>"
        + "<td>-</td></tr>");
    assertThat(html).contains("<tr><td>purge-pending</td><td>900</td><td>0</td><td>0</td><td>900</td><td>0</td>");
    assertThat(html).contains("<tr><td>held</td><td>99</td>");
    assertThat(html).contains("<tr><td>in-progress</td><td>1</td><td>0</td><td>0</td><td>0</td><td>1</td><td>"
        + VERIFIED.minusSeconds(3600) + "</td></tr>");
    // Figures as people read them.
    assertThat(html).contains("auc 0.612; aucBound 0.813; rows 1,234,567").doesNotContain("0.8129996");
    assertThat(html.length()).as("characters of the page").isLessThan(4_000_000);

    HeadlessBrowser browser = HeadlessBrowser.find();
    Path page = Files.writeString(dir.resolve("verify.html"), html);
    long start = System.nanoTime();
    String dom = browser.dumpDom(page, dir);
    double seconds = (System.nanoTime() - start) / 1e9;
    assertThat(dom).contains("<details id=\"requests-list\">").contains("<table id=\"requests-by-status\"");
    assertThat(dom.split("<tr>", -1).length - 1).as("every request's row is in the page")
        .isGreaterThanOrEqualTo(10_000 + 4);
    System.out.printf("Chromium loaded the page of 10,000 requests (%,d characters) in %.1f s%n", html.length(),
        seconds);
    Path png = browser.screenshot(page, dir, dir.resolve("verify.png"));
    assertThat(Files.size(png)).as("screenshot of the first screen").isGreaterThan(10_000);
  }

  @Test
  void aSmallBatchListsItsRequestsOpenWithTheirTimeline() {
    String html = VerifyPage.render(report(20));
    assertThat(html).contains("<table id=\"requests\"").contains("<figure id=\"timeline-chart\"><svg")
        .contains("<table id=\"requests-by-status\"").doesNotContain("<details");
  }

  @Test
  void figuresAreRoundedForPeople() {
    assertThat(VerifyPage.forPeople(0.8129996006387229)).isEqualTo("0.813");
    assertThat(VerifyPage.forPeople(2.5)).isEqualTo("2.50");
    assertThat(VerifyPage.forPeople(12_345.678)).isEqualTo("12,346");
    assertThat(VerifyPage.forPeople(0.0000123)).isEqualTo("1.2e-05");
    assertThat(VerifyPage.forPeople(0.0)).isEqualTo("0.000");
    assertThat(VerifyPage.forPeople(1_234_567L)).isEqualTo("1,234,567");
    assertThat(VerifyPage.forPeople(List.of(0.123456, 3L))).isEqualTo("[0.123, 3]");
    assertThat(VerifyPage.forPeople("text")).isEqualTo("text");
  }
}
