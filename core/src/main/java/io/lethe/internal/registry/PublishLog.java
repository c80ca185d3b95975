package io.lethe.internal.registry;

import io.lethe.CorruptRegistryException;
import io.lethe.LetheConfig;
import io.lethe.internal.run.DeltaCommits;
import io.lethe.internal.run.HadoopFiles;
import io.lethe.internal.run.LogCompaction;
import io.lethe.internal.run.LogTable;
import io.lethe.internal.run.Tables;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The publish log: an append-only Delta table of the versions published and retired, read and
 * appended to in the driver (Delta Kernel: no Spark job). Its rows are cached with the commit they
 * were read at, and read again only when a newer commit has landed (its newest commit file, listed).
 * A publish claims its version number by an idempotent commit ({@link #append} with a claim).
 */
final class PublishLog {
  static final StructType SCHEMA = new StructType()
      .add("version", DataTypes.LongType, false)
      .add("event", DataTypes.StringType, false)
      .add("at", DataTypes.StringType, false)
      .add("manifest", DataTypes.StringType, true);
  private static final String PUBLISH_APP_ID = "lethe-ensemble-publish";

  /** Commits after which a read of the publish log writes a compaction of it. */
  static final int COMPACT_AFTER_COMMITS = 20;

  /** The newest commit of a publish log and when its file was written (a re-created log restarts at 0). */
  private record Head(long commit, long modified) {}

  private record Snapshot(Head head, List<Row> rows) {}

  private final SparkSession spark;
  private final HadoopFiles files;
  /** The publish log's catalog name when models.publish-log names a table, else null. */
  private final String name;
  private final String tablesLocation;
  /** Where the publish log is; null for a named log its first publish will create. */
  private volatile Path path;
  /** The publish log, read and appended to in the driver (Delta Kernel): no Spark job. */
  private volatile LogTable log;
  private volatile LogCompaction compacted;
  /** The publish log's rows as last read, with the commit they were read at. */
  private volatile Snapshot known;

  /**
   * @param location a path, or a catalog table name (the first publish creates the table)
   * @param tablesLocation where a named publish log is created as an external table; blank for a managed one
   */
  PublishLog(SparkSession spark, HadoopFiles files, String location, String tablesLocation) {
    this.spark = spark;
    this.files = files;
    this.tablesLocation = tablesLocation;
    this.name = Tables.isOwnTableName(spark, location, LetheConfig.MODELS_PUBLISH_LOG) ? location : null;
    if (name == null) {
      at(files.qualify(location));
    } else if (Tables.exists(spark, name)) {
      at(files.qualify(Tables.location(spark, name)));
    }
  }

  /** Where the log is (null: a named log not created yet). */
  Path path() {
    return path;
  }

  /** The log's name for messages: its catalog name, else its path. */
  String describe() {
    return name != null ? name : String.valueOf(path);
  }

  private void at(Path path) {
    this.path = path;
    this.log = new LogTable(spark.sparkContext().hadoopConfiguration(), path.toString());
    this.compacted = new LogCompaction(spark.sparkContext().hadoopConfiguration(), log, COMPACT_AFTER_COMMITS);
  }

  /** Creates a named publish log in the catalog, empty, before its first append. */
  private synchronized void createNamedLog() {
    if (log == null) {
      at(files.qualify(Tables.createIfAbsent(spark, name, SCHEMA, Map.of(), tablesLocation, "publish log")));
    }
  }

  /**
   * Appends events to the publish log (creating it) in one commit (Delta Kernel, in the driver),
   * as an idempotent write of claim {@code claim} when given, and says whether that commit landed:
   * a claim that another publisher has taken already, or takes concurrently, is refused.
   */
  boolean append(List<Row> events, Long claim) {
    if (log == null) {
      createNamedLog();
    }
    try {
      log.append(events, SCHEMA, Map.of(), claim == null ? null : PUBLISH_APP_ID, claim);
      return true;
    } catch (io.delta.kernel.exceptions.ConcurrentTransactionException taken) {
      return false;
    }
  }

  /** The newest commit of the publish log, by listing its Delta log; commit -1 when there is none. */
  private Head head() {
    if (path == null) {
      return new Head(-1, 0);
    }
    return DeltaCommits.newest(files, path)
        .map(st -> new Head(DeltaCommits.version(st), st.getModificationTime())).orElse(new Head(-1, 0));
  }

  /**
   * The publish log's rows, read again only when a commit landed since this JVM last read them:
   * from its newest compaction and the commits after it, so a new process reads a few files however
   * many versions were published ({@link LogCompaction}).
   */
  List<Row> rows() {
    Head head = head();
    if (head.commit() < 0) {
      // Nothing published yet (files of a first commit that never landed are not part of the table).
      return List.of();
    }
    Snapshot last = known;
    if (last != null && last.head().equals(head)) {
      return last.rows();
    }
    List<Row> rows;
    try {
      rows = List.copyOf(compacted.rows(head.commit(), SCHEMA));
    } catch (RuntimeException e) {
      throw new CorruptRegistryException("Cannot read the publish log " + describe() + ": " + e.getMessage(), e);
    }
    known = new Snapshot(head, rows);
    return rows;
  }
}
