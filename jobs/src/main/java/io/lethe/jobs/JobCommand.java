package io.lethe.jobs;

import io.lethe.LetheConfig;
import io.lethe.LetheException;
import io.lethe.api.LetheSpark;
import io.lethe.internal.run.HadoopFiles;
import io.lethe.internal.run.Json;
import io.lethe.internal.run.RunSummary;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * What every job shares: configuration (file plus -D overrides), the SparkSession, the run summary
 * printed and stored at the end, and one clear message with a non-zero exit code on failure
 * ({@link ExitCodes}).
 */
@Command(mixinStandardHelpOptions = true, sortOptions = false, usageHelpAutoWidth = true,
    exitCodeListHeading = "Exit codes:%n",
    exitCodeList = {
        ExitCodes.OK + ":done",
        ExitCodes.INVALID + ":invalid input (configuration, request, id file, source, pipeline): change it",
        ExitCodes.CRASHED + ":unexpected failure (logged with its stack trace)",
        ExitCodes.MISSING_OR_CORRUPT + ":the store or the model registry is missing or corrupt",
        ExitCodes.RUN_AGAIN + ":a commit conflict, or a forget run stopped part-way: run the same job again",
        ExitCodes.VERIFICATION_FAILED + ":verify ran and a check failed (see the report)",
        ExitCodes.OVERDUE + ":status --fail-on-overdue: forget requests are past their deadline"})
abstract class JobCommand implements Callable<Integer> {
  private static final Logger LOG = LoggerFactory.getLogger(JobCommand.class);

  @Spec
  CommandSpec spec;

  @Option(names = {"-c", "--conf"}, paramLabel = "FILE",
      description = "Configuration file (default: $LETHE_CONF, else built-in defaults; see conf/lethe.properties).")
  String confFile;

  @Option(names = "-D", paramLabel = "KEY=VALUE",
      description = "Override one configuration key, e.g. -D store.shards=16 -D train.param.regParam=0.01.")
  Map<String, String> overrides = new LinkedHashMap<>();

  /** The job's name in summaries and messages. */
  abstract String jobName();

  /** Does the job's work, recording inputs, outputs and step times in the summary. */
  abstract void run(SparkSession spark, LetheConfig config, RunSummary summary);

  @Override
  public Integer call() {
    RunSummary summary = new RunSummary(jobName());
    SparkSession spark = null;
    LetheConfig config = null;
    String status = "succeeded";
    String error = null;
    int code = ExitCodes.OK;
    try {
      String file = confFile != null ? confFile : System.getenv("LETHE_CONF");
      config = LetheConfig.load(file, overrides);
      spark = LetheSpark.getOrCreate("lethe " + jobName(), config.sparkSettings());
      // Every Spark job of the run carries its tag (a run can be found in the UI and cancelled by
      // it), and every log line of this thread its id.
      spark.sparkContext().addJobTag(summary.jobTag());
      MDC.put("lethe.run", summary.runId());
      LOG.info("lethe {}: run {} begins, Spark {} up {} s after the JVM started", jobName(), summary.runId(),
          spark.version(), String.format("%.1f", (System.currentTimeMillis()
              - java.lang.management.ManagementFactory.getRuntimeMXBean().getStartTime()) / 1000.0));
      try {
        run(spark, config, summary);
      } finally {
        spark.sparkContext().removeJobTag(summary.jobTag());
        MDC.remove("lethe.run");
      }
    } catch (LetheException e) {
      status = "failed";
      error = e.getMessage();
      code = ExitCodes.of(e);
    } catch (Exception | Error e) { // Spark and Delta throw checked exceptions through Scala, too; an
      // Error (a missing class, out of memory) is a crash, not bad input, and its summary is written
      LOG.error("lethe {} failed", jobName(), e);
      status = "failed";
      error = "unexpected failure: " + LetheException.firstLine(e);
      code = ExitCodes.of(e);
    }
    Map<String, Object> finished = summary.finish(status, error);
    PrintWriter out = spec.commandLine().getOut();
    out.println(Json.write(finished));
    out.flush();
    if (spark != null && config != null) {
      try {
        summary.write(new HadoopFiles(spark.sparkContext().hadoopConfiguration()), config.get(LetheConfig.RUNS_PATH), finished);
      } catch (LetheException e) {
        spec.commandLine().getErr().println("lethe " + jobName() + ": warning: run summary not stored: " + e.getMessage());
      }
    }
    if (error != null) {
      spec.commandLine().getErr().println("lethe " + jobName() + ": error: " + error);
      spec.commandLine().getErr().flush();
    }
    return code;
  }

  /** Lines of help that a registry holds (the strategies, say), added after the job's description. */
  List<String> registryHelp() {
    return List.of();
  }

  /** A line for people, on standard error so that standard output stays one JSON document. */
  void say(String line) {
    spec.commandLine().getErr().println(line);
    spec.commandLine().getErr().flush();
  }
}
