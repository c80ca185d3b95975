package io.lethe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.lethe.bench.SimulatedLedger;
import io.lethe.internal.forget.IdFile;
import io.lethe.internal.ledger.ForgetLedger;
import io.lethe.internal.ledger.LedgerKey;
import io.lethe.internal.run.DeltaCommits;
import io.lethe.internal.run.HadoopFiles;
import io.lethe.internal.run.Json;
import io.lethe.internal.run.LogCompaction;
import io.lethe.internal.run.LogTable;
import io.lethe.internal.store.CommitRetry;
import io.lethe.types.IdKind;
import io.lethe.types.LedgerEntry;
import io.lethe.types.LedgerSummary;
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
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ledger's state snapshot (a compacted current state beside the append-only history): what
 * the forget plan, status and the purge read from it and the commits after it is what the whole
 * history says, it reads no history file the snapshot covers, and a killed writer's files are
 * never read and are cleaned up. The compaction of a small append-only table (the publish log),
 * read the same way. And a requests table too large for one batch, read against the ledger.
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
    days.day(0, 150);
    days.day(1, 150);
    Expected beforeSnapshot = expected(ledger);
    assertThat(beforeSnapshot.byStatus()).as("the simulated days leave every status").containsKeys("forgotten",
        "not-found", "purge-pending", "failed");
    assertMatches(ledger(path), beforeSnapshot, "no snapshot yet: the whole history");

    // A snapshot a day: the fourth level-0 segment merges the four into one of level 1.
    ledger.compactState();
    assertMatches(ledger(path), beforeSnapshot, "the snapshot alone");
    for (int d = 2; d < 5; d++) {
      days.day(d, 150);
      ledger.compactState();
    }
    Path state = dir.resolve("ledger/_lethe_state");
    long snapshotVersion = 4;
    JsonNode manifest = Json.read(Files.readString(state.resolve(String.format("%020d.json", snapshotVersion))),
        JsonNode.class, "manifest");
    assertThat(manifest.path("requests").asLong()).isEqualTo(750);
    assertThat(manifest.path("segments").findValuesAsText("level")).as("four snapshots' segments merged")
        .containsExactly("1");
    Expected atSnapshot = expected(ledger);
    assertMatches(ledger(path), atSnapshot, "merged segments");

    // A killed writer's leftovers: never read, deleted by the next compaction once old.
    Path orphan = Files.writeString(state.resolve("segment-v00000000000000000099-killed-0.parquet"), "half a file");
    Files.setLastModifiedTime(orphan, FileTime.from(Instant.now().minusSeconds(7200)));
    Path recent = Files.writeString(state.resolve("segment-v00000000000000000099-writing-0.parquet"), "being written");

    days.day(5, 100); // also ends the open requests of day 4, which the snapshot holds open
    days.day(6, 100);
    ForgetLedger reader = ledger(path);
    reader.compactStateIfDue();
    assertThat(Files.exists(state.resolve(String.format("%020d.json", 6L)))).as("2 commits since: not due").isFalse();
    Expected withTail = expected(ledger);
    atSnapshot.latest().values().stream().filter(e -> !e.isComplete()).forEach(e ->
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
    assertThat(Json.read(Files.readString(state.resolve(String.format("%020d.json", 6L))), JsonNode.class, "manifest")
        .path("segments").findValuesAsText("level")).containsExactly("1", "0");
    assertThat(Files.exists(state.resolve(String.format("%020d.json", 3L)))).as("two manifests kept").isFalse();
    assertThat(Files.exists(orphan)).as("an old file no manifest names").isFalse();
    assertThat(Files.exists(recent)).as("a recent one: a writer may be at work").isTrue();
    assertMatches(ledger(path), withTail, "the second snapshot");
  }

  @Test
  void anAppendOnlyTableLikeThePublishLogIsReadFromItsLastCompactionAndTheCommitsAfterIt() throws Exception {
    StructType schema = new StructType().add("version", DataTypes.LongType, false).add("what", DataTypes.StringType, true);
    String path = dir.resolve("log").toString();
    Configuration hadoop = spark().sparkContext().hadoopConfiguration();
    LogTable log = new LogTable(hadoop, path);
    for (long v = 0; v < 13; v++) {
      log.append(List.of(RowFactory.create(v, "published " + v)), schema, Map.of(), null, null);
    }
    Path compactions = dir.resolve("log").resolve(LogCompaction.COMPACTED);
    assertThat(compacted(hadoop, path).rows(2, schema)).as("3 commits: no compaction yet").hasSize(3);
    assertThat(Files.exists(compactions)).isFalse();
    assertThat(compacted(hadoop, path).rows(12, schema)).hasSize(13);
    assertThat(Files.exists(compactions.resolve(String.format("%020d.parquet", 12L)))).isTrue();
    for (long v = 13; v < 15; v++) {
      log.append(List.of(RowFactory.create(v, "published " + v)), schema, Map.of(), null, null);
    }
    // The data files the compaction covers are not read: gone, every row is still there.
    HadoopFiles files = new HadoopFiles(hadoop);
    for (long v = 0; v <= 12; v++) {
      for (JsonNode action : DeltaCommits.actions(files, new org.apache.hadoop.fs.Path(path), v)) {
        if (action.has("add")) {
          Files.delete(dir.resolve("log").resolve(action.path("add").path("path").asText()));
        }
      }
    }
    assertThat(compacted(hadoop, path).rows(14, schema)).extracting(r -> r.getLong(0))
        .containsExactlyInAnyOrderElementsOf(java.util.stream.LongStream.range(0, 15).boxed().toList());
    for (long v = 15; v < 23; v++) {
      log.append(List.of(RowFactory.create(v, "published " + v)), schema, Map.of(), null, null);
      compacted(hadoop, path).rows(v, schema);
    }
    try (Stream<Path> kept = Files.list(compactions)) {
      assertThat(kept.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".parquet")))
          .as("a compaction every 5 commits, the newest two kept")
          .containsExactlyInAnyOrder(String.format("%020d.parquet", 17L), String.format("%020d.parquet", 22L));
    }
    assertThat(compacted(hadoop, path).rows(22, schema)).hasSize(23);
  }

  @Test
  void aTableCreatedByAnotherWriterFirstIsAConflictTriedAgainAsAnAppend() {
    // Two forget runs' first ledger appends: both see no table, one creates it, and Kernel refuses
    // the other's CREATE_TABLE. Retried, that one sees the table and appends.
    int[] tries = {0};
    long version = new CommitRetry(3).run("first ledger append", () -> {
      if (tries[0]++ == 0) {
        throw new io.delta.kernel.exceptions.TableAlreadyExistsException(dir.toString(), "CREATE_TABLE");
      }
      return 1L;
    });
    assertThat(version).isEqualTo(1L);
    assertThat(tries[0]).isEqualTo(2);
  }

  @Test
  void aRequestsTableOfMoreThanAMillionIdsGivesTheIdsNoRequestHoldsYetABatchAtATime() {
    ForgetLedger ledger = ledger(dir.resolve("ledger").toString());
    Instant now = Instant.now();
    java.util.function.Function<String, LedgerEntry> request = id -> LedgerEntry.received("request-" + id, "batch",
        KEY.hash(IdKind.SUBJECT, id), IdKind.SUBJECT, now, ledger.deadlineFor(now));
    ledger.record(List.of(request.apply("0"), request.apply("17")));
    ledger.compactState(); // the snapshot's files, and a request after it
    ledger.record(List.of(request.apply("42")));
    String requests = dir.resolve("requests").toString();
    spark().range(0, IdFile.MAX_IDS + 1L).selectExpr("cast(id as string) as person_id").write().parquet(requests);

    IdFile.NewIds fresh = IdFile.readNew(spark(), requests, "auto", null, IdKind.SUBJECT, ledger, KEY, 5);
    assertThat(fresh.distinctIds()).isEqualTo(IdFile.MAX_IDS + 1L);
    assertThat(fresh.inLedger()).isEqualTo(3);
    assertThat(fresh.request().ids()).as("the least ids no request holds, as strings")
        .containsExactlyInAnyOrder("1", "10", "100", "1000", "10000");
    assertThat(fresh.leftForNextRun()).isEqualTo(IdFile.MAX_IDS + 1L - 3 - 5);
    assertThatThrownBy(() -> IdFile.read(spark(), requests, "auto", null, IdKind.SUBJECT))
        .isInstanceOf(InvalidRequestException.class).hasMessageContaining("forget --new-only");
  }

  private static LogCompaction compacted(Configuration hadoop, String path) {
    return new LogCompaction(hadoop, new LogTable(hadoop, path), 5);
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
    List<String> hashes = Stream.concat(Stream.of("nobody"), Stream.of(0, 1, 2, 3, 4, 5, 6).flatMap(d ->
        Stream.of(0, 7, 99, 140).map(n -> KEY.hash(IdKind.SUBJECT, "subject-" + d + "-" + n)))).toList();
    Set<String> wanted = Set.copyOf(hashes);
    List<LedgerEntry> want = expected.latest().values().stream().filter(e -> wanted.contains(e.subjectHash())).toList();
    assertThat(want).as("the look-up finds requests").isNotEmpty();
    assertThat(ledger.currentOf(hashes)).as(what + ": the latest events of these hashes")
        .containsExactlyInAnyOrderElementsOf(want);
  }
}
