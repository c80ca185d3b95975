package io.lethe.jobs;

import static org.apache.spark.sql.functions.array_join;
import static org.apache.spark.sql.functions.col;

import io.lethe.InvalidRequestException;
import io.lethe.LetheConfig;
import io.lethe.LetheException;
import io.lethe.api.Score;
import io.lethe.internal.run.RunSummary;
import java.util.Arrays;
import java.util.Set;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "score",
    description = {"Apply the published ensemble (or --ensemble-version N) to a dataset and write the predictions.",
        "Adds prediction, and for classification predicted_label and probability (an array in class order)."})
public final class ScoreJob extends JobCommand {
  private static final Set<String> OUTPUT_FORMATS = Set.of("parquet", "delta", "csv", "json", "orc");

  @Option(names = "--input", required = true, paramLabel = "PATH", description = "The rows to score: a path, or a catalog table name.")
  String input;

  @Mixin
  SourceOptions sourceOptions;

  @Option(names = "--output", required = true, paramLabel = "PATH",
      description = "Where to write the scored rows: a path, or a catalog table name (schema.table or "
          + "catalog.schema.table) in a schema that exists.")
  String output;

  @Option(names = "--output-format", paramLabel = "FORMAT", defaultValue = "parquet",
      description = "parquet, delta, csv, json or orc (default: ${DEFAULT-VALUE}).")
  String outputFormat;

  @Option(names = "--ensemble-version", paramLabel = "N", description = "The ensemble version to use (default: the latest).")
  Long version;

  public static void main(String[] args) {
    Lethe.main(new ScoreJob(), args);
  }

  @Override
  String jobName() {
    return "score";
  }

  @Override
  void run(SparkSession spark, LetheConfig config, RunSummary summary) {
    if (!OUTPUT_FORMATS.contains(outputFormat)) {
      throw new InvalidRequestException("Unknown output format '" + outputFormat + "': use one of " + OUTPUT_FORMATS);
    }
    io.lethe.api.Lethe lethe = io.lethe.api.Lethe.get(spark, config);
    Score score = lethe.score(sourceOptions.spec(input).read(spark));
    if (version != null) {
      score.ensembleVersion(version);
    }
    long v = score.plan().ensembleVersion();
    summary.input("input", input).input("models", lethe.internals().registry().root().toString()).input("ensembleVersion", v)
        .input("output", output).input("outputFormat", outputFormat);
    Dataset<Row> scored = summary.steps().time("load", score::execute);
    if (outputFormat.equals("csv") && Arrays.asList(scored.columns()).contains("probability")) {
      scored = scored.withColumn("probability", array_join(col("probability").cast("array<string>"), ";"));
    }
    Dataset<Row> result = scored;
    boolean named = io.lethe.internal.run.Tables.isName(spark, output);
    summary.steps().time("score", () -> {
      var writer = result.write().format(outputFormat).mode("errorifexists");
      if (outputFormat.equals("csv")) {
        writer = writer.option("header", "true");
      }
      try {
        if (named) { // a catalog table (its schema must exist), in the output format
          writer.saveAsTable(output);
        } else {
          writer.save(output);
        }
      } catch (Exception e) {
        throw new LetheException("Cannot write " + output + ": " + LetheException.firstLine(e), e);
      }
    });
    summary.output("rows", named ? spark.table(output).count()
        : spark.read().format(outputFormat).option("header", "true").load(output).count());
  }
}
