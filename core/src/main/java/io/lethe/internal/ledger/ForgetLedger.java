package io.lethe.internal.ledger;

import io.lethe.types.LedgerEntry;
import io.lethe.types.LedgerSummary;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.max_by;
import static org.apache.spark.sql.functions.not;
import static org.apache.spark.sql.functions.struct;

import io.lethe.InvalidConfigException;
import io.lethe.LetheConfig;
import io.lethe.LetheException;
import io.lethe.internal.run.LogTable;
import io.lethe.internal.run.Tables;
import io.lethe.internal.store.CommitRetry;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * The forget requests and every step taken for them: an append-only Delta table, one row per
 * event ({@link LedgerEntry}). A request's current state is its latest event; nothing is ever
 * updated or deleted. Ids are stored only as keyed hashes.
 *
 * <p>The forget path reads and appends in the driver through Delta Kernel ({@link LogTable}): no
 * Spark job, and only data files not read before by this ledger object are opened. The current
 * state of the requests comes from a snapshot kept beside the history plus the commits after it
 * ({@link LedgerState}), so a plan or a status reads a bounded part of the ledger however long its
 * history. The {@link #events()} and {@link #current()} Datasets are for queries (verify, users' SQL).
 */
public final class ForgetLedger {
  private final SparkSession spark;
  /** The catalog name when ledger.path names a table, else null. */
  private final String name;
  private final String tablesLocation;
  /** Where the ledger's Delta table is; null for a named ledger its first append will create. */
  private volatile String path;
  private final Duration deadline;
  private final CommitRetry retry;
  private volatile LogTable log;
  private volatile LedgerState snapshots;
  private volatile boolean verified;
  /** The fingerprint of the key this ledger is used with (recorded when the ledger is created). */
  private volatile String keyFingerprint;

  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ForgetLedger.class);
  /** Ledger commits after which a run writes a new snapshot of the state ({@link #compactStateIfDue}). */
  public static final int COMPACT_AFTER_COMMITS = 50;
  /** Ledger events after which a run writes a new snapshot of the state, however few their commits. */
  public static final long COMPACT_AFTER_EVENTS = 100_000;

  /** The ledger table's property that holds its key's fingerprint ({@link LedgerKey#fingerprint}). */
  public static final String KEY_FINGERPRINT = "lethe.ledger.keyFingerprint";

  /**
   * @param location a path, or a catalog table name (schema.table or catalog.schema.table): the
   *     first append creates the table in the catalog, and the ledger is read at its location
   */
  public ForgetLedger(SparkSession spark, String location, int deadlineDays, CommitRetry retry) {
    this(spark, location, deadlineDays, retry, "");
  }

  /**
   * @param tablesLocation where a named ledger is created as an external table ({@code
   *     tables.location}); blank for a managed table
   */
  public ForgetLedger(SparkSession spark, String location, int deadlineDays, CommitRetry retry, String tablesLocation) {
    if (deadlineDays < 1) {
      throw new InvalidConfigException("The forget deadline must be at least one day, got " + deadlineDays);
    }
    this.spark = spark;
    this.deadline = Duration.ofDays(deadlineDays);
    this.retry = retry;
    this.tablesLocation = tablesLocation;
    this.name = Tables.isOwnTableName(spark, location, LetheConfig.LEDGER_PATH) ? location : null;
    if (name == null) {
      at(location);
    } else if (Tables.exists(spark, name)) {
      at(Tables.location(spark, name));
    }
  }

  private void at(String location) {
    this.path = new io.lethe.internal.run.HadoopFiles(spark.sparkContext().hadoopConfiguration()).qualify(location).toString();
    this.log = new LogTable(spark.sparkContext().hadoopConfiguration(), this.path);
    this.snapshots = new LedgerState(spark.sparkContext().hadoopConfiguration(), this.path, log, COMPACT_AFTER_COMMITS,
        COMPACT_AFTER_EVENTS);
  }

  /** Creates a named ledger in the catalog, empty, before its first append. */
  private synchronized void createNamed() {
    if (log == null) {
      at(Tables.createIfAbsent(spark, name, LedgerEntry.SCHEMA,
          keyFingerprint == null ? Map.of() : Map.of(KEY_FINGERPRINT, keyFingerprint), tablesLocation, "ledger"));
    }
  }

  /** The ledger at ledger.path, with the configured deadline and commit attempts. */
  public static ForgetLedger from(SparkSession spark, LetheConfig config) {
    return new ForgetLedger(spark, config.get(LetheConfig.LEDGER_PATH), config.getInt(LetheConfig.LEDGER_DEADLINE_DAYS),
        new CommitRetry(config.getInt(LetheConfig.FORGET_COMMIT_ATTEMPTS)), config.get(LetheConfig.TABLES_LOCATION));
  }

  /** The ledger's table name, else its path. */
  public String path() {
    return name != null ? name : path;
  }

  /** The deadline of a request received at {@code receivedAt}. */
  public Instant deadlineFor(Instant receivedAt) {
    return receivedAt.plus(deadline);
  }

  public boolean exists() {
    return log != null && log.version().isPresent();
  }

  /**
   * Uses the ledger with this key: a ledger that recorded another key's fingerprint is refused
   * with one message (its hashes would match no id hashed with this key); a ledger created from
   * now on records this key's.
   */
  public void requireKey(LedgerKey key) {
    String mine = key.fingerprint();
    keyFingerprint = mine;
    if (!exists()) {
      return;
    }
    String recorded = log.properties().map(p -> p.get(KEY_FINGERPRINT)).orElse(null);
    if (recorded != null && !recorded.equals(mine)) {
      throw new InvalidConfigException("The ledger at " + path() + " was written under another ledger key (key"
          + " fingerprint " + recorded + "; the key given has " + mine + "): give the key it was written with, or,"
          + " to rotate the key, a new " + LetheConfig.LEDGER_PATH + " for the new key (docs/forgetting.md)");
    }
  }

  /** Appends events in one Delta commit (a blind append: it conflicts with nothing but a create). */
  public void record(List<LedgerEntry> events) {
    if (events.isEmpty()) {
      return;
    }
    if (!verified && exists()) {
      requireLedger();
    }
    if (log == null) {
      createNamed();
    }
    List<Row> rows = events.stream().map(LedgerEntry::toRow).toList();
    Map<String, String> created = keyFingerprint == null ? Map.of() : Map.of(KEY_FINGERPRINT, keyFingerprint);
    retry.run("ledger append", () -> log.append(rows, LedgerEntry.SCHEMA, created, null, null));
    verified = true;
  }

  /** A row of {@link #events()} or {@link #current()} as an entry. */
  public static LedgerEntry entry(Row row) {
    return LedgerEntry.fromRow(row);
  }

  /** Every event, oldest first within each request. */
  public Dataset<Row> events() {
    requireLedger();
    return spark.read().format("delta").load(path);
  }

  /** Every request's latest event. */
  public Dataset<Row> current() {
    if (!exists()) {
      return spark.createDataFrame(List.of(), LedgerEntry.SCHEMA);
    }
    return latest(events());
  }

  /**
   * The current state, open or complete, of every request for the given hashes: of the state
   * snapshot, only the row groups that may hold these hashes are read ({@link LedgerState}).
   */
  public List<LedgerEntry> currentOf(Collection<String> hashes) {
    if (hashes.isEmpty()) {
      return List.of();
    }
    return state().map(v -> v.latestOf(hashes)).orElse(List.of());
  }

  /** The ledger's state at its newest version, or empty when there is no ledger yet. */
  private java.util.Optional<LedgerState.View> state() {
    if (!exists()) {
      return java.util.Optional.empty();
    }
    if (!verified) {
      requireLedger();
    }
    return java.util.Optional.of(snapshots.at(log.version().orElseThrow()));
  }

  /**
   * Writes a snapshot of the ledger's state when enough has gathered since the last one, or in
   * all when there is none ({@value #COMPACT_AFTER_COMMITS} commits or {@value #COMPACT_AFTER_EVENTS}
   * events), so that readers read a bounded tail of the history. A run calls it after its last ledger commit; a
   * failure is logged, not raised: the history holds everything, and the next run tries again.
   */
  public void compactStateIfDue() {
    try {
      state().filter(snapshots::due).ifPresent(snapshots::compact);
    } catch (RuntimeException e) {
      LOG.warn("Could not write the ledger's state snapshot ({}); the next run tries again", e.getClass().getSimpleName());
    }
  }

  /** The ledger's newest version, or empty when there is no ledger yet. */
  public java.util.OptionalLong version() {
    return log == null ? java.util.OptionalLong.empty() : log.version();
  }

  /** The commits a reader of the state reads past its newest snapshot (all of them when there is none). */
  public long commitsSinceState() {
    return state().map(LedgerState.View::commitsSinceSnapshot).orElse(0L);
  }

  /** Writes a snapshot of the ledger's state at its newest version now (when anything was committed since the last). */
  public void compactState() {
    state().ifPresent(snapshots::compact);
  }

  private static Dataset<Row> latest(Dataset<Row> events) {
    Column[] all = Arrays.stream(LedgerEntry.SCHEMA.fieldNames()).filter(f -> !f.equals("request_id"))
        .map(f -> col(f)).toArray(Column[]::new);
    return events.groupBy(col("request_id"))
        .agg(max_by(struct(all), struct(col("at"), col("rank"))).as("e"))
        .select(col("request_id"), col("e.*"));
  }

  /**
   * The keyed hash of every request of the ledger but those held for a batch, as a Spark Dataset of
   * one column, {@code subject_hash} (a hash may come more than once): read by Spark from the state
   * snapshot's files, with the hashes of the requests after it, for a query that sets many ids
   * against the ledger.
   */
  public Dataset<Row> knownHashes() {
    org.apache.spark.sql.types.StructType one = new org.apache.spark.sql.types.StructType()
        .add("subject_hash", org.apache.spark.sql.types.DataTypes.StringType, false);
    java.util.Optional<LedgerState.View> view = state();
    if (view.isEmpty()) {
      return spark.createDataFrame(List.of(), one);
    }
    List<Row> after = view.get().tail().values().stream()
        .map(e -> org.apache.spark.sql.RowFactory.create(e.subjectHash())).toList();
    Dataset<Row> hashes = spark.createDataFrame(after, one);
    List<String> files = view.get().files();
    Dataset<Row> known = files.isEmpty() ? hashes
        : hashes.union(spark.read().parquet(files.toArray(String[]::new)).select("subject_hash"));
    // A request held for a batch waits for its id to be given again: it does not count as known.
    Object[] held = view.get().openByRequest().values().stream().filter(LedgerEntry::isHeld)
        .map(LedgerEntry::subjectHash).distinct().toArray();
    return held.length == 0 ? known : known.where(not(col("subject_hash").isin(held)));
  }

  /** The current state of every request that is not complete, oldest first. */
  public List<LedgerEntry> open() {
    return state().map(v -> v.openByRequest().values().stream()
        .sorted(Comparator.comparing(LedgerEntry::receivedAt)).toList()).orElse(List.of());
  }

  /** Counts of requests by status, and the open ones with their deadlines. */
  public LedgerSummary summary(Instant now) {
    java.util.Optional<LedgerState.View> view = state();
    Map<String, Long> byStatus = view.map(LedgerState.View::byStatus).orElse(Map.of());
    List<LedgerEntry> open = view.map(v -> v.openByRequest().values().stream()
        .sorted(Comparator.comparing(LedgerEntry::receivedAt)).toList()).orElse(List.of());
    return LedgerSummary.of(path(), new TreeMap<>(byStatus), open, now);
  }

  private void requireLedger() {
    if (!exists()) {
      throw new LetheException("No ledger at " + path() + " (not a Delta table); a forget run creates it");
    }
    List<String> columns = log.columns();
    if (!columns.containsAll(Arrays.asList(LedgerEntry.SCHEMA.fieldNames()))) {
      throw new LetheException("The Delta table at " + path + " is not a Lethe ledger (its columns are "
          + String.join(", ", columns) + ")");
    }
    verified = true;
  }
}
