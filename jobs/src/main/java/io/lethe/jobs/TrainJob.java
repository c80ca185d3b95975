package io.lethe.jobs;

import io.lethe.LetheConfig;
import io.lethe.api.Train;
import io.lethe.internal.registry.ModelRegistry;
import io.lethe.internal.run.RunSummary;
import io.lethe.internal.store.ShardedStore;
import io.lethe.internal.train.TrainSettings;
import io.lethe.internal.unlearn.Strategies;
import io.lethe.types.ShardSelection;
import io.lethe.types.TrainResult;
import java.util.List;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "train",
    description = {"Fit one sub-model per shard on that shard's rows alone and publish an ensemble version.",
        "train.engine picks how: tasks (one Spark job, each shard fitted in a task of its own with local solvers),"
            + " jobs (a spark.ml fit per shard, train.parallelism at a time) or auto (the default: tasks when the"
            + " estimator has a local solver and every shard fits train.task-memory-mb). Each sub-model entry names"
            + " its engine.",
        "By default every shard is trained; --shards or --stale retrain only some and keep the others' sub-models."})
public final class TrainJob extends JobCommand {
  @ArgGroup(exclusive = true)
  Which which;

  static final class Which {
    @Option(names = "--shards", split = ",", paramLabel = "N,N", description = "Retrain only these shards.")
    List<Integer> shards;

    @Option(names = "--stale", description = "Retrain only shards whose rows changed since their sub-model was fitted.")
    boolean stale;
  }

  public static void main(String[] args) {
    Lethe.main(new TrainJob(), args);
  }

  @Override
  String jobName() {
    return "train";
  }

  @Override
  void run(SparkSession spark, LetheConfig config, RunSummary summary) {
    io.lethe.api.Lethe lethe = io.lethe.api.Lethe.get(spark, config);
    ShardedStore store = lethe.internals().store();
    ModelRegistry registry = lethe.internals().registry();
    TrainSettings settings = Strategies.settings(config);
    Train train = which == null ? lethe.train() : which.stale ? lethe.train().staleShards()
        : lethe.train().shards(which.shards);
    ShardSelection selection = train.selection();
    summary.input("store", store.path()).input("models", registry.root().toString())
        .input("estimator", settings.estimator()).input("selection", selection.kind().name().toLowerCase())
        .input("parallelism", settings.parallelism()).input("engine", settings.engine().id());
    TrainResult result = summary.steps().time("train", train::execute);
    summary.output("storeVersion", result.storeVersion())
        .output("trainedShards", result.trainedShards())
        .output("emptyShards", result.emptyShards())
        .output("ensembleVersion", result.changed() ? result.published().version() : null)
        .output("trainSteps", result.seconds())
        .output("trainCost", result.cost());
    if (result.changed()) {
      summary.output("subModels", result.published().shards());
    } else {
      say("Nothing to train: no shard is stale.");
    }
  }
}
