package io.lethe.jobs;

import io.lethe.LetheConfig;
import io.lethe.internal.run.RunSummary;
import io.lethe.internal.store.SourceSpec;
import io.lethe.types.IngestResult;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "ingest",
    description = {"Load a Spark source into the sharded store (a Delta table partitioned by shard).",
        "The first ingest creates the store with the store.* settings; --append adds rows with the store's own layout."})
public final class IngestJob extends JobCommand {
  @Option(names = "--source", required = true, paramLabel = "PATH", description = "The source: a path, or a catalog table name (schema.table or catalog.schema.table).")
  String source;

  @Mixin
  SourceOptions sourceOptions;

  @Option(names = "--append", description = "Add rows to an existing store (same shard function and columns), "
      + "once: a source of files appended before, after a crash or not, adds nothing again.")
  boolean append;

  public static void main(String[] args) {
    Lethe.main(new IngestJob(), args);
  }

  @Override
  String jobName() {
    return "ingest";
  }

  @Override
  void run(SparkSession spark, LetheConfig config, RunSummary summary) {
    SourceSpec spec = sourceOptions.spec(source);
    String store = config.get(LetheConfig.STORE_PATH);
    summary.input("source", spec.path()).input("format", spec.format()).input("store", store).input("append", append);
    Dataset<Row> rows = spec.read(spark);
    IngestResult result = summary.steps().time("ingest",
        () -> io.lethe.api.Lethe.get(spark, config).ingest(rows).append(append).once(true).execute());
    summary.output("created", result.created())
        .output("storeVersion", result.version())
        .output("rows", result.rows())
        .output("rowsPerShard", result.rowsPerShard());
  }
}
