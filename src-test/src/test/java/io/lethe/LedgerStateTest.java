package io.lethe;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.lethe.bench.SimulatedLedger;
import io.lethe.ledger.ForgetLedger;
import io.lethe.ledger.IdKind;
import io.lethe.ledger.LedgerEntry;
import io.lethe.ledger.LedgerKey;
import io.lethe.ledger.LedgerSummary;
import io.lethe.run.DeltaCommits;
import io.lethe.run.HadoopFiles;
import io.lethe.run.Json;
import io.lethe.store.CommitRetry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ledger's state snapshot (a compacted current state beside the append-only history): what
 * the forget plan, status and the purge read from it and the commits after it is what the whole
 * history says, it reads no history file the snapshot covers, and a killed writer's files are
 * never read and are cleaned up.
 */
class LedgerStateTest extends LetheTestBase {
  private static final LedgerKey KEY = LedgerKey.of(LEDGER_KEY);

  @TempDir
  Path dir;

  @Test
  void theStateIsTheHistorysLatestEventsReadFromASnapshotAndTheCommitsAfterIt() throws Exception {
    String path = dir.resolve("ledger").toString();
    ForgetLedger ledger = ledger(path);
    SimulatedLedger days = new SimulatedLedger(ledger, KEY, 7);
    for (int d = 0; d < 3; d++) {
      days.day(d, 1500);
    }
    Expected beforeSnapshot = expected(ledger);
    assertThat(beforeSnapshot.byStatus()).as("the simulated days leave every status").containsKeys("forgotten",
        "not-found", "purge-pending", "failed");
    assertMatches(ledger(path), beforeSnapshot, "no snapshot yet: the whole history");

    ledger.compactState();
    Path state = dir.resolve("ledger/_lethe_state");
    long snapshotVersion = 2;
    JsonNode manifest = Json.read(Files.readString(state.resolve(String.format("%020d.json", snapshotVersion))),
        JsonNode.class, "manifest");
    assertThat(manifest.path("requests").asLong()).isEqualTo(4500);
    assertThat(manifest.path("buckets").asInt()).as("4,500 requests, 4,096 a bucket").isEqualTo(2);
    assertMatches(ledger(path), beforeSnapshot, "the snapshot alone");

    // A killed writer's leftovers: never read, deleted by the next compaction once old.
    Path orphan = Files.createDirectories(state.resolve("v00000000000000000099-killed"));
    Files.writeString(orphan.resolve("bucket-0.parquet"), "half a file");
    Files.setLastModifiedTime(orphan, FileTime.from(Instant.now().minusSeconds(7200)));
    Path recent = Files.createDirectories(state.resolve("v00000000000000000099-writing"));
    Files.writeString(recent.resolve("bucket-0.parquet"), "being written");

    days.day(3, 200); // also ends the open requests of day 2, which the snapshot holds open
    days.day(4, 200);
    ForgetLedger reader = ledger(path);
    reader.compactStateIfDue();
    assertThat(Files.exists(state.resolve(String.format("%020d.json", 4L)))).as("2 commits since: not due").isFalse();
    Expected withTail = expected(ledger);
    beforeSnapshot.latest().values().stream().filter(e -> !e.isComplete()).forEach(e ->
        assertThat(withTail.latest().get(e.requestId()).isComplete()).as("open in the snapshot, finished after").isTrue());
    assertMatches(reader, withTail, "the snapshot and two commits");

    // The history files the snapshot covers are not read: gone, the answers stay.
    HadoopFiles files = new HadoopFiles(spark().sparkContext().hadoopConfiguration());
    org.apache.hadoop.fs.Path table = new org.apache.hadoop.fs.Path(path);
    for (long v = 0; v <= snapshotVersion; v++) {
      for (JsonNode action : DeltaCommits.actions(files, table, v)) {
        if (action.has("add")) {
          Files.delete(dir.resolve("ledger").resolve(action.path("add").path("path").asText()));
        }
      }
    }
    assertMatches(ledger(path), withTail, "without the history the snapshot covers");

    ledger.compactState();
    assertThat(Files.exists(state.resolve(String.format("%020d.json", 4L)))).isTrue();
    assertThat(Files.exists(orphan)).as("an old folder no manifest names").isFalse();
    assertThat(Files.exists(recent)).as("a recent one: a writer may be at work").isTrue();
    assertMatches(ledger(path), withTail, "the second snapshot");
  }

  private ForgetLedger ledger(String path) {
    ForgetLedger ledger = new ForgetLedger(spark(), path, 30, new CommitRetry(3));
    ledger.requireKey(KEY);
    return ledger;
  }

  /** Each request's latest event as Spark's query over the whole history gives it. */
  private record Expected(Map<String, LedgerEntry> latest, Map<String, Long> byStatus) {}

  private static Expected expected(ForgetLedger ledger) {
    Map<String, LedgerEntry> latest = ledger.current().collectAsList().stream().map(ForgetLedger::entry)
        .collect(Collectors.toMap(LedgerEntry::requestId, e -> e));
    Map<String, Long> byStatus = latest.values().stream()
        .collect(Collectors.groupingBy(LedgerEntry::status, TreeMap::new, Collectors.counting()));
    return new Expected(latest, byStatus);
  }

  private static void assertMatches(ForgetLedger ledger, Expected expected, String what) {
    LedgerSummary summary = ledger.summary(Instant.now());
    assertThat(summary.requestsByStatus()).as(what + ": requests by status").isEqualTo(expected.byStatus());
    Set<String> open = expected.latest().values().stream().filter(e -> !e.isComplete()).map(LedgerEntry::requestId)
        .collect(Collectors.toSet());
    assertThat(ledger.open()).as(what + ": open requests").extracting(LedgerEntry::requestId)
        .containsExactlyInAnyOrderElementsOf(open);
    assertThat(summary.open()).hasSize(open.size());
    // A plan's look-up: some hashes of each day, and one of nobody.
    List<String> hashes = Stream.concat(Stream.of("nobody"), Stream.of(0, 1, 2, 3, 4).flatMap(d ->
        Stream.of(0, 7, 99, 150).map(n -> KEY.hash(IdKind.SUBJECT, "subject-" + d + "-" + n)))).toList();
    Set<String> wanted = Set.copyOf(hashes);
    List<LedgerEntry> want = expected.latest().values().stream().filter(e -> wanted.contains(e.subjectHash())).toList();
    assertThat(want).as("the look-up finds requests").isNotEmpty();
    assertThat(ledger.currentOf(hashes)).as(what + ": the latest events of these hashes")
        .containsExactlyInAnyOrderElementsOf(want);
  }
}
