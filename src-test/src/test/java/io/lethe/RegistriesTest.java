package io.lethe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lethe.internal.registry.ModelRegistry;
import io.lethe.internal.train.Estimators;
import io.lethe.internal.train.Strategy;
import io.lethe.internal.train.TrainSettings;
import io.lethe.internal.unlearn.CertifiedState;
import io.lethe.internal.unlearn.Checkpoints;
import io.lethe.internal.unlearn.Strategies;
import io.lethe.types.Task;
import java.util.Map;
import java.util.Set;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.Predictor;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.classification.Classifier;
import org.apache.spark.ml.classification.LinearSVCModel;
import org.apache.spark.ml.classification.LogisticRegressionModel;
import org.apache.spark.ml.classification.NaiveBayesModel;
import org.apache.spark.ml.feature.VectorAssembler;
import org.apache.spark.ml.linalg.Matrices;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.ml.regression.LinearRegressionModel;
import org.junit.jupiter.api.Test;

/**
 * The strategy and estimator registries, without Spark: what each strategy declares, that
 * configuration reads the strategy registry, and that each built-in estimator is made for its tasks;
 * the strategies' behaviour on real data is in
 * ExactStatisticsTest, CertifiedRemovalTest, SlicedTest, DareTest and ForgetTest.
 */
// Reads configuration files by paths without a scheme: not beside HdfsTest, which sets the default file system.
@org.junit.jupiter.api.parallel.ResourceLock(value = HdfsTest.DEFAULT_FILE_SYSTEM,
    mode = org.junit.jupiter.api.parallel.ResourceAccessMode.READ)
class RegistriesTest {
  @Test
  void everyStrategyDeclaresItsNameGuaranteeEstimatorsAndState() {
    assertThat(Strategies.all()).extracting(Strategy::id)
        .containsExactly("shard-retrain", "exact-statistics", "certified-removal", "sliced", "dare");
    for (Strategy s : Strategies.all()) {
      assertThat(s.guarantee()).as(s.id()).startsWith(s.exact() ? "exact: " : "approximate: ");
      assertThat(Estimators.NAMES.keySet()).as(s.id()).containsAll(s.estimators());
      assertThat(s.estimators()).as(s.id() + ": it is the default only where it applies").containsAll(s.defaultFor());
    }
    assertThat(Strategies.SHARD_RETRAIN.appliesTo("org.example.MyClassifier")).isTrue();
    assertThat(Strategies.SHARD_RETRAIN.stateFiles()).isEmpty();
    assertThat(Strategies.EXACT_STATISTICS.stateFiles()).containsExactly(ModelRegistry.STATISTICS_FILE);
    assertThat(Strategies.CERTIFIED_REMOVAL.exact()).isFalse();
    assertThat(Strategies.CERTIFIED_REMOVAL.ownSolver()).isPresent();
    assertThat(Strategies.SLICED.trainsShards()).isTrue();
    // bench measures every strategy but the baseline by the configuration it declares
    assertThat(Strategies.all()).filteredOn(s -> s.example().isPresent()).extracting(Strategy::id)
        .containsExactly("exact-statistics", "certified-removal", "sliced");
    // DaRE grows its trees in the shard's task, its own way: a retrain of its sub-model grows them so too.
    assertThat(Strategies.DARE.ownSolver()).isEmpty();
    assertThat(Strategies.DARE.ownTraining()).isTrue();
    assertThat(Strategies.DARE.stateFiles()).contains(io.lethe.internal.engine.DareForest.FILE_NAME);
    Strategies.all().stream().filter(s -> s.example().isPresent())
        .forEach(s -> assertThat(s.appliesTo(s.example().get().estimator())).as(s.id()).isTrue());
  }

  @Test
  void configurationReadsTheRegistry() {
    // Unset, an estimator forgets by its default strategy; the shipped file lists each default.
    LetheConfig defaults = LetheConfig.defaultsOnly();
    LetheConfig shipped = LetheConfig.load(LetheTestBase.home().resolve("conf/lethe.properties").toString(), Map.of());
    for (String estimator : Estimators.NAMES.keySet()) {
      assertThat(Strategies.configured(defaults, estimator)).as(estimator)
          .isSameAs(Strategies.defaultFor(estimator));
      assertThat(shipped.get(LetheConfig.FORGET_STRATEGY_PREFIX + estimator)).as(estimator)
          .isEqualTo(Strategies.defaultFor(estimator).id());
    }
    // Every forget.strategy.* key given is checked, whichever estimator trains.
    LetheConfig wrong = LetheConfig.load(null, Map.of(LetheConfig.FORGET_STRATEGY_PREFIX + "gbt", "sliced"));
    assertThatThrownBy(() -> Strategies.configured(wrong, "logistic_regression"))
        .isInstanceOf(InvalidConfigException.class).hasMessageContaining("does not apply to gbt");
    assertThat(Strategies.defaultFor("naive_bayes")).isSameAs(Strategies.EXACT_STATISTICS);
    assertThat(Strategies.defaultFor("gbt")).isSameAs(Strategies.SHARD_RETRAIN);
    assertThat(Strategies.parse("sliced", "multilayer_perceptron")).isSameAs(Strategies.SLICED);
    assertThatThrownBy(() -> Strategies.parse("sliced", "gbt")).isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("does not apply to gbt; it applies to multilayer_perceptron");
    assertThatThrownBy(() -> Strategies.parse("dare", "gbt")).isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("does not apply to gbt; it applies to decision_tree, random_forest");
    assertThatThrownBy(() -> Strategies.parse("hedgecut", "gbt")).isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("use one of shard-retrain, exact-statistics, certified-removal, sliced, dare");
  }

  @Test
  void aStrategyCarriesItsOwnConfigurationKeys() {
    // The configuration knows them only through the strategies (META-INF/services), defaults included.
    LetheConfig defaults = LetheConfig.defaultsOnly();
    assertThat(Strategies.CERTIFIED_REMOVAL.keys()).containsOnlyKeys("forget.certified.epsilon",
        "forget.certified.delta", "forget.certified.noise");
    assertThat(Strategies.SLICED.keys()).containsExactly(Map.entry("forget.slices", "4"));
    assertThat(Strategies.SHARD_RETRAIN.keys()).isEmpty();
    for (Strategy s : Strategies.all()) {
      s.keys().forEach((key, value) -> assertThat(defaults.get(key)).as(key).isEqualTo(value));
    }
    // Each reads and checks its own values; training's settings carry the configured strategy.
    LetheConfig sliced = defaults.with(Map.of("train.estimator", "multilayer_perceptron",
        "forget.strategy.multilayer_perceptron", "sliced", "forget.slices", "0"));
    assertThatThrownBy(() -> Strategies.settings(sliced)).isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("forget.slices must be at least 1, got 0");
    LetheConfig certified = defaults.with(Map.of("forget.strategy.logistic_regression", "certified-removal",
        "forget.certified.delta", "2"));
    assertThatThrownBy(() -> Strategies.settings(certified)).isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("0 < forget.certified.delta < 1");
    assertThat(Strategies.settings(defaults.with(Map.of("forget.certified.delta", "2"))).strategy())
        .as("a strategy not in use reads no key").isSameAs(Strategies.SHARD_RETRAIN);
    assertThatThrownBy(() -> defaults.with(Map.of("forget.slice", "3"))).isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("Unknown configuration key 'forget.slice'");
  }

  @Test
  void theClusterJarDeclaresTheStrategiesKeysAndTheModelsFormsToTheLayersBelow() throws java.io.IOException {
    // The shaded jar merges META-INF/services: without the entry, no strategy key would be accepted.
    java.nio.file.Path jar = LetheTestBase.home().resolve("jobs/target/lethe-jobs-0.1.0-SNAPSHOT-cluster.jar");
    try (java.util.jar.JarFile file = new java.util.jar.JarFile(jar.toFile())) {
      java.util.jar.JarEntry entry = file.getJarEntry("META-INF/services/" + LetheConfig.Keys.class.getName());
      assertThat(entry).as("the service file in " + jar).isNotNull();
      assertThat(new String(file.getInputStream(entry).readAllBytes(), java.nio.charset.StandardCharsets.UTF_8))
          .contains(Strategies.ConfigKeys.class.getName());
      java.util.jar.JarEntry forms = file.getJarEntry("META-INF/services/" + io.lethe.internal.registry.ModelForm.Provider.class.getName());
      assertThat(forms).as("the models' forms in " + jar).isNotNull();
      assertThat(new String(file.getInputStream(forms).readAllBytes(), java.nio.charset.StandardCharsets.UTF_8))
          .contains(Estimators.Forms.class.getName());
    }
  }

  @Test
  void theEstimatorRegistryMakesEachBuiltInForTheTasksItServes() {
    assertThat(Estimators.builtIns()).extracting(Estimators.BuiltIn::name).containsExactlyElementsOf(
        Estimators.NAMES.keySet());
    for (Estimators.BuiltIn b : Estimators.builtIns()) {
      TrainSettings settings = Strategies.settings(LetheConfig.defaultsOnly().with(Map.of("train.estimator", b.name())));
      for (Task task : Task.values()) {
        if (b.tasks().contains(task)) {
          Estimator<?> e = Estimators.create(settings, task, "f", "l", "p", "pr", "raw", 7);
          assertThat(e).as(b.name() + " for " + task).isInstanceOf(Predictor.class);
          assertThat(e instanceof Classifier<?, ?, ?>).as(b.name() + " for " + task)
              .isEqualTo(task == Task.CLASSIFICATION);
        } else {
          assertThatThrownBy(() -> Estimators.create(settings, task, "f", "l", "p", "pr", "raw", 7))
              .as(b.name() + " for " + task).isInstanceOf(InvalidConfigException.class)
              .hasMessageContaining("does not do " + task.id());
        }
      }
    }
    // The task engine's estimators are those whose entries declare a local solver, and no other.
    assertThat(Estimators.builtIns()).filteredOn(b -> b.local() != null).extracting(Estimators.BuiltIn::name)
        .containsExactly("logistic_regression", "random_forest", "gbt", "decision_tree", "linear_svc", "naive_bayes",
            "linear_regression");
    assertThat(Estimators.localSolver("multilayer_perceptron")).isEmpty();
    assertThat(Estimators.localSolver("org.example.MyClassifier")).isEmpty();
    // Fits from sufficient statistics, and the parameter vectors verify compares, are declared the same way.
    assertThat(Estimators.builtIns()).filteredOn(b -> b.statistics() != null).extracting(Estimators.BuiltIn::name)
        .containsExactly("naive_bayes", "linear_regression");
    assertThat(Estimators.statisticsFit("gbt")).isEmpty();
    assertThat(Estimators.builtIns()).filteredOn(b -> b.form() != null).extracting(Estimators.BuiltIn::name)
        .containsExactly("logistic_regression", "linear_svc", "naive_bayes", "multilayer_perceptron",
            "linear_regression");
    // The registry and the fused scorer, below the estimators, find each model's form the entries declare.
    for (Estimators.BuiltIn b : Estimators.builtIns()) {
      if (b.form() != null) {
        Transformer model = switch (b.name()) {
          case "logistic_regression" -> new LogisticRegressionModel("m", Vectors.dense(1, 2), 3);
          case "linear_svc" -> new LinearSVCModel("m", Vectors.dense(1, 2), 3);
          case "naive_bayes" -> new NaiveBayesModel("m", Vectors.dense(-0.5, -1),
              Matrices.dense(2, 1, new double[] {0.25, 0.75}), Matrices.zeros(0, 0));
          case "multilayer_perceptron" -> new org.apache.spark.ml.classification.MultilayerPerceptronClassificationModel(
              "m", Vectors.dense(1, 2, 3, 4));
          default -> new LinearRegressionModel("m", Vectors.dense(1, 2), 3, 1.0);
        };
        assertThat(io.lethe.internal.registry.ModelForm.of(model)).as(b.name()).isSameAs(b.form());
        assertThat(b.form().data(model).schema().size()).as(b.name()).isEqualTo(b.form().data(model).row().size());
      }
    }
    assertThat(io.lethe.internal.registry.ModelForm.of(new LogisticRegressionModel("m", Vectors.dense(1, 2), 3))
        .logisticMargin(new LogisticRegressionModel("m", Vectors.dense(1, 2), 3), 2)).containsExactly(1, 2, 3);
    assertThat(io.lethe.internal.registry.ModelForm.of(new VectorAssembler())).isNull();
    LinearRegressionModel linear = new LinearRegressionModel("lr", Vectors.dense(1, 2), 3, 1.0);
    assertThat(Estimators.parameters(linear)).containsExactly(1, 2, 3);
    assertThat(Estimators.parameters(new NaiveBayesModel("nb", Vectors.dense(-0.5, -1),
        Matrices.dense(2, 1, new double[] {0.25, 0.75}), Matrices.zeros(0, 0)))).containsExactly(-0.5, -1, 0.25, 0.75);
    assertThat(Estimators.parameters(new VectorAssembler())).as("not a model any entry declares").isNull();
  }

  @Test
  void theStrategyBehindASubModelIsKnownByWhatItsEntryAndStateSay() {
    assertThat(Strategies.ofSubModel("shard-retrain")).isSameAs(Strategies.SHARD_RETRAIN);
    assertThat(Strategies.ofSubModel("exact-statistics")).isSameAs(Strategies.EXACT_STATISTICS);
    // A manifest written before sub-models named their strategy: "method", and "fit" for a fit.
    io.lethe.types.SubModelEntry old = io.lethe.internal.run.Json.read("{\"shard\":3,\"path\":\"p\",\"method\":\"fit\"}",
        io.lethe.types.SubModelEntry.class, "entry");
    assertThat(old.strategy()).isEqualTo("shard-retrain");
    assertThat(io.lethe.internal.run.Json.read("{\"shard\":3,\"path\":\"p\",\"method\":\"sliced\"}",
        io.lethe.types.SubModelEntry.class, "entry").strategy()).isEqualTo("sliced");
    assertThat(io.lethe.internal.run.Json.write(old)).contains("\"strategy\" : \"shard-retrain\"").doesNotContain("method");
    Set<String> certified = Set.of(ModelRegistry.STATISTICS_FILE, CertifiedState.FILE_NAME);
    assertThat(Strategies.trainedBy(certified::contains)).isSameAs(Strategies.CERTIFIED_REMOVAL);
    assertThat(Strategies.trainedBy(Set.of(Checkpoints.FILE_NAME)::contains)).isSameAs(Strategies.SLICED);
    assertThat(Strategies.trainedBy(Set.of(ModelRegistry.STATISTICS_FILE)::contains))
        .as("exact statistics train by the usual fit").isSameAs(Strategies.SHARD_RETRAIN);
  }
}
