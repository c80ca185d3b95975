package io.lethe.ledger;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.max_by;
import static org.apache.spark.sql.functions.not;
import static org.apache.spark.sql.functions.struct;

import io.delta.tables.DeltaTable;
import io.lethe.LetheConfig;
import io.lethe.LetheException;
import io.lethe.store.CommitRetry;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * The forget requests and every step taken for them: an append-only Delta table, one row per
 * event ({@link LedgerEntry}). A request's current state is its latest event; nothing is ever
 * updated or deleted. Ids are stored only as keyed hashes.
 */
public final class ForgetLedger {
  private final SparkSession spark;
  private final String path;
  private final Duration deadline;
  private final CommitRetry retry;
  private volatile boolean verified;

  public ForgetLedger(SparkSession spark, String path, int deadlineDays, CommitRetry retry) {
    if (deadlineDays < 1) {
      throw new LetheException("The forget deadline must be at least one day, got " + deadlineDays);
    }
    this.spark = spark;
    this.path = new io.lethe.run.HadoopFiles(spark.sparkContext().hadoopConfiguration()).qualify(path).toString();
    this.deadline = Duration.ofDays(deadlineDays);
    this.retry = retry;
  }

  /** The ledger at ledger.path, with the configured deadline and commit attempts. */
  public static ForgetLedger from(SparkSession spark, LetheConfig config) {
    return new ForgetLedger(spark, config.get(LetheConfig.LEDGER_PATH), config.getInt(LetheConfig.LEDGER_DEADLINE_DAYS),
        new CommitRetry(config.getInt(LetheConfig.FORGET_COMMIT_ATTEMPTS)));
  }

  public String path() {
    return path;
  }

  /** The deadline of a request received at {@code receivedAt}. */
  public Instant deadlineFor(Instant receivedAt) {
    return receivedAt.plus(deadline);
  }

  public boolean exists() {
    return DeltaTable.isDeltaTable(spark, path);
  }

  /** Appends events in one Delta commit (a blind append: it conflicts with nothing but a create). */
  public void record(List<LedgerEntry> events) {
    if (events.isEmpty()) {
      return;
    }
    if (!verified && exists()) {
      requireLedger();
    }
    List<Row> rows = events.stream().map(LedgerEntry::toRow).toList();
    retry.run("ledger append", () -> {
      spark.createDataFrame(rows, LedgerEntry.SCHEMA).write().format("delta").mode("append").save(path);
      return null;
    });
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
    Dataset<Row> events = events();
    Column[] all = Arrays.stream(LedgerEntry.SCHEMA.fieldNames()).filter(f -> !f.equals("request_id"))
        .map(f -> col(f)).toArray(Column[]::new);
    return events.groupBy(col("request_id"))
        .agg(max_by(struct(all), struct(col("at"), col("rank"))).as("e"))
        .select(col("request_id"), col("e.*"));
  }

  /** The current state of every request that is not complete, oldest first. */
  public List<LedgerEntry> open() {
    return current().where(not(isComplete()))
        .collectAsList().stream().map(LedgerEntry::fromRow)
        .sorted(Comparator.comparing(LedgerEntry::receivedAt)).toList();
  }

  /** Open requests by their hash, for the given hashes. */
  public Map<String, LedgerEntry> openByHash(Collection<String> hashes) {
    Set<String> wanted = new HashSet<>(hashes);
    Map<String, LedgerEntry> out = new LinkedHashMap<>();
    for (LedgerEntry e : open()) {
      if (wanted.contains(e.subjectHash())) {
        out.putIfAbsent(e.subjectHash(), e);
      }
    }
    return out;
  }

  /** Those of the given hashes whose request is complete. */
  public Set<String> completedHashes(Collection<String> hashes) {
    Set<String> out = new HashSet<>();
    if (hashes.isEmpty() || !exists()) {
      return out;
    }
    Dataset<Row> wanted = spark.createDataset(new ArrayList<>(hashes), org.apache.spark.sql.Encoders.STRING())
        .toDF("wanted_hash");
    Dataset<Row> complete = current().where(isComplete());
    complete.join(wanted, complete.col("subject_hash").equalTo(wanted.col("wanted_hash")))
        .select("subject_hash").collectAsList().forEach(r -> out.add(r.getString(0)));
    return out;
  }

  /** Counts of requests by status, and the open ones with their deadlines. */
  public LedgerSummary summary(Instant now) {
    Map<String, Long> byStatus = new TreeMap<>();
    if (exists()) {
      for (Row r : current().where(isComplete())
          .groupBy(org.apache.spark.sql.functions.when(org.apache.spark.sql.functions.size(col("shards")).equalTo(0),
              "not-found").otherwise("forgotten")).count().collectAsList()) {
        byStatus.put(r.getString(0), r.getLong(1));
      }
    }
    List<LedgerEntry> open = open();
    open.forEach(e -> byStatus.merge(e.status(), 1L, Long::sum));
    return LedgerSummary.of(path, byStatus, open, now);
  }

  /** A current state that is the request's last: complete, done. */
  private static Column isComplete() {
    return col("step").equalTo(ForgetStep.COMPLETE.id()).and(col("phase").equalTo(ForgetStep.Phase.DONE.id()));
  }

  private void requireLedger() {
    if (!exists()) {
      throw new LetheException("No ledger at " + path + " (not a Delta table); a forget run creates it");
    }
    List<String> columns = Arrays.asList(spark.read().format("delta").load(path).columns());
    if (!columns.containsAll(Arrays.asList(LedgerEntry.SCHEMA.fieldNames()))) {
      throw new LetheException("The Delta table at " + path + " is not a Lethe ledger (its columns are "
          + String.join(", ", columns) + ")");
    }
  }
}
