package io.lethe.jobs;

import io.lethe.LetheConfig;
import io.lethe.LetheException;
import io.lethe.forget.ForgetPlan;
import io.lethe.forget.ForgetRequest;
import io.lethe.forget.ForgetResult;
import io.lethe.forget.Forgetter;
import io.lethe.model.Aggregation;
import io.lethe.registry.ModelRegistry;
import io.lethe.run.HadoopFiles;
import io.lethe.run.RunSummary;
import io.lethe.store.ShardedStore;
import io.lethe.train.TrainSettings;
import io.lethe.train.Training;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "forget",
    description = {"Forget a batch of data subjects: delete their rows (a new store version), retrain only the shards "
        + "that held them on that version, and publish the new ensemble.",
        "Ids never appear in output, summaries or logs."})
public final class ForgetJob extends JobCommand {
  @ArgGroup(exclusive = true, multiplicity = "1")
  Ids ids;

  static final class Ids {
    @Option(names = "--ids", split = ",", paramLabel = "ID,ID", description = "Subject ids on the command line.")
    List<String> list;

    @Option(names = "--ids-file", paramLabel = "PATH", description = "A text file with one subject id per line.")
    String file;
  }

  @Option(names = "--dry-run", description = "Print the plan (rows, shards, cost) and change nothing.")
  boolean dryRun;

  public static void main(String[] args) {
    Lethe.exit(Lethe.execute(new ForgetJob(), args));
  }

  @Override
  String jobName() {
    return "forget";
  }

  @Override
  void run(SparkSession spark, LetheConfig config, RunSummary summary) {
    ForgetRequest request = ForgetRequest.ofSubjects(ids.list != null ? ids.list : readIds(spark, ids.file));
    ShardedStore store = ShardedStore.open(spark, config.get(LetheConfig.STORE_PATH));
    ModelRegistry registry = new ModelRegistry(spark, config.get(LetheConfig.MODELS_PATH));
    Training training = new Training(store, registry, TrainSettings.from(config),
        Aggregation.parse(config.get(LetheConfig.ENSEMBLE_AGGREGATION)));
    Forgetter forgetter = new Forgetter(store, registry, training);
    summary.input("store", store.path()).input("models", registry.root().toString())
        .input("subjects", request.size()).input("dryRun", dryRun);
    ForgetPlan plan = summary.steps().time("plan", () -> forgetter.plan(request));
    summary.output("plan", plan);
    say(String.format("Plan: %d of %d subjects found, %d rows in shards %s; retrains %d of %d shards (%.0f%% of a full retrain)",
        plan.foundSubjects(), plan.requestedSubjects(), plan.rowsToDelete(), plan.hitShards(), plan.hitShards().size(),
        plan.totalShards(), 100 * plan.retrainFraction()));
    if (plan.unknownSubjects() > 0) {
      say(plan.unknownSubjects() + " subject id(s) match no rows in the store (reported, not an error).");
    }
    if (dryRun) {
      return;
    }
    ForgetResult result = summary.steps().time("forget", () -> forgetter.execute(request, plan));
    summary.output("storeVersion", result.storeVersion())
        .output("ensembleVersion", result.ensembleVersion())
        .output("retrainedShards", result.retrainedShards())
        .output("forgetSteps", result.seconds());
  }

  private static List<String> readIds(SparkSession spark, String file) {
    HadoopFiles files = new HadoopFiles(spark.sparkContext().hadoopConfiguration());
    org.apache.hadoop.fs.Path path = new org.apache.hadoop.fs.Path(file);
    if (!files.exists(path)) {
      throw new LetheException("The id file " + file + " does not exist");
    }
    return Arrays.stream(files.readString(path).split("\r?\n")).filter(l -> !l.isBlank()).toList();
  }
}
