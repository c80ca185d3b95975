package io.lethe;

import static org.assertj.core.api.Assertions.assertThat;

import io.lethe.demo.AdultData;
import io.lethe.internal.model.Evaluation;
import io.lethe.internal.model.ShardEnsembleModel;
import io.lethe.internal.train.ShardTrainer;
import io.lethe.internal.train.TrainSettings;
import io.lethe.internal.unlearn.Strategies;
import io.lethe.types.SubModelEntry;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.spark.ml.classification.MultilayerPerceptronClassificationModel;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Estimators other than the default, each in a two-shard ensemble on 800 Adult people. */
class EstimatorsTest extends LetheTestBase {
  @TempDir
  Path dir;

  private Trained fixture;

  /** Requires the ensemble's held-out accuracy to beat always predicting the majority class by a margin. */
  private void assertBeatsMajority(ShardEnsembleModel model, double margin) {
    double majority = majorityRate(adultTest(1000), AdultData.LABEL);
    assertThat(score(model)).as("held-out accuracy, against always predicting the majority class (%.4f)", majority)
        .isGreaterThan(majority + margin);
  }

  private ShardEnsembleModel train(Map<String, String> settings) {
    fixture = ingestAndTrain(adultConfig(2, dir, settings), adultTrain(800));
    return ShardEnsembleModel.load(fixture.registry(), fixture.published().version());
  }

  /**
   * Accuracy (RMSE for regression) on held-out people, after checking that fused scoring gives
   * what running each sub-model's stages gives.
   */
  private double score(ShardEnsembleModel model) {
    Dataset<Row> test = adultTest(1000);
    for (SubModelEntry e : model.manifest().shards()) {
      readsAsSparkDoes(fixture.registry().subModelPath(model.manifest().version(), e), test.limit(200));
    }
    List<String> produced = List.of(model.transform(test.limit(1)).columns());
    String[] outputs = java.util.stream.Stream.of("prediction", "probability", "rawPrediction")
        .filter(produced::contains).toArray(String[]::new);
    Dataset<Row> fused = model.transform(test).select("person_id", outputs);
    Dataset<Row> staged = model.copy(new ParamMap()).setFused(false).transform(test).select("person_id", outputs);
    assertThat(fused.exceptAll(staged).count()).as("rows scored differently by the fused scorer").isZero();
    return Evaluation.score(model, test, fixture.store().layout());
  }

  @Test
  void randomForestShardsGetTheirOwnSeeds() {
    ShardEnsembleModel model = train(Map.of("train.estimator", "random_forest", "train.param.numTrees", "10",
        "train.param.maxDepth", "5"));
    assertThat(model.manifest().shards()).extracting(SubModelEntry::seed).doesNotHaveDuplicates();
    assertThat(model.manifest().shards().get(1).seed() - model.manifest().shards().get(0).seed()).isEqualTo(1_000_003L);
    // The seed reaches the forest: the same seed grows the published forest again, tree for tree,
    // and another base seed grows a different one on the same rows.
    long version = fixture.published().shard(0).orElseThrow().storeVersion();
    String published = forest(model.subModel(0));
    String again = forest(new ShardTrainer(fixture.store(), fixture.settings()).fitShard(0, version).model());
    assertThat(again).as("one seed, the same forest twice").isEqualTo(published);
    TrainSettings otherSeed = Strategies.settings(adultConfig(2, dir, Map.of("train.estimator", "random_forest",
        "train.param.numTrees", "10", "train.param.maxDepth", "5", "train.seed", "7")));
    String other = forest(new ShardTrainer(fixture.store(), otherSeed).fitShard(0, version).model());
    assertThat(other).as("two seeds, two forests").isNotEqualTo(published);
    assertBeatsMajority(model, 0.03);
  }

  /** Every tree of a sub-model's forest, split by split, as spark.ml prints it. */
  private static String forest(org.apache.spark.ml.PipelineModel subModel) {
    var stages = subModel.stages();
    var forest = (org.apache.spark.ml.classification.RandomForestClassificationModel) stages[stages.length - 1];
    return forest.toDebugString().substring(forest.toDebugString().indexOf('\n'));
  }

  @Test
  void theMultilayerPerceptronTakesItsLayersFromEachShard() {
    ShardEnsembleModel model = train(Map.of("train.estimator", "multilayer_perceptron",
        "train.param.hiddenLayers", "5", "train.param.maxIter", "30"));
    for (SubModelEntry e : model.manifest().shards()) {
      var stages = model.subModel(e.shard()).stages();
      int[] layers = ((MultilayerPerceptronClassificationModel) stages[stages.length - 1]).getLayers();
      assertThat(layers).hasSize(3);
      assertThat(layers[1]).isEqualTo(5);
      assertThat(layers[2]).as("output layer = the store's classes").isEqualTo(2);
    }
    assertBeatsMajority(model, 0.02);
  }

  @Test
  void aClassifierWithoutProbabilitiesVotesWithItsPredictions() {
    ShardEnsembleModel model = train(Map.of("train.estimator", "linear_svc", "train.param.maxIter", "30"));
    Row row = model.transform(adultTest(1)).select("rawPrediction").head();
    Vector votes = row.getAs(0);
    assertThat(votes.apply(0) + votes.apply(1)).isCloseTo(1.0, org.assertj.core.api.Assertions.within(1e-9));
    assertThat(java.util.Arrays.stream(votes.toArray()).boxed().toList()).allMatch(v -> v == 0.0 || v == 0.5 || v == 1.0);
    assertBeatsMajority(model, 0.03);
  }

  @Test
  void anEstimatorOfTheUsersOwnTrainsByItsClassName() {
    String fm = "org.apache.spark.ml.classification.FMClassifier";
    ShardEnsembleModel model = train(Map.of("train.estimator", fm, "train.param.factorSize", "4",
        "train.param.maxIter", "30"));
    assertThat(model.manifest().estimator()).isEqualTo(fm);
    for (SubModelEntry e : model.manifest().shards()) {
      var stages = model.subModel(e.shard()).stages();
      assertThat(stages[stages.length - 1]).isInstanceOf(org.apache.spark.ml.classification.FMClassificationModel.class);
      assertThat(e.engine()).as("no local solver: spark.ml's own fit").isEqualTo("jobs");
      assertThat(e.strategy()).as("it forgets by retraining its shards").isEqualTo("shard-retrain");
    }
    assertBeatsMajority(model, 0.02);
  }

  @Test
  void anEstimatorClassThatCannotTrainAShardGetsOneClearMessage() {
    TrainSettings base = Strategies.settings(adultConfig(2, dir, Map.of()));
    for (Map.Entry<String, String> bad : Map.of(
        "com.example.NoSuchEstimator", "is not on the classpath",
        "org.apache.spark.ml.feature.StringIndexer", "is not a spark.ml Predictor",
        "org.apache.spark.ml.regression.GeneralizedLinearRegression", "does not do classification",
        "fm_classifier", "Unknown estimator 'fm_classifier'").entrySet()) {
      TrainSettings settings = new TrainSettings(bad.getKey(), Map.of(), base.seed(), base.parallelism(),
          base.impute(), base.scale(), base.strategy(), base.engine(), base.taskMemoryMb(), "");
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> io.lethe.internal.train.Estimators.create(settings,
          io.lethe.types.Task.CLASSIFICATION, "f", "l", "p", "pr", "r", 1))
          .isInstanceOf(io.lethe.LetheException.class).hasMessageContaining(bad.getValue());
    }
  }

  @Test
  void regressionAveragesTheSubModels() {
    ShardEnsembleModel model = train(Map.of("store.task", "regression", "store.label-column", "hours_per_week",
        "store.features.exclude", "income", "train.estimator", "linear_regression"));
    assertThat(model.transform(adultTest(5)).columns()).contains("prediction").doesNotContain("probability");
    double rmse = score(model);
    double sd = adultTest(1000).agg(org.apache.spark.sql.functions.stddev("hours_per_week")).head().getDouble(0);
    assertThat(rmse).as("RMSE below the label's standard deviation").isLessThan(sd);
  }
}
