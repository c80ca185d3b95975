package io.lethe.ledger;

import io.delta.kernel.utils.FileStatus;
import io.lethe.LetheException;
import io.lethe.run.DriverParquet;
import io.lethe.run.HadoopFiles;
import io.lethe.run.Json;
import io.lethe.run.LogTable;
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
 * <p>Layout, in a folder of the ledger table that Delta leaves alone (its name starts with {@code _}):
 * <pre>
 *   _lethe_state/v&lt;version&gt;-&lt;id&gt;/bucket-&lt;n&gt;.parquet  latest events of the requests whose hash falls in bucket n
 *   _lethe_state/v&lt;version&gt;-&lt;id&gt;/open.parquet        latest events of the requests not complete
 *   _lethe_state/&lt;version, 20 digits&gt;.json              the snapshot's manifest, written last
 * </pre>
 * A snapshot counts only once its manifest is written, and a manifest names only files written
 * whole, so a writer killed half-way leaves files no manifest names, which a later compaction
 * deletes. A bucket no event of the tail touched is named again by the next manifest, not copied.
 *
 * <p>A request's events after the snapshot are newer than its state there: they were committed
 * later. A complete request gets no further event (the forget plan opens a new request for an id
 * asked again), so a request of the tail that is not open in the snapshot is new.
 */
final class LedgerState {
  private static final Logger LOG = LoggerFactory.getLogger(LedgerState.class);
  static final String FOLDER = "_lethe_state";
  /** The requests a bucket file holds, about, in a snapshot. */
  static final int REQUESTS_PER_BUCKET = 4096;
  /** Files no manifest kept names are deleted once this old (a reader may still be reading them). */
  private static final long ORPHAN_AGE_MILLIS = 3_600_000L;
  /** Manifests kept: the newest, and the one before it for readers that picked it a moment ago. */
  private static final int MANIFESTS_KEPT = 2;
  private static final Pattern MANIFEST = Pattern.compile("(\\d{20})\\.json");

  private final HadoopFiles files;
  private final DriverParquet parquet;
  private final LogTable history;
  private final Path folder;
  private final int compactAfterCommits;
  private final long compactAfterEvents;

  LedgerState(Configuration hadoop, String ledgerPath, LogTable history, int compactAfterCommits,
      long compactAfterEvents) {
    this.files = new HadoopFiles(hadoop);
    this.parquet = new DriverParquet(hadoop);
    this.history = history;
    this.folder = new Path(new Path(ledgerPath), FOLDER);
    this.compactAfterCommits = compactAfterCommits;
    this.compactAfterEvents = compactAfterEvents;
  }

  /** A snapshot's manifest: its version, its bucket files (null for an empty bucket) and its counts. */
  record Manifest(long version, int buckets, List<StateFile> bucketFiles, StateFile openFile, long requests,
      Map<String, Long> byStatus) {}

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

  static int bucket(String subjectHash, int buckets) {
    return subjectHash.hashCode() & (buckets - 1);
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

  private List<Row> read(StateFile file, String column, Set<String> wanted) {
    FileStatus status = FileStatus.of(new Path(folder, file.path()).toString(), file.size(), 0);
    return wanted == null ? parquet.read(status, LedgerEntry.SCHEMA)
        : parquet.read(status, LedgerEntry.SCHEMA, column, wanted::contains);
  }

  /**
   * Whether enough has gathered since the newest snapshot that readers should not read it all:
   * {@code compactAfterCommits} commits, or {@code compactAfterEvents} events (as the commits' file
   * statistics count them). Always, when there is no snapshot and the history holds anything.
   */
  boolean due(View view) {
    if (view.snapshot == null) {
      return !view.tail().isEmpty();
    }
    return view.version - view.snapshot.version() >= compactAfterCommits || view.tailEvents() >= compactAfterEvents;
  }

  /**
   * Writes a snapshot at the view's version: the buckets the tail touched are written anew (all
   * of them when the buckets grow in number), the others named again; then the open requests and,
   * last, the manifest. Deletes what no kept manifest names. Nothing to do when the tail is empty.
   */
  void compact(View view) {
    if (view.tail().isEmpty()) {
      return;
    }
    Manifest old = view.snapshot;
    int oldBuckets = old == null ? 1 : old.buckets();
    Map<String, LedgerEntry> openNow = view.openByRequest();
    long requests = view.requests();
    int buckets = oldBuckets;
    while ((long) buckets * REQUESTS_PER_BUCKET < requests) {
      buckets *= 2;
    }
    String written = String.format("v%020d-%s", view.version, UUID.randomUUID());
    Map<Integer, List<LedgerEntry>> tailByOldBucket = new HashMap<>();
    view.tail().values().forEach(e -> tailByOldBucket.computeIfAbsent(bucket(e.subjectHash(), oldBuckets),
        k -> new ArrayList<>()).add(e));
    List<StateFile> bucketFiles = new ArrayList<>();
    for (int j = 0; j < buckets; j++) {
      bucketFiles.add(null);
    }
    for (int i = 0; i < oldBuckets; i++) {
      List<LedgerEntry> touched = tailByOldBucket.getOrDefault(i, List.of());
      StateFile before = old == null ? null : old.bucketFiles().get(i);
      if (touched.isEmpty() && buckets == oldBuckets) {
        bucketFiles.set(i, before);
        continue;
      }
      Map<String, LedgerEntry> merged = new HashMap<>();
      if (before != null) {
        read(before, null, null).forEach(r -> {
          LedgerEntry e = LedgerEntry.fromRow(r);
          merged.put(e.requestId(), e);
        });
      }
      touched.forEach(e -> merged.put(e.requestId(), e));
      Map<Integer, List<Row>> split = new TreeMap<>();
      for (LedgerEntry e : merged.values()) {
        split.computeIfAbsent(bucket(e.subjectHash(), buckets), k -> new ArrayList<>()).add(e.toRow());
      }
      for (Map.Entry<Integer, List<Row>> part : split.entrySet()) {
        bucketFiles.set(part.getKey(), write(written + "/bucket-" + part.getKey() + ".parquet", part.getValue()));
      }
    }
    StateFile openFile = openNow.isEmpty() ? null
        : write(written + "/open.parquet", openNow.values().stream().map(LedgerEntry::toRow).toList());
    Manifest manifest = new Manifest(view.version, buckets, bucketFiles, openFile, requests, view.byStatus());
    try {
      files.writeNew(manifestPath(view.version), Json.write(manifest));
    } catch (LetheException e) {
      if (files.exists(manifestPath(view.version))) {
        LOG.info("Another process wrote the ledger's state at version {} first", view.version);
        return; // its files are the same state; this one's are deleted by a later compaction
      }
      throw e;
    }
    LOG.info("Ledger state at version {}: {} requests in {} buckets, {} open", view.version, requests, buckets,
        openNow.size());
    deleteUnnamed();
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
      m.bucketFiles().stream().filter(f -> f != null).forEach(f -> named.add(f.path()));
      if (m.openFile() != null) {
        named.add(m.openFile().path());
      }
    }
    for (long v : versions) {
      if (!kept.contains(v)) {
        files.deleteRecursively(manifestPath(v));
      }
    }
    long cutoff = System.currentTimeMillis() - ORPHAN_AGE_MILLIS;
    String root = files.qualify(folder.toString()).toString() + "/";
    for (org.apache.hadoop.fs.FileStatus st : files.list(folder)) {
      if (!st.isDirectory()) {
        continue;
      }
      boolean anyNamed = false;
      for (Path f : files.filesUnder(st.getPath())) {
        String relative = files.qualify(f.toString()).toString().substring(root.length());
        anyNamed |= named.contains(relative);
      }
      if (!anyNamed && st.getModificationTime() < cutoff) {
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

    /** The events after the snapshot, as the log's file statistics count them (unknown counts as none). */
    long tailEvents() {
      return tailFiles == null ? 0 : tailFiles.stream().mapToLong(f -> f.records() == null ? 0 : f.records()).sum();
    }

    /** The latest event of every request of these hashes: their buckets of the snapshot, their events of the tail. */
    List<LedgerEntry> latestOf(Collection<String> hashes) {
      Set<String> wanted = new HashSet<>(hashes);
      Map<String, LedgerEntry> out = new HashMap<>();
      if (snapshot != null) {
        Map<Integer, Set<String>> byBucket = new TreeMap<>();
        wanted.forEach(h -> byBucket.computeIfAbsent(bucket(h, snapshot.buckets()), k -> new HashSet<>()).add(h));
        byBucket.forEach((b, inBucket) -> {
          StateFile file = snapshot.bucketFiles().get(b);
          if (file != null) {
            read(file, "subject_hash", inBucket).forEach(r -> {
              LedgerEntry e = LedgerEntry.fromRow(r);
              out.put(e.requestId(), e);
            });
          }
        });
      }
      Map<String, LedgerEntry> after = tail != null || snapshot == null ? tail()
          : fold(history.rows(tailFiles, LedgerEntry.SCHEMA, "subject_hash", wanted::contains));
      after.values().stream().filter(e -> wanted.contains(e.subjectHash())).forEach(e -> out.put(e.requestId(), e));
      return new ArrayList<>(out.values());
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
          read(snapshot.openFile(), null, null).forEach(r -> {
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
