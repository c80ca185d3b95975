package io.lethe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.lethe.demo.AdultData;
import io.lethe.internal.train.Engine;
import io.lethe.internal.train.ShardTrainer.FittedShard;
import io.lethe.internal.train.ShardTrainer;
import io.lethe.internal.unlearn.Strategies;
import io.lethe.types.SubModelEntry;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.classification.DecisionTreeClassificationModel;
import org.apache.spark.ml.classification.GBTClassificationModel;
import org.apache.spark.ml.classification.RandomForestClassificationModel;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.regression.DecisionTreeRegressionModel;
import org.apache.spark.ml.regression.RandomForestRegressionModel;
import org.apache.spark.ml.tree.InternalNode;
import org.apache.spark.ml.tree.Node;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Decision trees and random forests grown inside tasks, on Adult shards of 1,500 people: a
 * decision tree is the tree spark.ml's fit grows on the same shard (spark.ml finds thresholds on
 * every row of a shard this small), for two classes, for five and for regression, and so are
 * boosted trees; a forest scores no more than half a point under spark.ml's forest; all are real
 * spark.ml models with their statistics, which load and score in plain spark.ml, and which Lethe
 * writes and reads back with no Spark job.
 */
class TreesTest extends LetheTestBase {
  @TempDir
  Path dir;

  private static final int ROWS = 3000;
  private static final int TEST_ROWS = 3000;

  /** Trains a two-shard store on the task engine; returns shard 0's task fit and spark.ml's fit of it. */
  private Pair fits(Map<String, String> settings) throws Exception {
    Map<String, String> all = new HashMap<>(settings);
    all.put(LetheConfig.TRAIN_SCALE, "false");
    LetheConfig config = adultConfig(2, dir, all);
    Trained trained = ingestAndTrain(config, adultTrain(ROWS));
    SubModelEntry entry = trained.published().shard(0).orElseThrow();
    assertThat(entry.engine()).as("grown in a task").isEqualTo(Engine.TASKS.id());
    PipelineModel ours = io.lethe.internal.model.ShardEnsembleModel.load(trained.registry(), trained.published().version())
        .subModel(0);
    org.apache.hadoop.fs.Path saved = trained.registry().subModelPath(trained.published().version(), entry);
    readsAsSparkDoes(saved, adultTest(200));
    // Read back in the driver, as written: no Spark job.
    assertThat(jobsWhileReading(saved)).as("Spark jobs run by reading the tree sub-model").isZero();
    FittedShard theirs = new ShardTrainer(trained.store(), Strategies.settings(config))
        .fit(0, trained.store().readShard(0, entry.storeVersion()));
    return new Pair(ours, theirs.model(), trained.store().layout(), trained);
  }

  /** The Spark jobs that reading a sub-model with Lethe's reader runs. */
  private static int jobsWhileReading(org.apache.hadoop.fs.Path subModel) throws Exception {
    java.util.concurrent.atomic.AtomicInteger jobs = new java.util.concurrent.atomic.AtomicInteger();
    try (OwnJobs counter = new OwnJobs() {
      @Override
      protected void ownJob(org.apache.spark.scheduler.SparkListenerJobStart start) {
        jobs.incrementAndGet();
      }
    }) {
      io.lethe.internal.registry.PipelineReader.load(new io.lethe.internal.run.HadoopFiles(spark().sparkContext().hadoopConfiguration()),
          subModel);
      counter.drain();
    }
    return jobs.get();
  }

  /**
   * spark.ml's fit of the shard (its one-hot columns' splits are categorical splits), saved and
   * read back by Lethe with no Spark job, as spark.ml reads it.
   */
  private static void savesAndReadsSparkMlsFit(Pair pair) throws Exception {
    SubModelEntry saved = pair.trained().registry().saveSubModel(0, pair.trained().store().currentVersion(),
        pair.sparks(), 1, 1, 0.0);
    org.apache.hadoop.fs.Path path = pair.trained().registry().subModelPath(pair.trained().published().version(), saved);
    assertThat(jobsWhileReading(path)).as("Spark jobs run by reading spark.ml's fit").isZero();
    readsAsSparkDoes(path, adultTest(200));
  }

  private record Pair(PipelineModel ours, PipelineModel sparks, io.lethe.types.StoreLayout layout, Trained trained) {
    Transformer oursLast() {
      return ShardTrainer.estimatorModel(ours);
    }

    Transformer sparksLast() {
      return ShardTrainer.estimatorModel(sparks);
    }

    /** The share of test rows the two predict alike. */
    double agreement() {
      Dataset<Row> test = adultTest(TEST_ROWS);
      List<Row> a = ours.transform(test).select("person_id", io.lethe.internal.model.ShardColumns.prediction(0)).orderBy("person_id")
          .collectAsList();
      List<Row> b = sparks.transform(test).select("person_id", io.lethe.internal.model.ShardColumns.prediction(0)).orderBy("person_id")
          .collectAsList();
      long same = java.util.stream.IntStream.range(0, a.size()).filter(i -> a.get(i).equals(b.get(i))).count();
      return same / (double) a.size();
    }

    Dataset<Row> scored(PipelineModel model) {
      return model.transform(adultTest(TEST_ROWS).withColumn(io.lethe.types.StoreLayout.LABEL_INDEX_COLUMN,
          layout.labelIndex()));
    }

    double accuracy(PipelineModel model) {
      Dataset<Row> scored = scored(model);
      return scored.where(scored.col(io.lethe.internal.model.ShardColumns.prediction(0))
          .equalTo(scored.col(io.lethe.types.StoreLayout.LABEL_INDEX_COLUMN))).count() / (double) TEST_ROWS;
    }
  }

  @Test
  void aDecisionTreeGrownInATaskIsTheTreeSparkMlGrows() throws Exception {
    Pair pair = fits(Map.of("train.estimator", "decision_tree", "train.param.maxDepth", "6",
        "train.param.minInstancesPerNode", "5"));
    DecisionTreeClassificationModel ours = (DecisionTreeClassificationModel) pair.oursLast();
    DecisionTreeClassificationModel sparks = (DecisionTreeClassificationModel) pair.sparksLast();
    assertThat(pair.agreement()).as("test rows predicted alike").isEqualTo(1.0);
    assertThat(ours.numNodes()).isEqualTo(sparks.numNodes());
    assertThat(ours.depth()).isEqualTo(sparks.depth());
    assertThat(ours.rootNode().impurity()).isCloseTo(sparks.rootNode().impurity(), within(1e-12));
    assertThat(((InternalNode) ours.rootNode()).gain()).isCloseTo(((InternalNode) sparks.rootNode()).gain(), within(1e-12));
    assertThat(ours.featureImportances().toArray()).containsExactly(sparks.featureImportances().toArray(), within(1e-9));
    double majority = majorityRate(adultTest(TEST_ROWS), AdultData.LABEL);
    assertThat(pair.accuracy(pair.ours())).isGreaterThan(majority + 0.03);
    // Probabilities from the leaves' class counts, as spark.ml's.
    Row a = pair.ours().transform(adultTest(1)).select(io.lethe.internal.model.ShardColumns.probability(0)).head();
    Row b = pair.sparks().transform(adultTest(1)).select(io.lethe.internal.model.ShardColumns.probability(0)).head();
    assertThat(((Vector) a.get(0)).toArray()).containsExactly(((Vector) b.get(0)).toArray(), within(1e-12));
    assertThat(categoricalSplits(sparks.rootNode())).as("spark.ml's tree splits one-hot columns by category")
        .isPositive();
    assertThat(categoricalSplits(ours.rootNode())).as("the task's tree by threshold").isZero();
    savesAndReadsSparkMlsFit(pair);
  }

  @Test
  void aDecisionTreeOfFiveClassesIsTheTreeSparkMlGrows() throws Exception {
    Pair pair = fits(Map.of("train.estimator", "decision_tree", "train.param.maxDepth", "5",
        "train.param.impurity", "entropy", "store.label-column", "race", "store.features.exclude", AdultData.LABEL));
    assertThat(((DecisionTreeClassificationModel) pair.oursLast()).numClasses()).isEqualTo(5);
    assertThat(pair.agreement()).isEqualTo(1.0);
    assertThat(((DecisionTreeClassificationModel) pair.oursLast()).numNodes())
        .isEqualTo(((DecisionTreeClassificationModel) pair.sparksLast()).numNodes());
  }

  @Test
  void aRegressionTreeIsTheTreeSparkMlGrows() throws Exception {
    Pair pair = fits(Map.of("train.estimator", "decision_tree", "train.param.maxDepth", "5", "store.task",
        "regression", "store.label-column", "hours_per_week", "store.features.exclude", AdultData.LABEL));
    DecisionTreeRegressionModel ours = (DecisionTreeRegressionModel) pair.oursLast();
    DecisionTreeRegressionModel sparks = (DecisionTreeRegressionModel) pair.sparksLast();
    assertThat(ours.numNodes()).isEqualTo(sparks.numNodes());
    // spark.ml orders a one-hot column's two values by their mean label, so a split's sides may be
    // swapped: the same leaves, in another order.
    double[] mine = leaves(ours.rootNode());
    double[] theirs = leaves(sparks.rootNode());
    java.util.Arrays.sort(mine);
    java.util.Arrays.sort(theirs);
    assertThat(mine).containsExactly(theirs, within(1e-9));
    assertThat(pair.agreement()).isGreaterThan(0.999);
  }

  @Test
  void aForestGrownInTasksScoresAsSparkMlsForestDoes() throws Exception {
    Pair pair = fits(Map.of("train.estimator", "random_forest", "train.param.numTrees", "12",
        "train.param.maxDepth", "6"));
    RandomForestClassificationModel ours = (RandomForestClassificationModel) pair.oursLast();
    assertThat(ours.getNumTrees()).isEqualTo(12);
    assertThat(java.util.Arrays.stream(ours.trees()).map(t -> t.toDebugString()).distinct().count())
        .as("each tree draws its own rows and features").isEqualTo(12);
    double mine = pair.accuracy(pair.ours());
    double theirs = pair.accuracy(pair.sparks());
    assertThat(mine).as("at most half a point under spark.ml's forest (%.4f)", theirs).isGreaterThan(theirs - 0.005);
    assertThat(mine).isGreaterThan(majorityRate(adultTest(TEST_ROWS), AdultData.LABEL) + 0.03);
    assertThat(java.util.Arrays.stream(ours.featureImportances().toArray()).max().orElseThrow()).isGreaterThan(0.05);
    savesAndReadsSparkMlsFit(pair);
  }

  @Test
  void aRegressionForestScoresAsSparkMlsForestDoes() throws Exception {
    Pair pair = fits(Map.of("train.estimator", "random_forest", "train.param.numTrees", "10", "train.param.maxDepth",
        "5", "store.task", "regression", "store.label-column", "hours_per_week", "store.features.exclude",
        AdultData.LABEL));
    assertThat(((RandomForestRegressionModel) pair.oursLast()).getNumTrees()).isEqualTo(10);
    double mine = rmse(pair.scored(pair.ours()));
    double theirs = rmse(pair.scored(pair.sparks()));
    assertThat(mine).as("RMSE within 2%% of spark.ml's forest (%.3f)", theirs).isCloseTo(theirs, within(0.02 * theirs));
    double sd = adultTest(TEST_ROWS).agg(org.apache.spark.sql.functions.stddev("hours_per_week")).head().getDouble(0);
    assertThat(mine).isLessThan(0.95 * sd);
  }

  @Test
  void boostedTreesAreTheTreesSparkMlBoosts() throws Exception {
    Pair pair = fits(Map.of("train.estimator", "gbt", "train.param.maxIter", "5", "train.param.maxDepth", "3"));
    GBTClassificationModel ours = (GBTClassificationModel) pair.oursLast();
    GBTClassificationModel sparks = (GBTClassificationModel) pair.sparksLast();
    assertThat(ours.getNumTrees()).isEqualTo(5);
    assertThat(ours.treeWeights()).containsExactly(sparks.treeWeights(), within(1e-12));
    assertThat(ours.totalNumNodes()).isEqualTo(sparks.totalNumNodes());
    assertThat(pair.agreement()).isGreaterThan(0.999);
    assertThat(pair.accuracy(pair.ours())).isGreaterThan(majorityRate(adultTest(TEST_ROWS), AdultData.LABEL) + 0.03);
  }

  private static double rmse(Dataset<Row> scored) {
    return Math.sqrt(scored.selectExpr("avg(pow(" + io.lethe.internal.model.ShardColumns.prediction(0) + " - "
        + io.lethe.types.StoreLayout.LABEL_INDEX_COLUMN + ", 2))").head().getDouble(0));
  }

  /**
   * Breast cancer (569 patients, 30 numeric features) in two shards: a decision tree and boosted
   * trees grown in a task are spark.ml's, predicting the other shard's patients alike, and better
   * than always predicting its majority class.
   */
  @Test
  void onBreastCancerTreesAndBoostedTreesAreSparkMls() throws Exception {
    Dataset<Row> rows = breastCancer();
    for (String estimator : List.of("decision_tree", "gbt")) {
      Path at = dir.resolve(estimator);
      Map<String, String> settings = new HashMap<>(breastCancerSettings(at, estimator));
      if (estimator.equals("gbt")) {
        settings.put("train.param.maxIter", "5");
      }
      LetheConfig config = LetheConfig.load(null, settings);
      Trained trained = ingestAndTrain(config, rows);
      long version = trained.published().shard(0).orElseThrow().storeVersion();
      PipelineModel ours = io.lethe.internal.model.ShardEnsembleModel.load(trained.registry(), trained.published().version())
          .subModel(0);
      PipelineModel sparks = new ShardTrainer(trained.store(), Strategies.settings(config))
          .fit(0, trained.store().readShard(0, version)).model();
      Dataset<Row> other = trained.store().readShard(1, version)
          .withColumn(io.lethe.types.StoreLayout.LABEL_INDEX_COLUMN, trained.store().layout().labelIndex());
      String p = io.lethe.internal.model.ShardColumns.prediction(0);
      List<Row> a = ours.transform(other).orderBy("patient").select(p, io.lethe.types.StoreLayout.LABEL_INDEX_COLUMN)
          .collectAsList();
      List<Row> b = sparks.transform(other).orderBy("patient").select(p).collectAsList();
      assertThat(a).hasSameSizeAs(b).hasSizeGreaterThan(200);
      long same = java.util.stream.IntStream.range(0, a.size()).filter(i -> a.get(i).getDouble(0) == b.get(i).getDouble(0))
          .count();
      assertThat(same).as(estimator + ": the other shard's patients predicted alike").isEqualTo(a.size());
      double accuracy = a.stream().filter(r -> r.getDouble(0) == r.getDouble(1)).count() / (double) a.size();
      assertThat(accuracy).as(estimator).isGreaterThan(majorityRate(other, io.lethe.types.StoreLayout.LABEL_INDEX_COLUMN)
          + 0.2);
    }
  }

  /**
   * Breast cancer in two shards: a forest of 100 trees grown in a task, and a DaRE forest, are as
   * accurate on the other shard's patients as spark.ml's forest of the same shard, within half a
   * point, on average over four seeds (one seed's forests differ by the luck of their draws: a
   * point is 2.6 patients here).
   */
  @Test
  void onBreastCancerForestsInATaskAreAsAccurateAsSparkMlsOverSeeds() {
    Map<String, String> settings = new HashMap<>(breastCancerSettings(dir.resolve("forests"), "random_forest"));
    settings.put("train.param.numTrees", "100");
    LetheConfig config = LetheConfig.load(null, settings);
    Trained trained = ingestAndTrain(config, breastCancer());
    io.lethe.internal.store.ShardedStore store = trained.store();
    long version = store.currentVersion();
    Dataset<Row> other = store.readShard(1, version)
        .withColumn(io.lethe.types.StoreLayout.LABEL_INDEX_COLUMN, store.layout().labelIndex()).cache();
    double[] sum = new double[3];
    List<Long> seeds = List.of(1L, 2L, 3L, 42L);
    for (long seed : seeds) {
      io.lethe.internal.train.TrainSettings s = Strategies.settings(config.with(Map.of(LetheConfig.TRAIN_SEED,
          Long.toString(seed))));
      sum[0] += forestAccuracy(new ShardTrainer(store, s.withEngine(Engine.TASKS)).fitShard(0, version), other);
      sum[1] += forestAccuracy(new ShardTrainer(store, s.withStrategy(Strategies.DARE).withEngine(Engine.TASKS))
          .fitShard(0, version), other);
      sum[2] += forestAccuracy(new ShardTrainer(store, s).fit(0, store.readShard(0, version)), other);
    }
    double tasks = sum[0] / seeds.size();
    double dare = sum[1] / seeds.size();
    double sparks = sum[2] / seeds.size();
    assertThat(100 * (sparks - tasks)).as("points under spark.ml's forest: a task's %.4f, spark.ml's %.4f", tasks,
        sparks).isLessThanOrEqualTo(0.5);
    assertThat(100 * (sparks - dare)).as("points under spark.ml's forest: DaRE's %.4f, spark.ml's %.4f", dare, sparks)
        .isLessThanOrEqualTo(0.5);
    assertThat(tasks).isGreaterThan(majorityRate(other, io.lethe.types.StoreLayout.LABEL_INDEX_COLUMN) + 0.2);
    other.unpersist();
  }

  private static double forestAccuracy(FittedShard fit, Dataset<Row> labelled) {
    Dataset<Row> scored = fit.model().transform(labelled);
    return scored.where(scored.col(io.lethe.internal.model.ShardColumns.prediction(0))
        .equalTo(scored.col(io.lethe.types.StoreLayout.LABEL_INDEX_COLUMN))).count() / (double) labelled.count();
  }

  private static Map<String, String> breastCancerSettings(Path at, String estimator) {
    Map<String, String> settings = new HashMap<>(Map.of(LetheConfig.STORE_SUBJECT_COLUMN, "patient",
        LetheConfig.STORE_LABEL_COLUMN, "benign", LetheConfig.STORE_TASK, "classification",
        LetheConfig.STORE_SHARDS, "2", LetheConfig.STORE_SALT, "lethe-tests", LetheConfig.TRAIN_SCALE, "false",
        LetheConfig.TRAIN_ESTIMATOR, estimator, "train.param.maxDepth", "4"));
    settings.putAll(Map.of(LetheConfig.STORE_PATH, at.resolve("store").toString(), LetheConfig.MODELS_PATH,
        at.resolve("models").toString(), LetheConfig.RUNS_PATH, at.resolve("runs").toString(),
        LetheConfig.LEDGER_PATH, at.resolve("ledger").toString(), LetheConfig.LEDGER_KEY, LEDGER_KEY));
    return settings;
  }

  /** Breast cancer's 569 patients, numbered. */
  private static Dataset<Row> breastCancer() {
    List<org.apache.spark.sql.types.StructField> fields = new java.util.ArrayList<>();
    for (int i = 0; i < 30; i++) {
      fields.add(org.apache.spark.sql.types.DataTypes.createStructField(String.format("x%02d", i),
          org.apache.spark.sql.types.DataTypes.DoubleType, true));
    }
    fields.add(org.apache.spark.sql.types.DataTypes.createStructField("benign",
        org.apache.spark.sql.types.DataTypes.IntegerType, true));
    Dataset<Row> raw = spark().read().schema(org.apache.spark.sql.types.DataTypes.createStructType(fields))
        .csv(home().resolve("data/breast_cancer/breast_cancer.csv.gz").toString());
    // The first line counts rows and features and names the classes: four fields where a row has 31.
    Dataset<Row> rows = raw.where(raw.col("benign").isNotNull()).coalesce(1)
        .withColumn("patient", org.apache.spark.sql.functions.monotonically_increasing_id());
    assertThat(rows.count()).isEqualTo(569);
    return rows;
  }

  private static int categoricalSplits(Node node) {
    if (node instanceof InternalNode n) {
      return (n.split() instanceof org.apache.spark.ml.tree.CategoricalSplit ? 1 : 0) + categoricalSplits(n.leftChild())
          + categoricalSplits(n.rightChild());
    }
    return 0;
  }

  /** The leaves' predictions, left to right. */
  private static double[] leaves(Node node) {
    if (node instanceof InternalNode n) {
      double[] l = leaves(n.leftChild());
      double[] r = leaves(n.rightChild());
      double[] out = java.util.Arrays.copyOf(l, l.length + r.length);
      System.arraycopy(r, 0, out, l.length, r.length);
      return out;
    }
    return new double[] {node.prediction()};
  }
}
