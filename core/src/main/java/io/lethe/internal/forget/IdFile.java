package io.lethe.internal.forget;

import io.lethe.types.ForgetRequest;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.trim;
import static org.apache.spark.sql.functions.when;

import io.delta.tables.DeltaTable;
import io.lethe.InvalidRequestException;
import io.lethe.LetheException;
import io.lethe.internal.ledger.ForgetLedger;
import io.lethe.internal.ledger.LedgerKey;
import io.lethe.internal.run.HadoopFiles;
import io.lethe.internal.run.Tables;
import io.lethe.types.IdKind;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.IntegralType;
import org.apache.spark.sql.types.StringType;

/**
 * Reads a batch of ids from a file or table: text (one id per line), CSV with a header, JSON
 * lines, Parquet, or a Delta table (for example a table of incoming requests). The ids are
 * collected to the driver, where they stay in memory.
 */
public final class IdFile {
  /** A batch larger than this should be split: its ids are held on the driver. */
  public static final int MAX_IDS = 1_000_000;
  private static final List<String> FORMATS = List.of("auto", "text", "csv", "json", "parquet", "delta");

  private IdFile() {}

  /**
   * @param location a file or table path, or a catalog table name (schema.table,
   *     catalog.schema.table) that the catalog has
   * @param format auto (from the extension, for a directory its data files' extension; a Delta
   *     table is Delta), text, csv, json, parquet or delta; not used for a catalog table
   * @param column the id column; null for text, or for a file with a single column
   */
  public static ForgetRequest read(SparkSession spark, String location, String format, String column, IdKind kind) {
    Resolved source = resolve(spark, location, format);
    if (source.path() == null) {
      return fromTable(spark.table(location), location, source.format(), column, kind);
    }
    if (source.format().equals("text") && readsInDriver(source.files(), source.path())) {
      return textInDriver(source.files(), source.path(), location, kind);
    }
    return fromTable(load(spark, location, source.format()), location, source.format(), column, kind);
  }

  /** Where the ids are: a catalog table (no path, format "table"), or a file or folder and its format. */
  private record Resolved(String format, HadoopFiles files, Path path) {}

  private static Resolved resolve(SparkSession spark, String location, String format) {
    String fmt = format == null ? "auto" : format.toLowerCase(Locale.ROOT);
    if (!FORMATS.contains(fmt)) {
      throw new InvalidRequestException("Unknown id file format '" + format + "': use one of " + String.join(", ", FORMATS));
    }
    if (Tables.looksLikeName(location) && Tables.exists(spark, location)) {
      return new Resolved("table", null, null);
    }
    HadoopFiles files = new HadoopFiles(spark.sparkContext().hadoopConfiguration());
    Path path = files.qualify(location);
    if (!files.exists(path)) {
      throw new InvalidRequestException("The id file " + location + " does not exist");
    }
    return new Resolved(fmt.equals("auto") ? detect(spark, files, path) : fmt, files, path);
  }

  /**
   * The ids of a file or table that no request of the ledger holds yet (by keyed hash, whatever
   * the request's state but held for a batch, whose ids it takes again), for a table of incoming requests that grows for years: its ids are
   * checked as {@link #read} checks them, hashed and set against the ledger's requests by Spark
   * (the ledger key travels to the executors with the task, as for verify), and at most {@code
   * limit} of them, the least first, come to the driver; the rest wait for the next run. The
   * driver holds those ids, never the table.
   */
  public static NewIds readNew(SparkSession spark, String location, String format, String column, IdKind kind,
      ForgetLedger ledger, LedgerKey key, int limit) {
    if (limit < 1) {
      throw new InvalidRequestException("The most ids a run takes must be at least 1, got " + limit);
    }
    Resolved source = resolve(spark, location, format);
    Dataset<Row> table = source.path() == null ? spark.table(location) : load(spark, location, source.format());
    Dataset<Row> hashed = checked(table, location, source.format(), column).ids().distinct()
        .withColumn("hash", key.hashOf(kind, col("id"))).persist(org.apache.spark.storage.StorageLevel.MEMORY_AND_DISK());
    try {
      long distinct = hashed.count();
      Dataset<Row> known = ledger.knownHashes();
      Dataset<Row> fresh = hashed.join(known, hashed.col("hash").equalTo(known.col("subject_hash")), "left_anti")
          .select("id");
      long freshCount = fresh.count();
      List<String> taken = fresh.orderBy("id").limit(limit).collectAsList().stream().map(r -> r.getString(0)).toList();
      return new NewIds(ForgetRequest.of(kind, taken), distinct, distinct - freshCount, freshCount - taken.size());
    } finally {
      hashed.unpersist();
    }
  }

  /**
   * What {@link #readNew} found: the request of the ids taken, the distinct ids of the source, those
   * a request of the ledger already holds, and the new ones left for the next run.
   */
  public record NewIds(ForgetRequest request, long distinctIds, long inLedger, long leftForNextRun) {}

  /** The ids of a loaded file or a catalog table: its id column checked and read. */
  private static ForgetRequest fromTable(Dataset<Row> table, String location, String fmt, String column, IdKind kind) {
    Checked checked = checked(table, location, fmt, column);
    requireAtMostMaxIds(location, checked.rows());
    return ForgetRequest.of(kind, checked.ids().collectAsList().stream().map(r -> r.getString(0)).toList());
  }

  /** A source's ids (column "id", trimmed strings) once checked, and their number. */
  private record Checked(Dataset<Row> ids, long rows) {}

  /** The id column of a loaded file or table, checked: its type, no null or empty id, no control character. */
  private static Checked checked(Dataset<Row> table, String location, String fmt, String column) {
    String idColumn = pickColumn(table, column, location, fmt);
    DataType type = table.schema().apply(idColumn).dataType();
    if (!(type instanceof StringType || type instanceof IntegralType)) {
      throw new InvalidRequestException("Wrong id type in " + location + ": column '" + idColumn + "' holds "
          + type.simpleString() + "; ids must be strings or whole numbers");
    }
    Dataset<Row> ids = table.select(trim(col(idColumn).cast("string")).as("id"));
    if (fmt.equals("text")) {
      ids = ids.where(col("id").notEqual(""));
    }
    Row checks;
    try {
      checks = ids.agg(count(lit(1)),
          sum(when(col("id").isNull().or(col("id").equalTo("")), 1).otherwise(0)),
          sum(when(col("id").rlike("\\p{Cntrl}"), 1).otherwise(0))).head();
    } catch (Exception e) {
      throw new InvalidRequestException("The id file " + location + " is malformed (" + fmt + "): " + LetheException.firstLine(e), e);
    }
    long rows = checks.getLong(0);
    if (rows > 0 && checks.getLong(1) > 0) {
      throw new InvalidRequestException("The id file " + location + " has " + checks.getLong(1) + " null or empty id(s) in column '"
          + idColumn + "'");
    }
    if (rows > 0) {
      requireNoControlCharacters(location, checks.getLong(2));
    }
    return new Checked(ids, rows);
  }

  /** Up to this size, an uncompressed text id file is read in the driver, with no Spark job. */
  private static final long DRIVER_TEXT_BYTES = 64L << 20;
  private static final java.util.regex.Pattern CONTROL = java.util.regex.Pattern.compile("\\p{Cntrl}");

  private static boolean readsInDriver(HadoopFiles files, Path path) {
    try {
      org.apache.hadoop.fs.FileStatus status = files.fs(path).getFileStatus(path);
      String name = path.getName().toLowerCase(Locale.ROOT);
      boolean compressed = List.of(".gz", ".bz2", ".deflate", ".lz4", ".snappy", ".zst").stream().anyMatch(name::endsWith);
      return status.isFile() && !compressed && status.getLen() <= DRIVER_TEXT_BYTES;
    } catch (java.io.IOException e) {
      return false; // Spark's read says what is wrong
    }
  }

  /**
   * A text id file read as Spark's text source and the checks above read it: lines split at
   * \n, \r or \r\n, spaces trimmed (Spark's trim: the space character only), empty lines skipped,
   * an id with a control character refused.
   */
  private static ForgetRequest textInDriver(HadoopFiles files, Path path, String location, IdKind kind) {
    List<String> ids = new java.util.ArrayList<>();
    long control = 0;
    for (String line : files.readString(path).split("\r\n|\r|\n", -1)) {
      String id = stripSpaces(line);
      if (id.isEmpty()) {
        continue;
      }
      if (CONTROL.matcher(id).find()) {
        control++;
      }
      ids.add(id);
    }
    requireAtMostMaxIds(location, ids.size());
    requireNoControlCharacters(location, control);
    return ForgetRequest.of(kind, ids);
  }

  private static void requireAtMostMaxIds(String location, long ids) {
    if (ids > MAX_IDS) {
      throw new InvalidRequestException("The id file " + location + " has " + ids + " ids; split batches above " + MAX_IDS
          + ", or take only the ids the ledger does not hold yet, a batch at a time (forget --new-only)");
    }
  }

  private static void requireNoControlCharacters(String location, long ids) {
    if (ids > 0) {
      throw new InvalidRequestException("The id file " + location + " is malformed: " + ids
          + " id(s) hold control characters (a binary file, or the wrong format?)");
    }
  }

  private static String stripSpaces(String s) {
    int from = 0;
    int to = s.length();
    while (from < to && s.charAt(from) == ' ') {
      from++;
    }
    while (to > from && s.charAt(to - 1) == ' ') {
      to--;
    }
    return s.substring(from, to);
  }

  /** The format of a file from its extension; of a directory, Delta or its data files' extension. */
  private static String detect(SparkSession spark, HadoopFiles files, Path path) {
    if (DeltaTable.isDeltaTable(spark, path.toString())) {
      return "delta";
    }
    String name = path.getName();
    if (isDirectory(files, path)) {
      name = files.list(path).stream().map(f -> f.getPath().getName())
          .filter(n -> !n.startsWith("_") && !n.startsWith(".")).findFirst().orElse(name);
    }
    name = name.toLowerCase(Locale.ROOT);
    for (String ext : List.of("csv", "json", "parquet")) {
      if (name.endsWith("." + ext) || name.contains("." + ext + ".") || name.endsWith("." + ext + ".gz")) {
        return ext;
      }
    }
    if (name.endsWith(".jsonl") || name.endsWith(".ndjson")) {
      return "json";
    }
    return "text";
  }

  private static boolean isDirectory(HadoopFiles files, Path path) {
    try {
      return files.fs(path).getFileStatus(path).isDirectory();
    } catch (java.io.IOException e) {
      throw new InvalidRequestException("Cannot read " + path + ": " + e.getMessage(), e);
    }
  }

  private static Dataset<Row> load(SparkSession spark, String location, String fmt) {
    try {
      return switch (fmt) {
        case "text" -> spark.read().text(location);
        case "csv" -> spark.read().option("header", "true").option("mode", "FAILFAST").option("inferSchema", "false")
            .csv(location);
        case "json" -> spark.read().option("mode", "FAILFAST").json(location);
        case "delta" -> spark.read().format("delta").load(location);
        default -> spark.read().parquet(location);
      };
    } catch (Exception e) {
      throw new InvalidRequestException("The id file " + location + " is malformed or not " + fmt + ": "
          + LetheException.firstLine(e), e);
    }
  }

  private static String pickColumn(Dataset<Row> table, String column, String location, String fmt) {
    List<String> columns = Arrays.asList(table.columns());
    if (fmt.equals("text")) {
      return "value";
    }
    if (column != null && !column.isEmpty()) {
      if (!columns.contains(column)) {
        throw new InvalidRequestException("The id file " + location + " has no column '" + column + "'; its columns are "
            + String.join(", ", columns));
      }
      return column;
    }
    if (columns.size() == 1) {
      return columns.get(0);
    }
    throw new InvalidRequestException("The id file " + location + " has columns " + String.join(", ", columns)
        + "; name the id column with --ids-column");
  }
}
