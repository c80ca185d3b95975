package io.lethe.jobs;

import io.lethe.internal.forget.IdFile;
import io.lethe.types.ForgetRequest;
import io.lethe.types.IdKind;
import java.util.List;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Option;

/** How a job reads the ids it is given: the id file's format and column, and what the ids name. */
final class IdOptions {
  /** Where the ids are: one of --ids and --ids-file (an exclusive group of the job). */
  static final class Source {
    @Option(names = "--ids", split = ",", paramLabel = "ID,ID", description = "Ids on the command line.")
    List<String> list;

    @Option(names = "--ids-file", paramLabel = "PATH",
        description = "A file or table of ids: text (one id per line), CSV with a header, JSON lines, Parquet, "
            + "or a Delta table (for example a table of incoming requests), by path or by catalog table name.")
    String file;
  }

  @Option(names = "--ids-format", paramLabel = "FORMAT", defaultValue = "auto",
      description = "auto (from the extension, for a directory that of its data files; a Delta table is Delta), "
          + "text, csv, json, parquet or delta (default: ${DEFAULT-VALUE}).")
  String format;

  @Option(names = "--ids-column", paramLabel = "NAME",
      description = "The id column of a CSV, JSON, Parquet or Delta id file (not needed when it has one column).")
  String column;

  @Option(names = "--by", paramLabel = "KIND", defaultValue = "subject",
      description = "subject: every row of each subject; record: single rows by the column in "
          + "forget.record-column (default: ${DEFAULT-VALUE}).")
  String by;

  IdKind kind() {
    return IdKind.parse(by);
  }

  /** The ids of the source as a request, read from the command line or the file. */
  ForgetRequest read(SparkSession spark, Source source) {
    return source.list != null ? ForgetRequest.of(kind(), source.list)
        : IdFile.read(spark, source.file, format, column, kind());
  }
}
