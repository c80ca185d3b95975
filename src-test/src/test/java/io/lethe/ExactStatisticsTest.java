package io.lethe;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.when;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lethe.api.Lethe;
import io.lethe.demo.AdultData;
import io.lethe.internal.engine.ShardStatistics;
import io.lethe.internal.forget.Forgetter;
import io.lethe.internal.registry.ModelRegistry;
import io.lethe.internal.run.Json;
import io.lethe.internal.store.ShardedStore;
import io.lethe.internal.train.ExactStatistics;
import io.lethe.internal.train.ShardTrainer;
import io.lethe.internal.train.StatisticsModel;
import io.lethe.internal.train.TrainSettings;
import io.lethe.internal.unlearn.Strategies;
import io.lethe.types.EnsembleManifest;
import io.lethe.types.ForgetRequest;
import io.lethe.types.ForgetResult;
import io.lethe.types.ShardUnlearning;
import io.lethe.types.SubModelEntry;
import io.lethe.types.VerifyReport;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.classification.NaiveBayesModel;
import org.apache.spark.ml.feature.OneHotEncoderModel;
import org.apache.spark.ml.feature.StandardScalerModel;
import org.apache.spark.ml.feature.StringIndexerModel;
import org.apache.spark.ml.regression.LinearRegressionModel;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Exact unlearning by sufficient statistics on Adult (with some values blanked, so the imputer
 * and the indexers' missing values take part): the sub-model rebuilt from statistics after a
 * forget is the sub-model a from-scratch fit of the shard gives.
 */
class ExactStatisticsTest extends LetheTestBase {
  /** Relative tolerance for parameters: summation order is all that may differ. */
  private static final double TOLERANCE = 1e-9;

  @TempDir
  static Path dir;

  /** Adult rows with some numeric and categorical values missing. */
  private static Dataset<Row> adultWithGaps(int rows) {
    return adultTrain(rows)
        .withColumn("capital_gain", when(col(AdultData.SUBJECT).mod(11).equalTo(0), lit(null))
            .otherwise(col("capital_gain")))
        .withColumn("workclass", when(col(AdultData.SUBJECT).mod(13).equalTo(0), lit(null))
            .otherwise(col("workclass")));
  }

  @Test
  void naiveBayesForgetRebuildsHitShardsFromStatisticsEqualToAFromScratchFit() {
    LetheConfig config = adultConfig(4, dir.resolve("nb"), Map.of(LetheConfig.TRAIN_ESTIMATOR, "naive_bayes"));
    Trained trained = ingestAndTrain(config, adultWithGaps(2000));
    assertThat(trained.settings().strategy()).as("the default for naive Bayes").isEqualTo(Strategies.EXACT_STATISTICS);
    EnsembleManifest first = trained.published();
    for (SubModelEntry e : first.shards()) {
      assertThat(trained.registry().stateFile(first.version(), e, ModelRegistry.STATISTICS_FILE, ShardStatistics.class))
          .as("shard %d keeps its statistics", e.shard())
          .isPresent();
    }
    Forgetter forgetter = forgetter(trained, config);

    List<String> people = List.of("11", "26", "1500", "1999");
    ForgetResult result = forgetter.execute(ForgetRequest.ofSubjects(people));
    assertExactlyUnlearned(trained, result, 4);

    // verify names the strategy of each hit shard, and its retrain from scratch is the same model.
    VerifyReport report = Lethe.get(spark(), config).internals().verifier().verify(result.batchId(), null);
    assertThat(report.passed()).as(report.checks().toString()).isTrue();
    assertThat(report.unlearning()).extracting(VerifyReport.ShardStrategy::shard)
        .containsExactlyElementsOf(result.retrainedShards());
    assertThat(report.unlearning()).allSatisfy(u -> {
      assertThat(u.strategy()).isEqualTo("exact-statistics");
      assertThat(u.exact()).isTrue();
      assertThat(u.guarantee()).startsWith("exact");
    });
    assertThat(report.retrain()).isNotEmpty().allSatisfy(r -> {
      assertThat(r.agreement()).isEqualTo(1.0);
      assertThat(r.parameterDistance()).isLessThan(1e-6);
    });
    assertThat(ReportSchema.errors(Json.write(report))).isEmpty();

    // A later forget in a shard the first one left alone reads the change data across the first
    // forget's purge (its files are vacuumed) and still only the changed rows.
    int untouched = first.shards().stream().map(SubModelEntry::shard)
        .filter(s -> !result.retrainedShards().contains(s)).findFirst().orElseThrow();
    String next = subjectIn(trained.store(), untouched);
    ForgetResult second = forgetter.execute(ForgetRequest.ofSubjects(List.of(next)));
    assertThat(second.unlearning()).singleElement().satisfies(u -> {
      assertThat(u.shard()).isEqualTo(untouched);
      assertThat(u.detail()).isEqualTo("statistics updated from the changed rows");
    });
    assertExactlyUnlearned(trained, second, 1);
  }

  @Test
  void linearRegressionForgetSolvesTheNormalEquationsAsSparkDoes() {
    Map<String, String> regression = new HashMap<>();
    regression.put(LetheConfig.STORE_LABEL_COLUMN, "hours_per_week");
    regression.put(LetheConfig.STORE_TASK, "regression");
    regression.put(LetheConfig.TRAIN_ESTIMATOR, "linear_regression");
    regression.put("train.param.regParam", "0.1");
    LetheConfig config = adultConfig(3, dir.resolve("lr"), regression);
    Trained trained = ingestAndTrain(config, adultWithGaps(1500).drop(AdultData.LABEL));
    Forgetter forgetter = forgetter(trained, config);
    int shard = trained.store().shardsOf(List.of("3")).iterator().next();
    SubModelEntry atTraining = trained.published().shard(shard).orElseThrow();
    ShardStatistics old = trained.registry().stateFile(trained.published().version(), atTraining,
        ModelRegistry.STATISTICS_FILE, ShardStatistics.class).orElseThrow();

    ForgetResult result = forgetter.execute(ForgetRequest.ofSubjects(List.of("3", "700", "1400")));
    assertExactlyUnlearned(trained, result, 3);
    assertThat(trained.registry().stateFile(trained.published().version(), atTraining, ModelRegistry.STATISTICS_FILE,
        ShardStatistics.class))
        .as("the statistics that summed the deleted rows are retired with their sub-model").isEmpty();

    // After the purge, the statistics of training time can no longer be brought forward from the
    // change data (the delete's files are vacuumed): they are recomputed, and equal the shard's.
    long now = trained.store().currentVersion();
    ExactStatistics.Update update = ExactStatistics.update(trained.store(), shard, old, atTraining.storeVersion(), now);
    assertThat(update.incremental()).isFalse();
    ShardStatistics fresh = ExactStatistics.compute(trained.store().readShard(shard, now), trained.store().layout());
    long deletedHere = List.of("3", "700", "1400").stream()
        .filter(id -> trained.store().shardsOf(List.of(id)).contains(shard)).count();
    assertThat(update.statistics().totalRows()).isEqualTo(fresh.totalRows())
        .isEqualTo(old.totalRows() - deletedHere);
    assertThat(update.rowsRemoved()).isEqualTo(deletedHere);
  }

  @Test
  void otherSettingsMatchSparkOrFallBackToAShardRetrain() {
    Map<String, String> regression = new HashMap<>();
    regression.put(LetheConfig.STORE_LABEL_COLUMN, "hours_per_week");
    regression.put(LetheConfig.STORE_TASK, "regression");
    LetheConfig config = adultConfig(2, dir.resolve("variants"), regression);
    ShardedStore.ingest(spark(), config.get(LetheConfig.STORE_PATH), adultWithGaps(1500).drop(AdultData.LABEL), config,
        false);
    ShardedStore store = ShardedStore.open(spark(), config.get(LetheConfig.STORE_PATH));
    Dataset<Row> rows = store.readShard(1, store.currentVersion());
    ShardStatistics statistics = ExactStatistics.compute(rows, store.layout());
    TrainSettings unstandardized = settings(config, "linear_regression",
        Map.of("standardization", "false", "fitIntercept", "false", "regParam", "0.5"));
    PipelineModel fitted = new ShardTrainer(store, unstandardized).fit(1, rows).model();
    PipelineModel rebuilt = new StatisticsModel(store.layout(), unstandardized, rows.schema()).build(statistics, 1);
    assertSameModel(rebuilt, fitted, rows, 1);

    // Without a penalty, one-hot columns that sum to the intercept make the normal equations
    // singular: Spark leaves Cholesky for an iterative solver, and forgetting retrains the shard.
    TrainSettings unpenalized = settings(config, "linear_regression", Map.of("regParam", "0.0"));
    assertThatThrownBy(() -> new StatisticsModel(store.layout(), unpenalized, rows.schema()).build(statistics, 1))
        .isInstanceOf(StatisticsModel.SingularException.class);
    TrainSettings lasso = settings(config, "linear_regression", Map.of("regParam", "0.1", "elasticNetParam", "1.0"));
    assertThat(new StatisticsModel(store.layout(), lasso, null).unsupported()).hasValueSatisfying(
        why -> assertThat(why).contains("L1"));
    assertThatThrownBy(() -> Strategies.settings(config.with(Map.of(LetheConfig.TRAIN_ESTIMATOR, "gbt",
        LetheConfig.FORGET_STRATEGY_PREFIX + "gbt", "exact-statistics"))))
        .hasMessageContaining("exact-statistics does not apply to gbt");
  }

  @Test
  void gaussianNaiveBayesFromStatisticsMatchesSpark() {
    LetheConfig config = adultConfig(2, dir.resolve("gaussian"), Map.of());
    ShardedStore.ingest(spark(), config.get(LetheConfig.STORE_PATH), adultWithGaps(1500), config, false);
    ShardedStore store = ShardedStore.open(spark(), config.get(LetheConfig.STORE_PATH));
    Dataset<Row> rows = store.readShard(0, store.currentVersion());
    TrainSettings settings = settings(config, "naive_bayes", Map.of("modelType", "gaussian", "smoothing", "0.5"));
    PipelineModel fitted = new ShardTrainer(store, settings).fit(0, rows).model();
    PipelineModel rebuilt = new StatisticsModel(store.layout(), settings, rows.schema())
        .build(ExactStatistics.compute(rows, store.layout()), 0);
    assertSameModel(rebuilt, fitted, rows, 0);
  }

  private static TrainSettings settings(LetheConfig config, String estimator, Map<String, String> params) {
    Map<String, String> all = new HashMap<>();
    all.put(LetheConfig.TRAIN_ESTIMATOR, estimator);
    params.forEach((k, v) -> all.put(LetheConfig.TRAIN_PARAM_PREFIX + k, v));
    return Strategies.settings(config.with(all));
  }

  private static String subjectIn(ShardedStore store, int shard) {
    return store.readShard(shard, store.currentVersion()).select(AdultData.SUBJECT).head().get(0).toString();
  }

  /**
   * Every hit shard of a forget was unlearned from statistics, removing the deleted rows, and its
   * new sub-model equals a from-scratch fit of the shard on the same store version.
   */
  private static void assertExactlyUnlearned(Trained trained, ForgetResult result, long rowsDeleted) {
    assertThat(result.unlearning()).isNotEmpty();
    assertThat(result.unlearning()).allSatisfy(u -> {
      assertThat(u.strategy()).isEqualTo(Strategies.EXACT_STATISTICS.id());
      assertThat(u.exact()).isTrue();
      assertThat(u.rowsAdded()).isZero();
    });
    assertThat(result.unlearning().stream().mapToLong(ShardUnlearning::rowsRemoved).sum()).isEqualTo(rowsDeleted);
    EnsembleManifest published = trained.registry().manifest(result.ensembleVersion());
    Set<Integer> hit = new TreeSet<>(result.retrainedShards());
    for (int shard : hit) {
      SubModelEntry entry = published.shard(shard).orElseThrow();
      assertThat(entry.strategy()).isEqualTo(Strategies.EXACT_STATISTICS.id());
      Dataset<Row> rows = trained.store().readShard(shard, readable(trained.store(), entry.storeVersion(), shard));
      PipelineModel rebuilt = readsAsSparkDoes(trained.registry().subModelPath(published.version(), entry), rows);
      assertThat(entry.rows()).isEqualTo(rows.count());
      PipelineModel fitted = new ShardTrainer(trained.store(), trained.settings()).fit(shard, rows).model();
      assertSameModel(rebuilt, fitted, rows, shard);
    }
  }

  /**
   * Same stages, same fitted values (indexer labels and one-hot sizes exactly, the rest to a
   * relative 1e-9), and the same predictions on the shard's rows.
   */
  private static void assertSameModel(PipelineModel rebuilt, PipelineModel fitted, Dataset<Row> rows, int shard) {
    Transformer[] mine = rebuilt.stages();
    Transformer[] spark = fitted.stages();
    assertThat(mine).extracting(t -> t.getClass().getSimpleName())
        .containsExactlyElementsOf(List.of(spark).stream().map(t -> t.getClass().getSimpleName()).toList());
    for (int i = 0; i < mine.length; i++) {
      if (mine[i] instanceof StringIndexerModel m) {
        assertThat(m.labelsArray()).isDeepEqualTo(((StringIndexerModel) spark[i]).labelsArray());
      } else if (mine[i] instanceof OneHotEncoderModel m) {
        assertThat(m.categorySizes()).isEqualTo(((OneHotEncoderModel) spark[i]).categorySizes());
      } else if (mine[i] instanceof StandardScalerModel m) {
        assertClose(m.std().toArray(), ((StandardScalerModel) spark[i]).std().toArray());
      } else if (mine[i] instanceof NaiveBayesModel m) {
        NaiveBayesModel s = (NaiveBayesModel) spark[i];
        assertClose(m.pi().toArray(), s.pi().toArray());
        assertClose(m.theta().toArray(), s.theta().toArray());
        assertClose(m.sigma().toArray(), s.sigma().toArray());
      } else if (mine[i] instanceof LinearRegressionModel m) {
        LinearRegressionModel s = (LinearRegressionModel) spark[i];
        assertClose(m.coefficients().toArray(), s.coefficients().toArray());
        assertClose(new double[] {m.intercept()}, new double[] {s.intercept()});
      }
      assertThat(params(mine[i])).as("parameters of stage %d", i).isEqualTo(params(spark[i]));
    }
    String prediction = io.lethe.internal.model.ShardColumns.prediction(shard);
    List<Row> a = rebuilt.transform(rows).select(prediction).collectAsList();
    List<Row> b = fitted.transform(rows).select(prediction).collectAsList();
    List<Double> expected = new ArrayList<>();
    b.forEach(r -> expected.add(r.getDouble(0)));
    for (int r = 0; r < a.size(); r++) {
      double x = a.get(r).getDouble(0);
      assertThat(Math.abs(x - expected.get(r))).as("prediction of row %d", r)
          .isLessThanOrEqualTo(TOLERANCE * Math.max(1.0, Math.abs(x)));
    }
  }

  private static void assertClose(double[] actual, double[] expected) {
    assertThat(actual).hasSameSizeAs(expected);
    for (int i = 0; i < actual.length; i++) {
      double scale = Math.max(1.0, Math.abs(expected[i]));
      assertThat(Math.abs(actual[i] - expected[i])).as("entry %d: %s vs %s", i, actual[i], expected[i])
          .isLessThanOrEqualTo(TOLERANCE * scale);
    }
  }

  /** A stage's parameters (set and default) by name, as JSON, with the stage's uid (in default column names) masked. */
  @SuppressWarnings({"unchecked", "rawtypes"})
  private static Map<String, String> params(Transformer stage) {
    Map<String, String> out = new java.util.TreeMap<>();
    for (Object o : stage.extractParamMap().toList()) {
      org.apache.spark.ml.param.ParamPair pair = (org.apache.spark.ml.param.ParamPair) o;
      out.put(pair.param().name(), pair.param().jsonEncode(pair.value()).replace(stage.uid(), "<uid>"));
    }
    return out;
  }
}
