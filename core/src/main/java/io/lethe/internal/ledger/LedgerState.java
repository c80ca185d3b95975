package io.lethe.internal.ledger;

import io.delta.kernel.utils.FileStatus;
import io.lethe.LetheException;
import io.lethe.internal.run.DriverParquet;
import io.lethe.internal.run.HadoopFiles;
import io.lethe.internal.run.Json;
import io.lethe.internal.run.LogTable;
import io.lethe.types.LedgerEntry;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Row;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The ledger's current state, kept beside its history so that reading it does not scan the
 * history: a snapshot holds every request's latest event as of one ledger version, and the events
 * committed after it (the tail) are read from those commits' files alone. The history stays the
 * append-only audit trail; a snapshot is derived from it and can always be rebuilt from it.
 *
 * <p>A complete request gets no further event (the forget plan opens a new request for an id
 * asked again), so a snapshot is the open requests, rewritten each time, and segments of complete
 * requests, never changed once written: each snapshot adds one segment, of the requests completed
 * since the last, and four segments of one level are merged into one of the next level (up to a
 * size), so a request is written again only a few times however long the ledger grows. A segment is one
 * Parquet file sorted by keyed hash in small row groups: a look-up by hash reads its footer and
 * the row groups whose hash range may hold the hashes.
 *
 * <p>Layout, in a folder of the ledger table that Delta leaves alone (its name starts with {@code _}):
 * <pre>
 *   _lethe_state/segment-v&lt;version&gt;-&lt;id&gt;.parquet   complete requests' latest events, sorted by hash
 *   _lethe_state/open-v&lt;version&gt;-&lt;id&gt;.parquet      open requests' latest events
 *   _lethe_state/&lt;version, 20 digits&gt;.json          the snapshot's manifest, written last
 * </pre>
 * A snapshot counts only once its manifest is written, and a manifest names only files written
 * whole, so a writer killed half-way leaves files no manifest names, which a later snapshot
 * deletes.
 *
 * <p>A request's events after the snapshot are newer than its state there: they were committed
 * later.
 */
final class LedgerState {
  private static final Logger LOG = LoggerFactory.getLogger(LedgerState.class);
  static final String FOLDER = "_lethe_state";
  /** Segments of one level merged into one of the next. */
  private static final int MERGE_WIDTH = 4;
  /**
   * No merge makes a segment larger: a merge holds its rows in the driver's memory (about a
   * kilobyte a request). A ledger of 10^7 requests has some forty segments that large, each looked
   * up by its footer and a row group or two.
   */
  static final long MAX_SEGMENT_REQUESTS = 262_144;
  /** The Parquet row groups of a segment: a look-up reads the few whose hash range may match. */
  private static final long ROW_GROUP_BYTES = 256 * 1024;
  /** Files no manifest kept names are deleted once this old (a reader may still be reading them). */
  private static final long ORPHAN_AGE_MILLIS = 3_600_000L;
  /** Manifests kept: the newest, and the one before it for readers that picked it a moment ago. */
  private static final int MANIFESTS_KEPT = 2;
  private static final Pattern MANIFEST = Pattern.compile("(\\d{20})\\.json");
  private static final String HASH = "subject_hash";

  private final HadoopFiles files;
  private final DriverParquet parquet;
  private final LogTable history;
  private final Path folder;
  private final int compactAfterCommits;
  private final long compactAfterEvents;

  LedgerState(Configuration hadoop, String ledgerPath, LogTable history, int compactAfterCommits,
      long compactAfterEvents) {
    this.files = new HadoopFiles(hadoop);
    this.parquet = new DriverParquet(hadoop, ROW_GROUP_BYTES);
    this.history = history;
    this.folder = new Path(new Path(ledgerPath), FOLDER);
    this.compactAfterCommits = compactAfterCommits;
    this.compactAfterEvents = compactAfterEvents;
  }

  /**
   * A snapshot's manifest: its version, its segments (oldest first), its open requests' file (null
   * for none) and its counts.
   */
  record Manifest(long version, List<Segment> segments, StateFile openFile, long requests,
      Map<String, Long> byStatus) {}

  /** A segment of complete requests: its file and level (how many merges made it). */
  record Segment(StateFile file, int level, long requests) {}

  /** A file of a snapshot, relative to {@code _lethe_state}, with its size (which a Parquet read needs). */
  record StateFile(String path, long size) {}

  /** The state at the ledger's version {@code version}. */
  View at(long version) {
    Optional<Manifest> snapshot = newestManifest(version);
    if (snapshot.isPresent()) {
      Optional<List<LogTable.DataFile>> tail = history.filesAdded(snapshot.get().version(), version);
      if (tail.isPresent()) {
        return new View(version, snapshot.get(), tail.get());
      }
      LOG.warn("The ledger's log no longer holds every commit since its state snapshot at version {}, or one of"
          + " them removed rows: its state is read from its whole history", snapshot.get().version());
    }
    return new View(version, null, null);
  }

  /** Each request's latest event among these rows. */
  private static Map<String, LedgerEntry> fold(List<Row> rows) {
    Map<String, LedgerEntry> latest = new HashMap<>();
    for (Row row : rows) {
      LedgerEntry e = LedgerEntry.fromRow(row);
      latest.merge(e.requestId(), e, (a, b) -> later(b, a) ? b : a);
    }
    return latest;
  }

  /** Whether {@code a} comes after {@code b} in their request's history: later, or at the same time a later step. */
  static boolean later(LedgerEntry a, LedgerEntry b) {
    int byTime = a.at().compareTo(b.at());
    return byTime > 0 || (byTime == 0 && rank(a) > rank(b));
  }

  private static int rank(LedgerEntry e) {
    return e.forgetStep().rank(e.forgetPhase());
  }

  /** The newest snapshot at or before {@code version}. */
  private Optional<Manifest> newestManifest(long version) {
    return manifests().stream().filter(v -> v <= version).max(Long::compare)
        .map(v -> Json.read(files.readString(manifestPath(v)), Manifest.class, "the ledger's state manifest " + v));
  }

  private List<Long> manifests() {
    List<Long> out = new ArrayList<>();
    for (org.apache.hadoop.fs.FileStatus st : files.list(folder)) {
      Matcher m = MANIFEST.matcher(st.getPath().getName());
      if (st.isFile() && m.matches()) {
        out.add(Long.parseLong(m.group(1)));
      }
    }
    return out;
  }

  private Path manifestPath(long version) {
    return new Path(folder, String.format("%020d.json", version));
  }

  private FileStatus status(StateFile file) {
    return FileStatus.of(new Path(folder, file.path()).toString(), file.size(), 0);
  }

  private List<Row> readAll(StateFile file) {
    return parquet.read(status(file), LedgerEntry.SCHEMA);
  }

  /**
   * Whether enough has gathered since the newest snapshot that readers should not read it all:
   * {@code compactAfterCommits} commits, or {@code compactAfterEvents} events (as the commits' file
   * statistics count them); the whole history when there is no snapshot yet, so a small ledger
   * is read whole until it grows.
   */
  boolean due(View view) {
    long since = view.commitsSinceSnapshot();
    return since > 0 && (since >= compactAfterCommits || view.tailEvents() >= compactAfterEvents);
  }

  /**
   * Writes a snapshot at the view's version: a segment of the requests completed in the tail,
   * merges of full levels, the open requests and, last, the manifest; then deletes what no kept
   * manifest names. Nothing to do when the tail is empty.
   */
  void compact(View view) {
    if (view.tail().isEmpty()) {
      return;
    }
    String tag = String.format("v%020d-%s", view.version, UUID.randomUUID());
    List<Segment> segments = new ArrayList<>(view.snapshot == null ? List.of() : view.snapshot.segments());
    List<Row> completed = view.tail().values().stream().filter(LedgerEntry::isComplete).map(LedgerEntry::toRow)
        .toList();
    if (!completed.isEmpty()) {
      segments.add(new Segment(write("segment-" + tag + "-0.parquet", sortedByHash(completed)), 0, completed.size()));
    }
    int top = segments.stream().mapToInt(Segment::level).max().orElse(0);
    for (int level = 0; level <= top; level++) {
      int l = level;
      List<Segment> same = segments.stream().filter(g -> g.level() == l).toList();
      if (same.size() < MERGE_WIDTH) {
        continue;
      }
      List<Segment> merging = same.subList(0, MERGE_WIDTH);
      if (merging.stream().mapToLong(Segment::requests).sum() > MAX_SEGMENT_REQUESTS) {
        continue; // large enough: left as they are
      }
      Map<String, Row> rows = new HashMap<>();
      merging.forEach(g -> readAll(g.file()).forEach(r -> rows.put(r.getString(0), r))); // a newer segment wins
      Segment merged = new Segment(write("segment-" + tag + "-" + (level + 1) + ".parquet",
          sortedByHash(new ArrayList<>(rows.values()))), level + 1, rows.size());
      int at = segments.indexOf(merging.get(0));
      segments.removeAll(merging);
      segments.add(at, merged);
      top = Math.max(top, level + 1);
    }
    Map<String, LedgerEntry> openNow = view.openByRequest();
    StateFile openFile = openNow.isEmpty() ? null
        : write("open-" + tag + ".parquet", openNow.values().stream().map(LedgerEntry::toRow).toList());
    Manifest manifest = new Manifest(view.version, segments, openFile, view.requests(), view.byStatus());
    try {
      files.writeNew(manifestPath(view.version), Json.write(manifest));
    } catch (LetheException e) {
      if (files.exists(manifestPath(view.version))) {
        LOG.info("Another process wrote the ledger's state at version {} first", view.version);
        return; // the same state; this one's files are deleted by a later snapshot
      }
      throw e;
    }
    LOG.info("Ledger state at version {}: {} requests, {} open, in {} segments", view.version, manifest.requests(),
        openNow.size(), segments.size());
    deleteUnnamed();
  }

  private static List<Row> sortedByHash(List<Row> rows) {
    List<Row> sorted = new ArrayList<>(rows);
    int hash = LedgerEntry.SCHEMA.fieldIndex(HASH);
    sorted.sort(java.util.Comparator.comparing((Row r) -> r.getString(hash)));
    return sorted;
  }

  private StateFile write(String relative, List<Row> rows) {
    Path path = new Path(folder, relative);
    parquet.write(path.toString(), rows, LedgerEntry.SCHEMA);
    try {
      return new StateFile(relative, files.fs(path).getFileStatus(path).getLen());
    } catch (IOException e) {
      throw new LetheException("Cannot read back the size of " + path + ": " + e.getMessage(), e);
    }
  }

  /** Deletes older manifests, and the files no kept manifest names once they are old enough. */
  private void deleteUnnamed() {
    List<Long> versions = manifests();
    versions.sort(Long::compare);
    List<Long> kept = versions.subList(Math.max(0, versions.size() - MANIFESTS_KEPT), versions.size());
    Set<String> named = new HashSet<>();
    for (long v : kept) {
      Manifest m = Json.read(files.readString(manifestPath(v)), Manifest.class, "the ledger's state manifest " + v);
      m.segments().forEach(g -> named.add(g.file().path()));
      if (m.openFile() != null) {
        named.add(m.openFile().path());
      }
    }
    long cutoff = System.currentTimeMillis() - ORPHAN_AGE_MILLIS;
    for (org.apache.hadoop.fs.FileStatus st : files.list(folder)) {
      String name = st.getPath().getName();
      Matcher m = MANIFEST.matcher(name);
      boolean stale = m.matches() ? !kept.contains(Long.parseLong(m.group(1)))
          : !named.contains(name) && st.getModificationTime() < cutoff;
      if (stale) {
        files.deleteRecursively(st.getPath());
      }
    }
  }

  /**
   * The state at one version: the snapshot (null when there is none, and the history is all
   * tail) and the data files of the commits after it, read when first asked.
   */
  final class View {
    final long version;
    final Manifest snapshot;
    private final List<LogTable.DataFile> tailFiles;
    private Map<String, LedgerEntry> tail;
    private Map<String, LedgerEntry> snapshotOpen;

    View(long version, Manifest snapshot, List<LogTable.DataFile> tailFiles) {
      this.version = version;
      this.snapshot = snapshot;
      this.tailFiles = tailFiles;
    }

    /** Each request's latest event after the snapshot (in the whole history when there is none). */
    Map<String, LedgerEntry> tail() {
      if (tail == null) {
        tail = fold(snapshot == null ? history.rows(OptionalLong.of(version), LedgerEntry.SCHEMA)
            : history.rows(tailFiles, LedgerEntry.SCHEMA));
      }
      return tail;
    }

    /** The commits after the snapshot (all of them when there is none). */
    long commitsSinceSnapshot() {
      return snapshot == null ? version + 1 : version - snapshot.version();
    }

    /** The events after the snapshot (all of them without one), as the log's file statistics count them (unknown counts as none). */
    long tailEvents() {
      List<LogTable.DataFile> counted = tailFiles != null ? tailFiles : history.files(version, p -> true, true);
      return counted.stream().mapToLong(f -> f.records() == null ? 0 : f.records()).sum();
    }

    /** The latest event of every request of these hashes: from each segment the row groups that may hold them, the open ones, the tail's. */
    List<LedgerEntry> latestOf(Collection<String> hashes) {
      Set<String> wanted = new HashSet<>(hashes);
      Map<String, LedgerEntry> out = new HashMap<>();
      if (snapshot != null) {
        for (Segment g : snapshot.segments()) {
          parquet.readMatching(status(g.file()), LedgerEntry.SCHEMA, HASH, wanted).forEach(r -> {
            LedgerEntry e = LedgerEntry.fromRow(r);
            out.put(e.requestId(), e);
          });
        }
        snapshotOpen().values().stream().filter(e -> wanted.contains(e.subjectHash()))
            .forEach(e -> out.put(e.requestId(), e));
      }
      Map<String, LedgerEntry> after = tail != null || snapshot == null ? tail()
          : fold(history.rows(tailFiles, LedgerEntry.SCHEMA, HASH, wanted::contains));
      after.values().stream().filter(e -> wanted.contains(e.subjectHash())).forEach(e -> out.put(e.requestId(), e));
      return new ArrayList<>(out.values());
    }

    /** The snapshot's files (its segments and its open requests), as locations a Spark read takes. */
    List<String> files() {
      List<String> out = new ArrayList<>();
      if (snapshot != null) {
        snapshot.segments().forEach(g -> out.add(new Path(folder, g.file().path()).toString()));
        if (snapshot.openFile() != null) {
          out.add(new Path(folder, snapshot.openFile().path()).toString());
        }
      }
      return out;
    }

    /** The requests not complete, by request id. */
    Map<String, LedgerEntry> openByRequest() {
      Map<String, LedgerEntry> open = new HashMap<>(snapshotOpen());
      for (LedgerEntry e : tail().values()) {
        if (e.isComplete()) {
          open.remove(e.requestId());
        } else {
          open.put(e.requestId(), e);
        }
      }
      return open;
    }

    private Map<String, LedgerEntry> snapshotOpen() {
      if (snapshotOpen == null) {
        snapshotOpen = new HashMap<>();
        if (snapshot != null && snapshot.openFile() != null) {
          readAll(snapshot.openFile()).forEach(r -> {
            LedgerEntry e = LedgerEntry.fromRow(r);
            snapshotOpen.put(e.requestId(), e);
          });
        }
      }
      return snapshotOpen;
    }

    /** Requests by status: the snapshot's counts, each request of the tail moved to its status now. */
    Map<String, Long> byStatus() {
      Map<String, Long> counts = new TreeMap<>(snapshot == null ? Map.of() : snapshot.byStatus());
      for (LedgerEntry e : tail().values()) {
        LedgerEntry before = snapshotOpen().get(e.requestId());
        if (before != null) {
          counts.merge(before.status(), -1L, Long::sum);
        }
        counts.merge(e.status(), 1L, Long::sum);
      }
      counts.values().removeIf(n -> n == 0);
      return counts;
    }

    /** How many requests the ledger holds. */
    long requests() {
      long fresh = tail().keySet().stream().filter(id -> !snapshotOpen().containsKey(id)).count();
      return (snapshot == null ? 0 : snapshot.requests()) + fresh;
    }
  }
}
