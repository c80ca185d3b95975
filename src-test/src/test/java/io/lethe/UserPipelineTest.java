package io.lethe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lethe.api.Lethe;
import io.lethe.demo.AdultData;
import io.lethe.internal.model.Evaluation;
import io.lethe.internal.model.ShardEnsembleModel;
import io.lethe.internal.train.TrainSettings;
import io.lethe.internal.unlearn.Strategies;
import io.lethe.pipelines.NetCapital;
import io.lethe.types.ForgetRequest;
import io.lethe.types.ForgetResult;
import io.lethe.types.SubModelEntry;
import io.lethe.types.VerifyReport;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.classification.LogisticRegression;
import org.apache.spark.ml.feature.OneHotEncoder;
import org.apache.spark.ml.feature.StringIndexer;
import org.apache.spark.ml.feature.VectorAssembler;
import org.apache.spark.ml.regression.LinearRegression;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The user's own model (train.pipeline): a spark.ml Pipeline with a Transformer class of the
 * user's own, fitted per shard, forgotten, verified, and the saved ensemble loaded as spark.ml
 * loads any model. Then pipelines that do not fit the store, refused before anything is written.
 */
class UserPipelineTest extends LetheTestBase {
  @TempDir
  static Path dir;

  static final String[] CATEGORICAL = {"workclass", "education", "marital_status", "occupation", "relationship",
      "sex"};
  static LetheConfig config;
  static Trained fixture;

  /** What a team's own pipeline looks like: its own stage, a few categoricals, its own feature names. */
  static Pipeline teamPipeline(PipelineStage last) {
    NetCapital net = new NetCapital().setInputCols("capital_gain", "capital_loss").setOutputCol("net_capital");
    String[] indexed = Stream.of(CATEGORICAL).map(c -> c + "_idx").toArray(String[]::new);
    String[] encoded = Stream.of(CATEGORICAL).map(c -> c + "_vec").toArray(String[]::new);
    StringIndexer indexer = new StringIndexer().setInputCols(CATEGORICAL).setOutputCols(indexed).setHandleInvalid("keep");
    OneHotEncoder oneHot = new OneHotEncoder().setInputCols(indexed).setOutputCols(encoded);
    String[] assembled = Stream.concat(Stream.of("age", "education_num", "hours_per_week", "net_capital"),
        Stream.of(encoded)).toArray(String[]::new);
    VectorAssembler assembler = new VectorAssembler().setInputCols(assembled).setOutputCol("features");
    return new Pipeline().setStages(new PipelineStage[] {net, indexer, oneHot, assembler, last});
  }

  static String save(Pipeline pipeline, String name) throws IOException {
    String path = dir.resolve(name).toString();
    pipeline.write().overwrite().save(path);
    return path;
  }

  @BeforeAll
  static void train() throws IOException {
    spark();
    String path = save(teamPipeline(new LogisticRegression().setRegParam(0.01)), "team-pipeline");
    // Each L-BFGS iteration of spark.ml's fit is a Spark job: few of them.
    config = adultConfig(2, dir, Map.of("train.pipeline", path, "train.param.maxIter", "10"));
    fixture = ingestAndTrain(config, adultTrain(1200));
  }

  @Test
  void eachShardFitsItsOwnCopyOfTheUsersPipeline() {
    // The latest published ensemble: the first one, or the one a forget test published since.
    var published = fixture.registry().latest().orElseThrow();
    assertThat(published.estimator()).isEqualTo("pipeline");
    assertThat(published.estimatorParams()).containsEntry("train.pipeline", dir.resolve("team-pipeline")
        .toString()).containsEntry("maxIter", "10");
    ShardEnsembleModel model = ShardEnsembleModel.load(fixture.registry(), published.version());
    List<List<String>> indexerLabels = new java.util.ArrayList<>();
    for (SubModelEntry e : model.manifest().shards()) {
      assertThat(e.engine()).as("spark.ml's fit runs the user's stages").isEqualTo("jobs");
      var stages = model.subModel(e.shard()).stages();
      assertThat(stages[0]).isInstanceOf(NetCapital.class);
      var lr = (org.apache.spark.ml.classification.LogisticRegressionModel) stages[stages.length - 1];
      assertThat(lr.getMaxIter()).as("train.param.* reach the pipeline's predictor").isEqualTo(10);
      assertThat(lr.getRegParam()).as("the user's own settings stay").isEqualTo(0.01);
      // Fitted on the shard's rows alone: each shard's indexer saw its own occupations.
      var indexer = (org.apache.spark.ml.feature.StringIndexerModel) stages[1];
      indexerLabels.add(List.of(indexer.labelsArray()[3]));
    }
    readsAsSparkDoes(fixture.registry().subModelPath(model.manifest().version(), model.manifest().shards().get(0)),
        adultTest(100));
    assertThat(indexerLabels).as("per-shard fits, not one shared featurization").doesNotHaveDuplicates();
    Dataset<Row> test = adultTest(1000);
    double majority = majorityRate(test, AdultData.LABEL);
    assertThat(Evaluation.score(model, test, fixture.store().layout()))
        .as("held-out accuracy against always predicting the majority class (%.4f)", majority)
        .isGreaterThan(majority + 0.03);
  }

  @Test
  void aForgetRetrainsTheHitShardsWithThePipelineAndSaysWhy() {
    List<String> people = List.of("17", "401");
    ForgetResult result = forgetter(fixture, config).execute(ForgetRequest.ofSubjects(people));
    assertThat(result.forgotten()).isEqualTo(2);
    assertThat(result.unlearning()).isNotEmpty().allSatisfy(u -> {
      assertThat(u.strategy()).isEqualTo("shard-retrain");
      assertThat(u.detail()).startsWith("fallback: train.pipeline is the user's own pipeline");
    });
    assertThat(fixture.store().read(fixture.store().currentVersion())
        .where(org.apache.spark.sql.functions.col(AdultData.SUBJECT).isin(17, 401)).count()).isZero();
    ShardEnsembleModel after = ShardEnsembleModel.load(fixture.registry(), result.ensembleVersion());
    for (int shard : result.retrainedShards()) {
      assertThat(after.subModel(shard).stages()[0]).isInstanceOf(NetCapital.class);
    }

    VerifyReport report = Lethe.get(spark(), config).internals().verifier().verify(result.batchId(), adultTest(500));
    assertThat(report.checks()).allSatisfy(c -> assertThat(c.passed()).as(c.id() + ": " + c.finding()).isTrue());
    assertThat(report.retrain()).as("each hit shard retrained from scratch with the recorded pipeline")
        .hasSize(result.retrainedShards().size()).allSatisfy(r -> assertThat(r.agreement()).isEqualTo(1.0));
  }

  @Test
  void theSavedEnsembleLoadsAndScoresAsAnySparkModelDoes() {
    long version = fixture.registry().latest().orElseThrow().version();
    ShardEnsembleModel published = ShardEnsembleModel.load(fixture.registry(), version);
    // A registry's version directory is a saved ensemble.
    String saved = fixture.registry().ensembleDir(version).toString();
    // What a plain Spark program does with it: load by path, transform rows that have the store's columns.
    Dataset<Row> test = adultTest(300);
    ShardEnsembleModel loaded = ShardEnsembleModel.load(saved);
    Dataset<Row> a = loaded.transform(test).select("person_id", "prediction");
    Dataset<Row> b = published.transform(test).select("person_id", "prediction");
    assertThat(a.columns()).containsExactly("person_id", "prediction");
    assertThat(a.exceptAll(b).count()).isZero();
    assertThat(loaded.transform(test).columns()).as("no shard's intermediate column leaks out")
        .doesNotContain("features", "net_capital");
  }

  @Test
  void aPipelineThatDoesNotFitTheStoreIsRefusedBeforeAnythingIsWritten() throws IOException {
    Path models = dir.resolve("refused-models");
    Map<String, String> refused = Map.of(
        save(new Pipeline().setStages(new PipelineStage[] {
            new NetCapital().setInputCols("capital_gain", "capital_losses").setOutputCol("net"),
            new VectorAssembler().setInputCols(new String[] {"age", "net"}).setOutputCol("features"),
            new LogisticRegression()}), "misspelt"),
        "stage 1 of 3, netCapital_",
        save(new Pipeline().setStages(new PipelineStage[] {
            new VectorAssembler().setInputCols(new String[] {"age", "person_id"}).setOutputCol("features"),
            new LogisticRegression()}), "reads-subject"),
        "reads 'person_id', the store's subject column",
        save(teamPipeline(new LinearRegression()), "regressor"),
        "does not do classification, the store's task",
        save(new Pipeline().setStages(new PipelineStage[] {
            new VectorAssembler().setInputCols(new String[] {"age"}).setOutputCol("features")}), "no-predictor"),
        "is not a spark.ml Predictor",
        dir.resolve("nothing-here").toString(), "where no spark.ml pipeline is saved");
    for (Map.Entry<String, String> bad : refused.entrySet()) {
      Map<String, String> settings = Map.of("train.pipeline", bad.getKey(), "models.path", models.toString());
      TrainSettings trainSettings = Strategies.settings(config.with(settings));
      io.lethe.internal.registry.ModelRegistry registry = new io.lethe.internal.registry.ModelRegistry(spark(), models.toString());
      io.lethe.internal.train.Training training = new io.lethe.internal.train.Training(fixture.store(), registry, trainSettings,
          io.lethe.internal.model.Aggregation.SOFT);
      assertThatThrownBy(() -> training.run(io.lethe.types.ShardSelection.all()))
          .isInstanceOf(InvalidConfigException.class).hasMessageContaining(bad.getValue());
      assertThat(registry.latest()).isEmpty();
      assertThat(Files.exists(models) ? filesUnder(models.toString()) : List.of()).as("nothing written").isEmpty();
    }
    // The message names the column, and the command line exits non-zero with it.
    Run run = runLethe(List.of("train", "-D", "store.path=" + config.get(LetheConfig.STORE_PATH),
        "-D", "models.path=" + models, "-D", "runs.path=" + dir.resolve("runs"),
        "-D", "train.pipeline=" + dir.resolve("misspelt")));
    assertThat(run.code()).isNotZero();
    assertThat(run.err()).contains("reads column 'capital_losses', which is neither a feature column of the store");
  }
}
