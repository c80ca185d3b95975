package io.lethe.ledger;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.max_by;
import static org.apache.spark.sql.functions.struct;

import io.lethe.InvalidConfigException;
import io.lethe.LetheConfig;
import io.lethe.LetheException;
import io.lethe.run.LogTable;
import io.lethe.run.Tables;
import io.lethe.store.CommitRetry;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
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
 * Spark job, and only data files not read before by this ledger object are opened. The
 * {@link #events()} and {@link #current()} Datasets are for queries (verify, users' SQL).
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
  private volatile boolean verified;
  /** The fingerprint of the key this ledger is used with (recorded when the ledger is created). */
  private volatile String keyFingerprint;

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
    this.path = new io.lethe.run.HadoopFiles(spark.sparkContext().hadoopConfiguration()).qualify(location).toString();
    this.log = new LogTable(spark.sparkContext().hadoopConfiguration(), this.path);
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
   * The current state, open or complete, of every request for the given hashes, in one query:
   * a request's events all carry its hash, so only theirs are grouped.
   */
  public List<LedgerEntry> currentOf(Collection<String> hashes) {
    if (hashes.isEmpty()) {
      return List.of();
    }
    Set<String> wanted = new HashSet<>(hashes);
    return latestEvents(e -> wanted.contains(e.subjectHash()));
  }

  /**
   * Every request's latest event among the events passing {@code which} (all of a request's
   * events carry its hash and kind), read in the driver.
   */
  private List<LedgerEntry> latestEvents(java.util.function.Predicate<LedgerEntry> which) {
    if (!exists()) {
      return List.of();
    }
    if (!verified) {
      requireLedger();
    }
    Map<String, LedgerEntry> latest = new java.util.HashMap<>();
    Map<String, Integer> rank = new java.util.HashMap<>();
    for (Row row : log.rows(java.util.OptionalLong.empty(), LedgerEntry.SCHEMA)) {
      LedgerEntry e = LedgerEntry.fromRow(row);
      if (!which.test(e)) {
        continue;
      }
      int r = row.getInt(row.fieldIndex("rank"));
      LedgerEntry known = latest.get(e.requestId());
      if (known == null || e.at().isAfter(known.at()) || (e.at().equals(known.at()) && r > rank.get(e.requestId()))) {
        latest.put(e.requestId(), e);
        rank.put(e.requestId(), r);
      }
    }
    return new ArrayList<>(latest.values());
  }

  private static Dataset<Row> latest(Dataset<Row> events) {
    Column[] all = Arrays.stream(LedgerEntry.SCHEMA.fieldNames()).filter(f -> !f.equals("request_id"))
        .map(f -> col(f)).toArray(Column[]::new);
    return events.groupBy(col("request_id"))
        .agg(max_by(struct(all), struct(col("at"), col("rank"))).as("e"))
        .select(col("request_id"), col("e.*"));
  }

  /** The current state of every request that is not complete, oldest first. */
  public List<LedgerEntry> open() {
    return latestEvents(e -> true).stream().filter(e -> !e.isComplete())
        .sorted(Comparator.comparing(LedgerEntry::receivedAt)).toList();
  }

  /** Counts of requests by status, and the open ones with their deadlines. */
  public LedgerSummary summary(Instant now) {
    Map<String, Long> byStatus = new TreeMap<>();
    List<LedgerEntry> open = new ArrayList<>();
    for (LedgerEntry e : latestEvents(e -> true)) {
      byStatus.merge(e.status(), 1L, Long::sum);
      if (!e.isComplete()) {
        open.add(e);
      }
    }
    open.sort(Comparator.comparing(LedgerEntry::receivedAt));
    return LedgerSummary.of(path(), byStatus, open, now);
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
