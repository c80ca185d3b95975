package io.lethe.jobs;

import io.lethe.internal.store.SourceSpec;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Option;

/** Options that name a Spark source: format, path, reader options and column names. */
final class SourceOptions {
  @Option(names = "--format", paramLabel = "FORMAT", defaultValue = "csv",
      description = "Source format: csv, parquet, json, delta, orc or libsvm (default: ${DEFAULT-VALUE}).")
  String format;

  @Option(names = "--option", paramLabel = "KEY=VALUE",
      description = "A Spark reader option, e.g. --option header=true --option inferSchema=true.")
  Map<String, String> options = new LinkedHashMap<>();

  @Option(names = "--columns", paramLabel = "NAMES", split = ",",
      description = "Names for the source's columns in order (for CSV without a header).")
  List<String> columns = new ArrayList<>();

  SourceSpec spec(String path) {
    return new SourceSpec(format, path, options, columns);
  }
}
