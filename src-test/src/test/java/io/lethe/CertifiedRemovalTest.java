package io.lethe;

import static org.assertj.core.api.Assertions.assertThat;

import io.lethe.api.Lethe;
import io.lethe.internal.model.Aggregation;
import io.lethe.internal.model.ShardEnsembleModel;
import io.lethe.internal.run.Json;
import io.lethe.internal.train.ShardTrainer;
import io.lethe.internal.train.TrainSettings;
import io.lethe.internal.train.Training;
import io.lethe.internal.unlearn.CertifiedLogistic;
import io.lethe.internal.unlearn.CertifiedRemoval;
import io.lethe.internal.unlearn.CertifiedState;
import io.lethe.internal.unlearn.Strategies;
import io.lethe.internal.verify.VerifyPage;
import io.lethe.types.EnsembleManifest;
import io.lethe.types.ForgetRequest;
import io.lethe.types.ForgetResult;
import io.lethe.types.ShardUnlearning;
import io.lethe.types.StoreLayout;
import io.lethe.types.SubModelEntry;
import io.lethe.types.VerifyReport;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.classification.LogisticRegressionModel;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Certified removal (Guo et al., ICML 2020) on 2,000 Adult people in two shards: forgetting is a
 * Newton step whose gradient residual is measured and kept within the budget, the result stays
 * close to the exact optimum and is labelled approximate; over the budget the shard is solved
 * exactly.
 */
class CertifiedRemovalTest extends LetheTestBase {
  @TempDir
  static Path dir;

  static LetheConfig config;
  static Trained trained;

  /** A trained shard's certified state, and the gradient norm its published weights have on its rows. */
  record Trained1(CertifiedState state, double gradientNorm) {}

  static Map<Integer, Trained1> firstStates = new java.util.TreeMap<>();
  static double firstAccuracy;

  @BeforeAll
  static void train() {
    Map<String, String> settings = new HashMap<>();
    settings.put(LetheConfig.FORGET_STRATEGY_PREFIX + "logistic_regression", "certified-removal");
    settings.put("train.param.regParam", "0.01");
    settings.put("forget.certified.noise", "10");
    // Nothing here reads storage after a forget: the purge is left pending (its REORG and VACUUM are 5 to 10 s).
    settings.put(LetheConfig.FORGET_PURGE, "false");
    config = adultConfig(2, dir, settings);
    trained = ingestAndTrain(config, adultTrain(2000));
    // What training published, read before any test's forget retires it.
    EnsembleManifest published = trained.published();
    for (SubModelEntry e : published.shards()) {
      CertifiedState state = trained.registry().stateFile(published.version(), e, CertifiedState.FILE_NAME,
          CertifiedState.class).orElseThrow();
      firstStates.put(e.shard(), new Trained1(state, gradientNorm(published, e, state)));
    }
    firstAccuracy = io.lethe.internal.model.Evaluation.score(ShardEnsembleModel.load(trained.registry(), published.version()),
        adultTest(1000), trained.store().layout());
  }

  @Test
  void trainingSolvesThePerturbedObjectiveToItsOptimum() {
    assertThat(firstStates).hasSize(2);
    firstStates.values().forEach(t -> {
      CertifiedState state = t.state();
      assertThat(state.exact()).isTrue();
      assertThat(state.sigma()).isEqualTo(10.0);
      assertThat(state.features()).last().isEqualTo(CertifiedState.INTERCEPT);
      assertThat(state.residual()).as("Newton's method converged").isLessThan(1e-3).isLessThan(state.budget());
      assertThat(Arrays.stream(state.noise()).map(Math::abs).max().orElse(0)).as("the noise is drawn").isPositive();
      // The residual the state records is the gradient of the objective at the published weights.
      assertThat(t.gradientNorm()).isCloseTo(state.residual(), org.assertj.core.api.Assertions.within(1e-6));
    });
    double majority = majorityRate(adultTest(1000), io.lethe.demo.AdultData.LABEL);
    assertThat(firstAccuracy).as("the noise barely moves the model: against the majority class (%.4f)", majority)
        .isGreaterThan(majority + 0.03);
  }

  @Test
  void theNoiseIsKeptUnderTheSecretsLocationNeverWithTheModels() throws Exception {
    io.lethe.internal.registry.ModelRegistry registry = trained.registry();
    assertThat(registry.secrets().toString()).isEqualTo(registry.root() + "-secrets");
    String models = readAll(registry.root().toString());
    EnsembleManifest published = registry.latest().orElseThrow();
    for (SubModelEntry e : published.shards()) {
      CertifiedState state = registry.stateFile(published.version(), e, CertifiedState.FILE_NAME, CertifiedState.class)
          .orElseThrow();
      // Each value of b, as JSON writes it, is nowhere in the models folder.
      for (double b : state.noise()) {
        assertThat(models).doesNotContain(io.lethe.internal.run.Json.write(b));
      }
    }
    assertThat(filesUnder(registry.root().toString())).noneMatch(f -> f.getName().contains("certified"));
    assertThat(filesUnder(registry.secrets().toString())).filteredOn(f -> f.getName().equals(CertifiedState.FILE_NAME))
        .hasSizeGreaterThanOrEqualTo(published.shards().size());
    // Retired sub-models take their secrets with them.
    for (io.lethe.types.Retirement r : registry.retirements()) {
      for (String dir : r.subModels()) {
        assertThat(java.nio.file.Path.of(new org.apache.hadoop.fs.Path(registry.secrets(), dir).toUri())).doesNotExist();
      }
    }
    // A secrets location under the models' is refused.
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> new io.lethe.internal.registry.ModelRegistry(spark(),
            registry.root().toString(), "", "", registry.root() + "/secrets"))
        .isInstanceOf(InvalidConfigException.class).hasMessageContaining("is under models.path");
  }

  @Test
  void aRemovalIsANewtonStepWithinTheBudgetCloseToTheExactOptimumAndLabelledApproximate() {
    ForgetResult result = forgetter(trained, config).execute(ForgetRequest.ofSubjects(List.of("5", "77", "1948")));
    EnsembleManifest published = trained.registry().manifest(result.ensembleVersion());
    assertThat(result.unlearning()).isNotEmpty().allSatisfy(u -> {
      assertThat(u.strategy()).isEqualTo("certified-removal");
      assertThat(u.exact()).as(u.detail()).isFalse();
      assertThat(u.detail()).startsWith("one Newton step");
      assertThat(u.certificate()).containsKeys("epsilon", "delta", "noise", "budget", "residual");
      assertThat(u.certificate().get("residual")).isLessThanOrEqualTo(u.certificate().get("budget")).isPositive();
      assertThat(u.certificate().get("budget"))
          .isCloseTo(CertifiedLogistic.budget(1.0, 1e-4, 10.0), org.assertj.core.api.Assertions.within(1e-12));
    });
    for (ShardUnlearning u : result.unlearning()) {
      SubModelEntry entry = published.shard(u.shard()).orElseThrow();
      assertThat(entry.strategy()).isEqualTo("certified-removal");
      CertifiedState state = trained.registry().stateFile(published.version(), entry, CertifiedState.FILE_NAME, CertifiedState.class).orElseThrow();
      assertThat(state.removals()).isEqualTo(1);
      assertThat(gradientNorm(published, entry, state)).as("the residual is what the model has on its rows")
          .isCloseTo(state.residual(), org.assertj.core.api.Assertions.within(1e-6));

      // Against the exact optimum on the same rows with the same noise: close, not equal.
      PipelineModel exact = new ShardTrainer(trained.store(), trained.settings()).withPriorState(CertifiedState.FILE_NAME, Map.of(u.shard(), state))
          .fitShard(u.shard(), readable(trained.store(), entry.storeVersion(), u.shard())).model();
      LogisticRegressionModel step = (LogisticRegressionModel) ShardTrainer.estimatorModel(
          ShardEnsembleModel.load(trained.registry(), published.version()).subModel(u.shard()));
      LogisticRegressionModel optimum = (LogisticRegressionModel) ShardTrainer.estimatorModel(exact);
      double distance = Math.sqrt(org.apache.spark.ml.linalg.Vectors.sqdist(step.coefficients(),
          optimum.coefficients()) + Math.pow(step.intercept() - optimum.intercept(), 2));
      double norm = Math.sqrt(org.apache.spark.ml.linalg.Vectors.sqdist(optimum.coefficients(),
          org.apache.spark.ml.linalg.Vectors.zeros(optimum.coefficients().size())));
      assertThat(distance).isPositive().isLessThan(1e-2 * norm);
    }

    VerifyReport report = Lethe.get(spark(), config).internals().verifier().verify(result.batchId(), adultTest(800));
    assertThat(report.passed()).as(report.checks().toString()).isTrue();
    assertThat(report.unlearning()).isNotEmpty().allSatisfy(s -> {
      assertThat(s.strategy()).isEqualTo("certified-removal");
      assertThat(s.exact()).isFalse();
      assertThat(s.guarantee()).startsWith("approximate: (epsilon, delta)-certified removal");
      assertThat(s.certificate().get("residual")).isLessThanOrEqualTo(s.certificate().get("budget"));
    });
    assertThat(report.retrain()).isNotEmpty().allSatisfy(r -> assertThat(r.agreement()).isGreaterThan(0.99));
    // The epsilon the removal shows when measured (20 repetitions by default) is within its certificate's.
    VerifyReport.Check epsilon = report.checks().stream().filter(c -> c.id().equals("certified.epsilon")).findFirst()
        .orElseThrow();
    assertThat(epsilon.passed()).as(epsilon.finding()).isTrue();
    assertThat(((Number) epsilon.figures().get("epsilonEstimate")).doubleValue())
        .isLessThanOrEqualTo(((Number) epsilon.figures().get("certificateEpsilon")).doubleValue());
    assertThat(epsilon.figures()).containsEntry("repetitions", 20).containsKey("largestMeasurable")
        .containsEntry("shardsEstimated", epsilon.figures().get("shardsCertified"));
    assertThat(ReportSchema.errors(Json.write(report))).isEmpty();
    assertThat(VerifyPage.render(report)).contains("certified-removal").contains("approximate");
  }

  @Test
  void overTheBudgetTheShardIsSolvedExactly() {
    // An epsilon so small that no Newton step fits its budget.
    LetheConfig strict = config.with(Map.of("forget.certified.epsilon", "1e-12"));
    TrainSettings settings = Strategies.settings(strict);
    Training training = new Training(trained.store(), trained.registry(), settings, Aggregation.SOFT);
    Trained strictly = new Trained(trained.store(), trained.registry(), settings, training, trained.published());
    ForgetResult result = forgetter(strictly, strict).execute(ForgetRequest.ofSubjects(List.of("9", "1500")));
    EnsembleManifest published = trained.registry().manifest(result.ensembleVersion());
    assertThat(result.unlearning()).isNotEmpty().allSatisfy(u -> {
      assertThat(u.strategy()).isEqualTo("certified-removal");
      assertThat(u.exact()).isTrue();
      assertThat(u.detail()).contains("solved to the exact optimum");
    });
    for (ShardUnlearning u : result.unlearning()) {
      CertifiedState state = trained.registry().stateFile(published.version(), published.shard(u.shard())
          .orElseThrow(), CertifiedState.FILE_NAME, CertifiedState.class).orElseThrow();
      assertThat(state.removals()).isZero();
      assertThat(state.residual()).isLessThan(1e-3);
    }
    assertThat(Strategies.CERTIFIED_REMOVAL.exact()).as("the strategy is never called exact").isFalse();
  }

  /** The gradient norm of the perturbed objective at a published certified sub-model, on its rows. */
  private static double gradientNorm(EnsembleManifest manifest, SubModelEntry entry, CertifiedState state) {
    PipelineModel model = ShardEnsembleModel.load(trained.registry(), manifest.version()).subModel(entry.shard());
    Transformer[] stages = model.stages();
    Transformer[] features = Arrays.copyOf(stages, stages.length - 1);
    StoreLayout layout = trained.store().layout();
    Dataset<Row> rows = trained.store().readShard(entry.shard(),
            readable(trained.store(), entry.storeVersion(), entry.shard()))
        .select(layout.trainingColumns().toArray(new org.apache.spark.sql.Column[0]));
    Dataset<Row> featurized = new PipelineModel(Identifiable.randomUID("pipeline"), features).transform(rows);
    assertThat(CertifiedRemoval.featureNames(features, layout)).isEqualTo(state.features());
    JavaRDD<CertifiedLogistic.LabeledVector> labeled = CertifiedRemoval.rows(featurized, entry.shard());
    try {
      return CertifiedLogistic.at(labeled, state.weights(), state.regParam(), state.noise(), false).residual();
    } finally {
      CertifiedRemoval.release(labeled);
    }
  }
}
