package io.lethe.demo;

import io.lethe.types.StepCost;
import static org.apache.spark.sql.functions.col;

import io.lethe.LetheConfig;
import io.lethe.internal.forget.ForgetSettings;
import io.lethe.internal.forget.Forgetter;
import io.lethe.internal.ledger.ForgetLedger;
import io.lethe.internal.ledger.LedgerKey;
import io.lethe.internal.model.Aggregation;
import io.lethe.internal.model.Evaluation;
import io.lethe.internal.model.ShardEnsembleModel;
import io.lethe.internal.registry.ModelRegistry;
import io.lethe.internal.run.HadoopFiles;
import io.lethe.internal.run.StepTimes;
import io.lethe.internal.store.CommitRetry;
import io.lethe.internal.store.ShardedStore;
import io.lethe.internal.train.ShardTrainer;
import io.lethe.internal.train.SingleModel;
import io.lethe.internal.train.TrainSettings;
import io.lethe.internal.train.Training;
import io.lethe.internal.unlearn.Strategies;
import io.lethe.internal.verify.MembershipAudit;
import io.lethe.internal.verify.Verifier;
import io.lethe.internal.verify.VerifyPage;
import io.lethe.internal.verify.VerifySettings;
import io.lethe.types.ForgetPlan;
import io.lethe.types.ForgetRequest;
import io.lethe.types.ForgetResult;
import io.lethe.types.IngestResult;
import io.lethe.types.ShardSelection;
import io.lethe.types.SubModelEntry;
import io.lethe.types.TrainResult;
import io.lethe.types.VerifyReport;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * The whole story on real data: ingest Adult into a sharded store, train the ensemble and a single
 * model on all rows, forget a few people, retrain only their shards, and compare with a full
 * retrain of every shard on the same data.
 */
public final class AdultDemo {
  /**
   * What the demo measured.
   *
   * @param fullRetrainSeconds a retrain of every shard on the post-forget version, for comparison
   * @param hitShardsAgree whether each retrained shard predicts the test set exactly as a
   *     from-scratch retrain of that shard does
   * @param verified whether verify passed every check on the forget batch
   * @param verifyReport the verify report's HTML page
   */
  public record Report(long rows, int shards, double ensembleAccuracy, double singleModelAccuracy,
      double trainSeconds, double singleModelSeconds, int forgottenSubjects, long forgottenRows,
      List<Integer> retrainedShards, double expectedShardsHit, double forgetSeconds, double fullRetrainSeconds,
      double accuracyAfter, boolean hitShardsAgree, long ensembleVersionAfter, boolean verified, String verifyReport,
      Map<String, Double> stepSeconds, Map<String, StepCost> forgetCost) {

    public double speedup() {
      return forgetSeconds > 0 ? fullRetrainSeconds / forgetSeconds : 0;
    }
  }

  private final SparkSession spark;
  private final String dataDir;
  private final String workDir;
  private final LetheConfig config;
  private final int forgetCount;
  private final Consumer<String> out;

  /**
   * @param config settings for the store and training (locations are replaced by ones under workDir)
   * @param out where progress lines go
   */
  public AdultDemo(SparkSession spark, String dataDir, String workDir, LetheConfig config, int forgetCount,
      Consumer<String> out) {
    this.spark = spark;
    this.dataDir = dataDir;
    this.workDir = workDir;
    this.config = config.with(AdultData.storeSettings());
    this.forgetCount = forgetCount;
    this.out = out;
  }

  public Report run() {
    HadoopFiles files = new HadoopFiles(spark.sparkContext().hadoopConfiguration());
    Path work = files.qualify(workDir);
    files.deleteRecursively(work);
    String storePath = new Path(work, "store").toString();
    StepTimes times = new StepTimes();

    Dataset<Row> train = AdultData.read(spark, new Path(dataDir, "adult.data.gz").toString());
    Dataset<Row> test = AdultData.read(spark, new Path(dataDir, "adult.test.gz").toString()).cache();
    IngestResult ingested = times.time("ingest", () -> ShardedStore.ingest(spark, storePath, train, config, false));
    ShardedStore store = ShardedStore.open(spark, storePath);
    int shards = store.layout().shards();
    out.accept(String.format("Ingested %,d people into %d shards (store version %d)", ingested.rows(), shards,
        ingested.version()));

    ModelRegistry registry = new ModelRegistry(spark, new Path(work, "models").toString());
    TrainSettings settings = Strategies.settings(config);
    Aggregation aggregation = Aggregation.parse(config.get(LetheConfig.ENSEMBLE_AGGREGATION));
    Training training = new Training(store, registry, settings, aggregation);
    TrainResult trained = times.time("train", () -> training.run(ShardSelection.all()));
    ShardEnsembleModel ensemble = ShardEnsembleModel.load(registry, trained.published().version());
    double ensembleAccuracy = times.time("evaluate", () -> Evaluation.score(ensemble, test, store.layout()));
    out.accept(String.format("Trained %d sub-models (%s) in %.1f s: test accuracy %.2f%%", trained.trainedShards().size(),
        settings.estimator(), times.get("train"), 100 * ensembleAccuracy));

    SingleModel single = times.time("single-model", () -> SingleModel.fit(store, settings, trained.storeVersion()));
    double singleAccuracy = times.time("evaluate", () -> Evaluation.score(single.model(), test, store.layout()));
    out.accept(String.format("One model on all rows, for comparison: fitted in %.1f s, test accuracy %.2f%%",
        times.get("single-model"), 100 * singleAccuracy));

    List<String> forgotten = train.select(col(AdultData.SUBJECT).cast("string"))
        .sample(false, Math.min(1.0, 4.0 * forgetCount / ingested.rows()), 7).limit(forgetCount)
        .collectAsList().stream().map(r -> r.getString(0)).toList();
    ForgetRequest request = ForgetRequest.ofSubjects(forgotten);
    ForgetSettings forgetSettings = ForgetSettings.from(config.with(Map.of(LetheConfig.PURGE_RETENTION_HOURS, "0")));
    ForgetLedger ledger = new ForgetLedger(spark, new Path(work, "ledger").toString(),
        config.getInt(LetheConfig.LEDGER_DEADLINE_DAYS), new CommitRetry(forgetSettings.commitAttempts()));
    // Held-out rows make the forget run record membership evidence, which verify checks below.
    VerifySettings verifySettings = VerifySettings.from(config.with(Map.of(LetheConfig.VERIFY_PATH,
        new Path(work, "verify").toString())));
    Forgetter forgetter = new Forgetter(store, registry, training, ledger, demoKey(), forgetSettings)
        .withAudit(new MembershipAudit(store, registry, test, verifySettings, settings));
    ForgetPlan plan = forgetter.plan(request);
    out.accept(String.format("Forget request for %d people: %d rows in shards %s (chance predicts %.1f of %d shards)",
        plan.requested(), plan.rowsToDelete(), plan.hitShards(), plan.expectedShardsHit(), shards));
    ForgetResult result = times.time("forget-and-purge", () -> forgetter.execute(request));
    // Request to published ensemble; the membership audit, retiring old artifacts and purging the
    // store are timed apart.
    double cleanup = result.seconds().getOrDefault("retire", 0.0) + result.seconds().getOrDefault("purge", 0.0)
        + result.seconds().getOrDefault("complete", 0.0) + result.seconds().getOrDefault("audit", 0.0);
    times.record("forget", times.get("forget-and-purge") - cleanup);
    times.record("purge", result.seconds().getOrDefault("purge", 0.0));
    times.record("audit", result.seconds().getOrDefault("audit", 0.0));
    ShardEnsembleModel after = ShardEnsembleModel.load(registry, result.ensembleVersion());
    double accuracyAfter = times.time("evaluate", () -> Evaluation.score(after, test, store.layout()));

    // The reference: what retraining every shard from scratch on the same data costs.
    ModelRegistry scratch = new ModelRegistry(spark, new Path(work, "full-retrain").toString());
    // On the current version: the purge (VACUUM, retention 0) removed the files of the delete's version,
    // and the current one holds the same rows.
    List<SubModelEntry> full = times.time("full-retrain", () -> new ShardTrainer(store, settings)
        .train(store.layout().allShards(), store.currentVersion(), scratch));
    boolean agree = hitShardsAgree(after, full, scratch, result.retrainedShards(), test);
    out.accept(String.format("Forgot them: deleted %d rows, retrained shards %s and published in %.1f s; a full retrain"
            + " of all %d shards took %.1f s (%.1fx). Test accuracy after: %.2f%%. Retrained shards equal a"
            + " from-scratch fit: %s",
        plan.rowsToDelete(), result.retrainedShards(), times.get("forget"), shards, times.get("full-retrain"),
        times.get("full-retrain") / times.get("forget"), 100 * accuracyAfter, agree ? "yes" : "NO"));
    out.accept(String.format("Recorded membership evidence for verify (attacks on the ensembles before and after) in"
        + " %.1f s, %d Spark jobs. Retired %d ensemble versions and %d sub-models trained on their rows; purged the"
        + " store (%s, VACUUM) in %.1f s. Ledger: %d of %d requests forgotten.", times.get("audit"),
        result.cost().containsKey("audit") ? result.cost().get("audit").sparkJobs() : 0,
        result.retirement().ensembleVersions().size(), result.retirement().subModels().size(),
        result.purge().reorgVersion() != null ? "REORG of shards " + result.purge().shards()
            : "no REORG: the delete rewrote the files of shards " + result.purge().shards(),
        times.get("purge"), result.forgotten(), result.requests()));

    Verifier verifier = new Verifier(store, registry, ledger, demoKey(), settings, verifySettings, "");
    VerifyReport verified = times.time("verify", () -> verifier.verify(result.batchId(), test));
    VerifyPage.Written written = VerifyPage.write(files, verifySettings.path(), verified);
    out.accept(String.format("Verified the batch: %d of %d checks passed%s. Report: %s",
        verified.checks().stream().filter(VerifyReport.Check::passed).count(), verified.checks().size(),
        membershipLine(verified) + perExampleLine(verified) + updateLine(verified), written.html()));
    test.unpersist();
    return new Report(ingested.rows(), shards, ensembleAccuracy, singleAccuracy, times.get("train"),
        times.get("single-model"), plan.requested(), plan.rowsToDelete(), result.retrainedShards(),
        plan.expectedShardsHit(), times.get("forget"), times.get("full-retrain"), accuracyAfter, agree,
        result.ensembleVersion(), verified.passed(), written.html().toString(), times.asMap(), result.cost());
  }

  /** The difference attack's AUC on the update, if it ran, and the bound chance exceeds once in a hundred. */
  private static String updateLine(VerifyReport report) {
    return report.checks().stream().filter(c -> c.id().equals("update.difference")).findFirst()
        .map(c -> String.format(Locale.ROOT, " (difference attack on the update: AUC %.2f, chance's bound %.2f%s)",
            c.figures().get("auc"), c.figures().get("aucBound"), c.warns() ? ": WARN, it singles them out" : ""))
        .orElse("");
  }

  /** The per-example test's AUC on the forgotten people after the forget and its control's, if it ran. */
  private static String perExampleLine(VerifyReport report) {
    return report.checks().stream().filter(c -> c.id().equals("membership.per-example")
            && c.figures().containsKey("controlAuc")).findFirst()
        .map(c -> String.format(Locale.ROOT, " (per example, LiRA: AUC %.2f after, its control %.2f%s)",
            c.figures().get("aucAfter"), c.figures().get("controlAuc"),
            (Double) c.figures().get("controlAuc") > (Double) c.figures().get("controlAucBound")
                ? "" : ", little power on these models"))
        .orElse("");
  }

  /** The reference attack's AUC on the forgotten people before and after, if it ran. */
  private static String membershipLine(VerifyReport report) {
    return report.checks().stream().filter(c -> c.id().equals("membership.forgotten")).findFirst()
        .map(c -> String.format(Locale.ROOT, " (membership attack on the forgotten people: AUC %.2f before, %.2f"
            + " after; %d people are too few for more than a smoke test)", c.figures().get("aucBefore"),
            c.figures().get("aucAfter"), c.figures().get("forgottenRows")))
        .orElse("");
  }


  /** The ledger key: the configured one, else a fixed demo key (the demo's ids are public data). */
  private LedgerKey demoKey() {
    try {
      return LedgerKey.from(config);
    } catch (io.lethe.LetheException noKey) {
      return LedgerKey.of("lethe-demo-key-public-data-only");
    }
  }

  /** Each retrained shard's published sub-model predicts the test set exactly as the scratch retrain does. */
  private boolean hitShardsAgree(ShardEnsembleModel published, List<SubModelEntry> scratchEntries,
      ModelRegistry scratch, List<Integer> shards, Dataset<Row> test) {
    for (int shard : shards) {
      SubModelEntry entry = scratchEntries.stream().filter(e -> e.shard() == shard).findFirst().orElseThrow();
      var retrain = io.lethe.internal.registry.PipelineReader.load(
          new io.lethe.internal.run.HadoopFiles(spark.sparkContext().hadoopConfiguration()), scratch.subModelPath(0, entry));
      String prediction = io.lethe.internal.model.ShardColumns.prediction(shard);
      long differ = published.subModel(shard).transform(test).select(col(AdultData.SUBJECT), col(prediction).as("a"))
          .join(retrain.transform(test).select(col(AdultData.SUBJECT), col(prediction).as("b")), AdultData.SUBJECT)
          .where(col("a").notEqual(col("b"))).count();
      if (differ > 0) {
        return false;
      }
    }
    return true;
  }
}
