package io.lethe;

import static org.apache.spark.sql.functions.col;
import static org.assertj.core.api.Assertions.assertThat;

import io.lethe.internal.registry.ModelRegistry;
import io.lethe.internal.store.ShardedStore;
import io.lethe.internal.train.Engine;
import io.lethe.internal.train.ShardTrainer;
import io.lethe.internal.train.TrainSettings;
import io.lethe.internal.unlearn.Strategies;
import io.lethe.types.SubModelEntry;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.classification.LinearSVCModel;
import org.apache.spark.ml.classification.LogisticRegressionModel;
import org.apache.spark.ml.feature.StringIndexerModel;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.scheduler.StageInfo;
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
    return Strategies.settings(adultConfig(2, dir, all));
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
  void eachShardIndexesOnlyTheCategoriesItHolds() {
    TrainSettings s = settings(Map.of()).withEngine(Engine.TASKS);
    long version = store.currentVersion();
    ShardTrainer trainer = new ShardTrainer(store, s);
    String[][] first = indexerLabels(trainer.fitShard(0, version).model());
    String[][] second = indexerLabels(trainer.fitShard(1, version).model());
    int column = java.util.List.of(store.layout().categoricalFeatures().toArray()).indexOf("native_country");
    assertThat(first[column]).as("shard 0 lacks countries shard 1 has, and the reverse")
        .isNotEqualTo(second[column]);
    // Held-out people from countries a shard never saw score through its "keep" bucket, as with spark.ml.
    assertSameModel(Map.of("train.param.regParam", "0.1"));
  }

  private static String[][] indexerLabels(PipelineModel model) {
    return Arrays.stream(model.stages()).filter(t -> t instanceof StringIndexerModel)
        .map(t -> ((StringIndexerModel) t).labelsArray()).findFirst().orElseThrow();
  }

  @Test
  void aRetrainOfAShardReproducesItsSubModelExactly() {
    TrainSettings s = settings(Map.of("train.param.regParam", "0.01")).withEngine(Engine.TASKS);
    long version = store.currentVersion();
    LogisticRegressionModel a = (LogisticRegressionModel) ShardTrainer.estimatorModel(
        new ShardTrainer(store, s).fitShard(1, version).model());
    LogisticRegressionModel b = (LogisticRegressionModel) ShardTrainer.estimatorModel(
        new ShardTrainer(store, s).fitShard(1, version).model());
    assertThat(a.coefficientMatrix().toArray()).isEqualTo(b.coefficientMatrix().toArray());
    assertThat(a.interceptVector().toArray()).isEqualTo(b.interceptVector().toArray());
  }

  @Test
  void everyShardFitsInOneSparkJobOfOneTaskPerShard() throws Exception {
    TrainSettings s = settings(Map.of()).withEngine(Engine.TASKS);
    try (JobCounter jobs = new JobCounter()) {
      Map<Integer, Long> rows = store.rowsPerShard(store.currentVersion());
      ModelRegistry registry = new ModelRegistry(spark(), dir.resolve("one-job-models").toString());
      jobs.reset();
      var entries = new ShardTrainer(store, s).train(store.layout().allShards(), store.currentVersion(), registry);
      jobs.drain();
      assertThat(entries).extracting(SubModelEntry::engine).containsOnly("tasks");
      assertThat(entries).extracting(SubModelEntry::rows).containsExactlyInAnyOrderElementsOf(rows.values());
      assertThat(jobs.fitJobs()).as("Spark jobs that fitted shards").isEqualTo(1);
      assertThat(jobs.fitTasks()).as("tasks of the fitting stage: one per shard").isEqualTo(2);
      // Saving wrote spark.ml's layout from the driver: no Spark job but the fit's (and the log's row counts).
      assertThat(jobs.saveJobs()).as("Spark jobs run by the saves").isZero();
      for (SubModelEntry e : entries) {
        PipelineModel loaded = PipelineModel.load(dir.resolve("one-job-models").resolve(e.path().substring(6))
            .toString());
        assertThat(loaded.stages()).hasSize(6);
      }
      // Lethe reads them back with no Spark job either, as the same models spark.ml reads.
      jobs.drain();
      jobs.reset();
      List<PipelineModel> read = new java.util.ArrayList<>();
      for (SubModelEntry e : entries) {
        read.add(io.lethe.internal.registry.PipelineReader.load(new io.lethe.internal.run.HadoopFiles(
            spark().sparkContext().hadoopConfiguration()), registry.subModelPath(0, e)));
      }
      jobs.drain();
      assertThat(jobs.allJobs()).as("Spark jobs run by reading the sub-models").isZero();
      assertThat(read).allSatisfy(m -> assertThat(m.stages()).hasSize(6));
      for (SubModelEntry e : entries) {
        readsAsSparkDoes(registry.subModelPath(0, e), store.readShard(e.shard(), store.currentVersion()));
      }
    }
  }

  @Test
  void variantsOfAShardReadItOncePerTaskAndFitAsTheyWouldAlone() throws Exception {
    // Shadow-model variants (a random 80% of shard 0's rows, each with its own seed), shard 0 as it
    // is, and a control's variant without five of its people: the first five read the same rows.
    TrainSettings s = settings(Map.of()).withEngine(Engine.TASKS);
    long version = store.currentVersion();
    String subject = store.layout().subjectColumn();
    List<String> people = store.readShard(0, version).select(subject).distinct().limit(5).collectAsList().stream()
        .map(r -> String.valueOf(r.get(0))).toList();
    List<ShardTrainer.Variant> variants = new java.util.ArrayList<>();
    for (long seed = 1; seed <= 4; seed++) {
      variants.add(new ShardTrainer.Variant(0, subject, List.of(), new ShardTrainer.AddedRows(List.of(), 0.8, seed)));
    }
    variants.add(new ShardTrainer.Variant(0, subject, List.of(), null));
    variants.add(new ShardTrainer.Variant(0, subject, people, null));
    ShardTrainer trainer = new ShardTrainer(store, s);
    List<ShardTrainer.FittedShard> together;
    try (JobCounter jobs = new JobCounter()) {
      jobs.reset();
      together = trainer.fitEachInTasks(variants, version).orElseThrow();
      jobs.drain();
      // In local mode the variants spread over all cores but one (the driver's work shares them).
      int cores = Math.max(1, spark().sparkContext().defaultParallelism() - 1);
      int most = (variants.size() + cores - 1) / cores;
      assertThat(jobs.fitJobs()).isEqualTo(1);
      assertThat(jobs.fitTasks()).as("tasks: the five variants that read shard 0 whole in runs of %d, then the"
          + " control's", most).isEqualTo((5 + most - 1) / most + 1);
    }
    long rows = store.rowsPerShard(version).get(0);
    assertThat(together.get(4).rows()).isEqualTo(rows);
    assertThat(together.get(5).rows()).isLessThan(rows);
    assertThat(together.subList(0, 4)).allSatisfy(f -> assertThat(f.rows()).isBetween(rows / 2, rows - 1));
    assertThat(together.get(0).rows()).isNotEqualTo(together.get(1).rows());
    for (int i = 0; i < variants.size(); i++) {
      ShardTrainer.FittedShard alone = trainer.fitEachInTasks(List.of(variants.get(i)), version).orElseThrow().get(0);
      LogisticRegressionModel a = (LogisticRegressionModel) ShardTrainer.estimatorModel(together.get(i).model());
      LogisticRegressionModel b = (LogisticRegressionModel) ShardTrainer.estimatorModel(alone.model());
      assertThat(together.get(i).rows()).as("variant %d's rows", i).isEqualTo(alone.rows());
      assertThat(a.coefficientMatrix().toArray()).as("variant %d's coefficients", i)
          .isEqualTo(b.coefficientMatrix().toArray());
      assertThat(a.interceptVector().toArray()).isEqualTo(b.interceptVector().toArray());
    }
    LogisticRegressionModel whole = (LogisticRegressionModel) ShardTrainer.estimatorModel(
        new ShardTrainer(store, s).fitShard(0, version).model());
    assertThat(((LogisticRegressionModel) ShardTrainer.estimatorModel(together.get(4).model())).coefficientMatrix()
        .toArray()).as("shard 0 as it is: its own fit").isEqualTo(whole.coefficientMatrix().toArray());
  }

  /** Counts the Spark jobs that fitted shards in tasks, their result stage's tasks, and jobs run while saving. */
  private static final class JobCounter extends OwnJobs {
    private final AtomicInteger fitJobs = new AtomicInteger();
    private final AtomicInteger fitTasks = new AtomicInteger();
    private final AtomicInteger saveJobs = new AtomicInteger();
    private final AtomicInteger allJobs = new AtomicInteger();

    void reset() {
      fitJobs.set(0);
      fitTasks.set(0);
      saveJobs.set(0);
      allJobs.set(0);
    }

    int allJobs() {
      return allJobs.get();
    }

    int fitJobs() {
      return fitJobs.get();
    }

    int fitTasks() {
      return fitTasks.get();
    }

    int saveJobs() {
      return saveJobs.get();
    }

    @Override
    protected void ownJob(SparkListenerJobStart start) {
      allJobs.incrementAndGet();
      String description = start.properties().getProperty("spark.job.description", "");
      if (description.contains("in tasks")) {
        fitJobs.incrementAndGet();
        StageInfo last = scala.jdk.javaapi.CollectionConverters.asJava(start.stageInfos()).stream()
            .max(java.util.Comparator.comparingInt(StageInfo::stageId)).orElseThrow();
        fitTasks.addAndGet(last.numTasks());
      } else if (description.contains("save")) {
        saveJobs.incrementAndGet();
      }
    }
  }

  @Test
  void autoPicksTheJobsEngineForAShardOverTheTaskMemoryBudget() {
    long version = store.currentVersion();
    Engine.Choice small = new ShardTrainer(store, settings(Map.of("train.task-memory-mb", "1")))
        .chooseEngine(store.layout().allShards(), version);
    assertThat(small.engine()).isEqualTo(Engine.JOBS);
    assertThat(small.reason()).contains("over train.task-memory-mb=1");
    Engine.Choice roomy = new ShardTrainer(store, settings(Map.of())).chooseEngine(store.layout().allShards(), version);
    assertThat(roomy.engine()).isEqualTo(Engine.TASKS);
    assertThat(roomy.reason()).contains("within train.task-memory-mb=1024");
    Engine.Choice perceptron = new ShardTrainer(store, settings(Map.of("train.estimator", "multilayer_perceptron")))
        .chooseEngine(store.layout().allShards(), version);
    assertThat(perceptron.engine()).isEqualTo(Engine.JOBS);
    assertThat(perceptron.reason()).contains("multilayer_perceptron has no local solver");
  }

  @Test
  void tasksRefusesAnEstimatorWithoutALocalSolver() {
    ShardTrainer trainer = new ShardTrainer(store, settings(Map.of("train.estimator", "multilayer_perceptron",
        "train.engine", "tasks")));
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> trainer.chooseEngine(java.util.List.of(0), 0))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("train.engine is tasks, but the estimator multilayer_perceptron");
  }

  @Test
  void emptyAndOneClassShardsFitAsSparkMlFitsThem(@TempDir Path small) {
    // 6 people, one above 50K, in 8 shards: at least 2 shards are empty, and all but one hold one class.
    Dataset<Row> rows = adultTrain(400).where(col("income").equalTo("<=50K")).limit(5)
        .union(adultTrain(400).where(col("income").equalTo(">50K")).limit(1));
    LetheConfig config = adultConfig(8, small, Map.of());
    ShardedStore.ingest(spark(), config.get(LetheConfig.STORE_PATH), rows, config, false);
    ShardedStore few = ShardedStore.open(spark(), config.get(LetheConfig.STORE_PATH));
    TrainSettings s = Strategies.settings(config);
    long version = few.currentVersion();
    Map<Integer, Long> held = few.rowsPerShard(version);
    int empty = few.layout().allShards().stream().filter(k -> !held.containsKey(k)).findFirst().orElseThrow();
    assertThat(new ShardTrainer(few, s.withEngine(Engine.TASKS)).fitShard(empty, version)).isNull();
    String positive = few.read(version).where(col("income").equalTo(">50K")).select("_shard").head().get(0).toString();
    int oneClass = held.keySet().stream().filter(k -> !Integer.toString(k).equals(positive)).findFirst().orElseThrow();
    LogisticRegressionModel mine = (LogisticRegressionModel) ShardTrainer.estimatorModel(
        new ShardTrainer(few, s.withEngine(Engine.TASKS)).fitShard(oneClass, version).model());
    LogisticRegressionModel theirs = (LogisticRegressionModel) ShardTrainer.estimatorModel(
        new ShardTrainer(few, s.withEngine(Engine.JOBS)).fitShard(oneClass, version).model());
    assertThat(mine.interceptVector().toArray()).isEqualTo(theirs.interceptVector().toArray())
        .containsOnly(Double.POSITIVE_INFINITY);
    assertThat(mine.coefficientMatrix().toArray()).isEqualTo(theirs.coefficientMatrix().toArray());
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
