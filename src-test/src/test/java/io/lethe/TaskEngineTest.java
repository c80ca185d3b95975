package io.lethe;

import static org.apache.spark.sql.functions.col;
import static org.assertj.core.api.Assertions.assertThat;

import io.lethe.store.ShardedStore;
import io.lethe.train.Engine;
import io.lethe.train.ShardTrainer;
import io.lethe.train.TrainSettings;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.classification.LinearSVCModel;
import org.apache.spark.ml.classification.LogisticRegressionModel;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The task engine fits each shard's whole pipeline inside one Spark task with local solvers; every
 * model must equal spark.ml's own fit of the same shard: the same parameters within a relative
 * 1e-6 (L2 norm of the difference over the norm of spark.ml's), and the same predictions on
 * held-out Adult people but for at most 0.5% of them.
 */
class TaskEngineTest extends LetheTestBase {
  @TempDir
  static Path dir;

  private static ShardedStore store;

  @BeforeAll
  static void ingest() {
    LetheConfig config = adultConfig(2, dir, Map.of());
    ShardedStore.ingest(spark(), config.get(LetheConfig.STORE_PATH), adultTrain(4000), config, false);
    store = ShardedStore.open(spark(), config.get(LetheConfig.STORE_PATH));
  }

  private static TrainSettings settings(Map<String, String> more) {
    Map<String, String> all = new HashMap<>(more);
    return TrainSettings.from(adultConfig(2, dir, all));
  }

  /** Fits shard 0 with both engines and checks that the two models agree. */
  private static void assertSameModel(Map<String, String> params) {
    TrainSettings s = settings(params);
    long version = store.currentVersion();
    ShardTrainer.FittedShard tasks = new ShardTrainer(store, s.withEngine(Engine.TASKS)).fitShard(0, version);
    ShardTrainer.FittedShard jobs = new ShardTrainer(store, s.withEngine(Engine.JOBS)).fitShard(0, version);
    assertThat(tasks.engine()).isEqualTo(Engine.TASKS);
    assertThat(jobs.engine()).isEqualTo(Engine.JOBS);
    assertThat(tasks.rows()).isEqualTo(jobs.rows());
    double[] mine = parameters(ShardTrainer.estimatorModel(tasks.model()));
    double[] theirs = parameters(ShardTrainer.estimatorModel(jobs.model()));
    assertThat(mine).hasSameSizeAs(theirs);
    double diff = 0;
    double norm = 0;
    for (int i = 0; i < mine.length; i++) {
      diff += (mine[i] - theirs[i]) * (mine[i] - theirs[i]);
      norm += theirs[i] * theirs[i];
    }
    System.out.printf("%s: relative parameter distance %.3g over %d parameters%n", params, Math.sqrt(diff / norm),
        mine.length);
    assertThat(Math.sqrt(diff / norm)).as("relative distance of the parameters to spark.ml's").isLessThan(1e-6);
    Dataset<Row> test = adultTest(2000);
    long differ = predictions(tasks.model(), test).join(predictions(jobs.model(), test).withColumnRenamed("p", "q"),
        "person_id").where(col("p").notEqual(col("q"))).count();
    assertThat(differ).as("held-out people predicted differently").isLessThanOrEqualTo(10);
  }

  private static Dataset<Row> predictions(PipelineModel model, Dataset<Row> rows) {
    Dataset<Row> scored = model.transform(rows);
    String prediction = Arrays.stream(scored.columns()).filter(c -> c.endsWith("prediction") && !c.contains("raw"))
        .findFirst().orElseThrow();
    return scored.select(col("person_id"), col(prediction).as("p"));
  }

  private static double[] parameters(Transformer model) {
    if (model instanceof LogisticRegressionModel lr) {
      double[] c = lr.coefficientMatrix().toArray();
      double[] b = lr.interceptVector().toArray();
      double[] all = Arrays.copyOf(c, c.length + b.length);
      System.arraycopy(b, 0, all, c.length, b.length);
      return all;
    }
    LinearSVCModel svc = (LinearSVCModel) model;
    Vector c = svc.coefficients();
    double[] all = Arrays.copyOf(c.toArray(), c.size() + 1);
    all[c.size()] = svc.intercept();
    return all;
  }

  @Test
  void logisticRegressionByDefaultEqualsSparkMl() {
    assertSameModel(Map.of());
  }

  @Test
  void logisticRegressionWithL2EqualsSparkMl() {
    assertSameModel(Map.of("train.param.regParam", "0.01"));
  }

  @Test
  void elasticNetWithoutStandardizationOrInterceptEqualsSparkMl() {
    assertSameModel(Map.of("train.param.regParam", "0.01", "train.param.elasticNetParam", "0.5",
        "train.param.standardization", "false", "train.param.fitIntercept", "false"));
  }

  @Test
  void multinomialLogisticRegressionEqualsSparkMl() {
    assertSameModel(Map.of("train.param.family", "multinomial", "train.param.regParam", "0.001"));
  }

  @Test
  void linearSvcEqualsSparkMl() {
    assertSameModel(Map.of("train.estimator", "linear_svc", "train.param.regParam", "0.01"));
  }
}
