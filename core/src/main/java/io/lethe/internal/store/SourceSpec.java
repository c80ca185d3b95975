package io.lethe.internal.store;

import io.lethe.InvalidRequestException;
import io.lethe.LetheException;
import io.lethe.internal.run.Tables;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * Where rows come from: any Spark source by format, path and reader options, or a catalog table by
 * name (then format and options do not apply).
 *
 * @param columns names for the columns in order (for headerless CSV); empty to keep the source's
 */
public record SourceSpec(String format, String path, Map<String, String> options, List<String> columns) {
  private static final Set<String> FORMATS = Set.of("csv", "parquet", "json", "delta", "orc", "libsvm");

  public SourceSpec {
    if (!FORMATS.contains(format)) {
      throw new InvalidRequestException("Unknown source format '" + format + "': use one of " + FORMATS);
    }
    options = Map.copyOf(options);
    columns = List.copyOf(columns);
  }

  public Dataset<Row> read(SparkSession spark) {
    Dataset<Row> df;
    try {
      // A catalog table by name (schema.table, catalog.schema.table) reads as the table; else a path.
      df = Tables.looksLikeName(path) && Tables.exists(spark, path) ? spark.table(path)
          : spark.read().format(format).options(options).load(path);
    } catch (Exception e) {
      throw new InvalidRequestException("Cannot read the " + format + " source at " + path + ": " + LetheException.firstLine(e), e);
    }
    if (!columns.isEmpty()) {
      if (columns.size() != df.columns().length) {
        throw new InvalidRequestException("The source at " + path + " has " + df.columns().length + " columns but "
            + columns.size() + " column names were given");
      }
      df = df.toDF(columns.toArray(new String[0]));
    }
    return df;
  }

}
