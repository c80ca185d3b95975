package io.lethe;

import static org.assertj.core.api.Assertions.assertThat;

import io.lethe.internal.engine.DareForest;
import io.lethe.internal.engine.LocalTrees;
import io.lethe.internal.engine.ShardMatrix;
import io.lethe.internal.model.ShardEnsembleModel;
import io.lethe.internal.registry.ModelRegistry;
import io.lethe.internal.train.Engine;
import io.lethe.types.EnsembleManifest;
import io.lethe.types.ForgetRequest;
import io.lethe.types.ForgetResult;
import io.lethe.types.ShardUnlearning;
import io.lethe.types.SubModelEntry;
import io.lethe.types.VerifyReport;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import java.util.stream.IntStream;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.classification.RandomForestClassificationModel;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * DaRE's deletion on real data (Adult): after rows are deleted, one at a time and in batches, the
 * forest is the one a DaRE training of the remaining rows grows for the same seed, node for node,
 * for two classes, for six, and for regression, with every node greedy and with random nodes at
 * the top; and a deletion regrows only part of the forest. Through a forget run: the strategy
 * updates the hit shards' forests, verify's retrain grows the same trees, and stale trees fail it.
 */
class DareTest extends LetheTestBase {
  @TempDir
  Path dir;

  private static final int ROWS = 1500;
  private static final String[] NUMERIC = {"age", "fnlwgt", "education_num", "capital_gain", "capital_loss",
      "hours_per_week"};
  private static final String[] CATEGORICAL = {"workclass", "marital_status", "occupation", "relationship", "race",
      "sex"};

  /** Adult's first rows as dense features (numeric, then one-hot categories), with the label a column gives. */
  private record Data(double[][] x, double[] y, int width) {
    /** The columns' feature ids: their positions, which never move here. */
    long[] ids() {
      return java.util.stream.LongStream.range(0, width).toArray();
    }

    ShardMatrix matrix(int[] rows) {
      int[] start = new int[rows.length + 1];
      List<Integer> columns = new ArrayList<>();
      List<Double> values = new ArrayList<>();
      for (int i = 0; i < rows.length; i++) {
        start[i] = columns.size();
        for (int f = 0; f < width; f++) {
          if (x[rows[i]][f] != 0.0) {
            columns.add(f);
            values.add(x[rows[i]][f]);
          }
        }
      }
      start[rows.length] = columns.size();
      double[] labels = new double[rows.length];
      for (int i = 0; i < rows.length; i++) {
        labels[i] = y[rows[i]];
      }
      return new ShardMatrix(rows.length, width, start, columns.stream().mapToInt(Integer::intValue).toArray(),
          values.stream().mapToDouble(Double::doubleValue).toArray(), labels);
    }
  }

  /** The label: income (2 classes), relationship (6) or hours per week (regression); it is not a feature. */
  private static Data adult(String label, boolean regression) {
    List<Row> rows = adultTrain(ROWS).orderBy("person_id").collectAsList();
    Map<String, Map<String, Integer>> categories = new LinkedHashMap<>();
    for (String c : CATEGORICAL) {
      if (!c.equals(label)) {
        categories.put(c, new LinkedHashMap<>());
        for (Row r : rows) {
          String v = r.getAs(c);
          categories.get(c).putIfAbsent(v == null ? "" : v, categories.get(c).size());
        }
      }
    }
    List<String> numeric = Arrays.stream(NUMERIC).filter(c -> !c.equals(label)).toList();
    int width = numeric.size() + categories.values().stream().mapToInt(Map::size).sum();
    double[][] x = new double[rows.size()][width];
    double[] y = new double[rows.size()];
    Map<String, Integer> classes = new LinkedHashMap<>();
    for (int i = 0; i < rows.size(); i++) {
      Row r = rows.get(i);
      int at = 0;
      for (String c : numeric) {
        x[i][at++] = ((Number) r.getAs(c)).doubleValue();
      }
      for (Map.Entry<String, Map<String, Integer>> c : categories.entrySet()) {
        String v = r.getAs(c.getKey());
        x[i][at + c.getValue().get(v == null ? "" : v)] = 1.0;
        at += c.getValue().size();
      }
      Object value = r.getAs(label);
      y[i] = regression ? ((Number) value).doubleValue() : classes.computeIfAbsent(value.toString(), k -> classes.size());
    }
    return new Data(x, y, width);
  }

  private static DareForest.Spec spec(int classes, int randomDepth) {
    LocalTrees.Spec trees = new LocalTrees.Spec(classes, classes == 0 ? "variance" : "gini", 7, 32, 2, 0.0, 0.0, 4, 1.0,
        false, "auto", 42L, 0, 0.0, "");
    return new DareForest.Spec(trees, 10, randomDepth);
  }

  /**
   * Deletes rows one at a time, then in batches of 10 and 50, and after each compares the forest
   * with a training of the remaining rows. Returns the share of the forest regrown per deletion.
   */
  private static List<Double> deletesExactly(Data data, DareForest.Spec spec, double tolerance) {
    TreeSet<Integer> left = new TreeSet<>();
    IntStream.range(0, data.x().length).forEach(left::add);
    DareForest forest = DareForest.fit(data.matrix(rows(left)), data.ids(), spec);
    Random random = new Random(7);
    List<Double> regrown = new ArrayList<>();
    for (int batch : new int[] {1, 1, 1, 1, 1, 1, 1, 1, 10, 50}) {
      List<Integer> pool = new ArrayList<>(left);
      int[] gone = new int[batch];
      for (int i = 0; i < batch; i++) {
        gone[i] = pool.remove(random.nextInt(pool.size()));
        left.remove(gone[i]);
      }
      int[] remaining = rows(left);
      DareForest.Deletion d = forest.delete(data.matrix(gone), data.ids(), () -> data.matrix(remaining), data.ids());
      assertThat(d.rows()).isEqualTo(batch);
      assertThat(d.nodesVisited()).as("nodes on the deleted rows' paths").isPositive();
      DareForest scratch = DareForest.fit(data.matrix(remaining), data.ids(), spec);
      assertThat(forest.sameAs(scratch, tolerance))
          .as("after deleting %d row(s), %d left: the forest a training of the remaining rows grows", batch, left.size())
          .isTrue();
      // As spark.ml's models, too.
      LocalTrees.Forest ours = forest.toForest(data.ids());
      LocalTrees.Forest theirs = scratch.toForest(data.ids());
      for (int t = 0; t < ours.trees().length; t++) {
        assertThat(ours.trees()[t].numDescendants()).isEqualTo(theirs.trees()[t].numDescendants());
      }
      regrown.add(d.shareRebuilt());
    }
    // Round trip through the state file's bytes.
    assertThat(DareForest.fromBytes(forest.toBytes()).sameAs(forest, 0.0)).isTrue();
    return regrown;
  }

  private static int[] rows(TreeSet<Integer> left) {
    return left.stream().mapToInt(Integer::intValue).toArray();
  }

  @Test
  void twoClassesDeleteExactlyAndRegrowOnlyPartOfTheForest() {
    List<Double> regrown = deletesExactly(adult("income", false), spec(2, 0), 0.0);
    assertThat(regrown.subList(0, 8).stream().mapToDouble(Double::doubleValue).average().orElseThrow())
        .as("share of the forest regrown by deleting one row").isLessThan(0.5);
  }

  @Test
  void sixClassesDeleteExactly() {
    deletesExactly(adult("relationship", false), spec(6, 0), 0.0);
  }

  @Test
  void regressionDeletesExactlyUpToTheRoundingOfItsSums() {
    deletesExactly(adult("hours_per_week", true), spec(0, 0), 1e-9);
  }

  @Test
  void randomNodesAtTheTopDeleteExactly() {
    deletesExactly(adult("income", false), spec(2, 2), 0.0);
  }

  @Test
  void withScaledFeaturesDareSaysWhyAndForgettingRetrains() {
    // train.scale is on by default: a scaler's standard deviations move with every deletion.
    LetheConfig config = adultConfig(2, dir.resolve("scaled"), Map.of("train.estimator", "random_forest",
        "train.param.numTrees", "3", "train.param.maxDepth", "4", "forget.strategy.random_forest", "dare",
        LetheConfig.FORGET_PURGE, "false"));
    Trained trained = ingestAndTrain(config, adultTrain(1200));
    SubModelEntry e = trained.published().shard(0).orElseThrow();
    assertThat(trained.registry().hasStateFile(trained.published().version(), e, DareForest.FILE_NAME))
        .as("no DaRE statistics kept where DaRE cannot apply").isFalse();
    ForgetResult result = forgetter(trained, config).execute(ForgetRequest.ofSubjects(List.of("7")));
    assertThat(result.unlearning()).singleElement().satisfies(u -> {
      assertThat(u.strategy()).isEqualTo("shard-retrain");
      assertThat(u.detail()).contains("set train.scale=false");
    });
  }

  @Test
  void theForestDoesNotDependOnTheColumnsOrder() {
    // A category's column moves when the categories' order does: DaRE names features, not columns.
    Data data = adult("income", false);
    int[] all = IntStream.range(0, data.x().length).toArray();
    int w = data.width();
    double[][] reversed = new double[data.x().length][w];
    for (int r = 0; r < reversed.length; r++) {
      for (int f = 0; f < w; f++) {
        reversed[r][f] = data.x()[r][w - 1 - f];
      }
    }
    Data other = new Data(reversed, data.y(), w);
    long[] otherIds = new long[w];
    for (int f = 0; f < w; f++) {
      otherIds[f] = data.ids()[w - 1 - f];
    }
    DareForest a = DareForest.fit(data.matrix(all), data.ids(), spec(2, 1));
    DareForest b = DareForest.fit(other.matrix(all), otherIds, spec(2, 1));
    assertThat(a.sameAs(b, 0.0)).isTrue();
    // Rows deleted in one column order, the rest given in the other: still the same forest.
    int[] gone = {3, 300, 900};
    int[] left = IntStream.range(0, all.length).filter(r -> r != 3 && r != 300 && r != 900).toArray();
    a.delete(data.matrix(gone), data.ids(), () -> other.matrix(left), otherIds);
    assertThat(a.sameAs(DareForest.fit(data.matrix(left), data.ids(), spec(2, 1)), 0.0)).isTrue();
  }

  @Test
  void aDeletionChangesTheForestAndATrainingIsTheSameForASeed() {
    Data data = adult("income", false);
    int[] all = IntStream.range(0, data.x().length).toArray();
    DareForest a = DareForest.fit(data.matrix(all), data.ids(), spec(2, 0));
    DareForest b = DareForest.fit(data.matrix(all), data.ids(), spec(2, 0));
    assertThat(a.sameAs(b, 0.0)).as("deterministic for a seed").isTrue();
    // Deleting the rows of one class from a forest leaves a forest unlike the one trained on all rows.
    int[] ones = IntStream.range(0, all.length).filter(r -> data.y()[r] == 1.0).limit(100).toArray();
    int[] others = IntStream.range(0, all.length).filter(r -> Arrays.stream(ones).noneMatch(o -> o == r)).toArray();
    a.delete(data.matrix(ones), data.ids(), () -> data.matrix(others), data.ids());
    assertThat(a.sameAs(b, 0.0)).as("a forest that deleted rows is not the one trained with them").isFalse();
    LocalTrees.Spec other = new LocalTrees.Spec(2, "gini", 7, 32, 2, 0.0, 0.0, 4, 1.0, false, "auto", 43L, 0, 0.0, "");
    assertThat(DareForest.fit(data.matrix(all), data.ids(), new DareForest.Spec(other, 10, 0)).sameAs(b, 0.0))
        .as("another seed grows another forest").isFalse();
  }

  @Test
  void aForgetUnderDarePassesVerifyAndTheTreesLeftAsTheyWereFailIt() {
    LetheConfig config = adultConfig(2, dir, Map.of("train.estimator", "random_forest", "train.param.numTrees", "5",
        "train.param.maxDepth", "6", "forget.strategy.random_forest", "dare", LetheConfig.TRAIN_SCALE, "false",
        LetheConfig.FORGET_PURGE, "false"));
    Trained trained = ingestAndTrain(config, adultTrain(2000));
    EnsembleManifest before = trained.published();
    ModelRegistry registry = trained.registry();
    for (SubModelEntry e : before.shards()) {
      assertThat(e.engine()).as("grown in a task").isEqualTo(Engine.TASKS.id());
      assertThat(registry.hasStateFile(before.version(), e, DareForest.FILE_NAME)).as("DaRE's statistics kept").isTrue();
      assertThat(registry.hasStateFile(before.version(), e, ModelRegistry.STATISTICS_FILE)).isTrue();
    }
    assertThat(io.lethe.internal.train.ShardTrainer.estimatorModel(ShardEnsembleModel.load(registry, before.version()).subModel(0)))
        .isInstanceOf(RandomForestClassificationModel.class);

    // What each shard held before the forget (retired by it): the broken case below publishes it again.
    ShardEnsembleModel beforeModels = ShardEnsembleModel.load(registry, before.version());
    Map<Integer, Map<String, Object>> beforeState = new java.util.HashMap<>();
    for (SubModelEntry e : before.shards()) {
      beforeState.put(e.shard(), Map.of(
          DareForest.FILE_NAME, registry.stateFile(before.version(), e, DareForest.FILE_NAME, DareForest.Saved.class)
              .orElseThrow(),
          ModelRegistry.STATISTICS_FILE, registry.stateFile(before.version(), e, ModelRegistry.STATISTICS_FILE,
              io.lethe.internal.engine.ShardStatistics.class).orElseThrow()));
    }
    List<java.nio.file.Path> trainedState = before.shards().stream().map(e -> java.nio.file.Path.of(
        registry.subModelPath(before.version(), e).toUri()).resolve(DareForest.FILE_NAME)).toList();
    assertThat(trainedState).allSatisfy(f -> assertThat(f).exists());
    ForgetResult result = forgetter(trained, config).execute(ForgetRequest.ofSubjects(List.of("21", "400", "1333")));
    assertThat(result.unlearning()).isNotEmpty().allSatisfy(u -> {
      assertThat(u.strategy()).as(u.detail()).isEqualTo("dare");
      assertThat(u.exact()).isTrue();
      assertThat(u.rowsRemoved()).isPositive();
      assertThat(u.detail()).contains("deleted").contains("node(s)");
    });
    assertThat(result.unlearning().stream().mapToLong(ShardUnlearning::rowsRemoved).sum()).isEqualTo(3);
    assertThat(result.unlearning()).allSatisfy(u -> assertThat(u.figures()).containsKeys("updateSeconds",
        "shareRebuilt", "nodesVisited"));
    // The statistics that counted the deleted rows went with the sub-models the forget retired.
    for (ShardUnlearning u : result.unlearning()) {
      assertThat(trainedState.get(u.shard())).as("shard %d's DaRE statistics from before the forget", u.shard())
          .doesNotExist();
    }
    EnsembleManifest after = registry.latest().orElseThrow();
    for (ShardUnlearning u : result.unlearning()) {
      SubModelEntry e = after.shard(u.shard()).orElseThrow();
      assertThat(e.strategy()).isEqualTo("dare");
      assertThat(registry.hasStateFile(after.version(), e, DareForest.FILE_NAME)).isTrue();
    }

    // The updated forests load and score in plain spark.ml, as Lethe reads them.
    for (ShardUnlearning u : result.unlearning()) {
      PipelineModel loaded = readsAsSparkDoes(registry.subModelPath(after.version(), after.shard(u.shard())
          .orElseThrow()), adultTest(200));
      assertThat(io.lethe.internal.train.ShardTrainer.estimatorModel(loaded)).isInstanceOf(RandomForestClassificationModel.class);
      assertThat(((RandomForestClassificationModel) io.lethe.internal.train.ShardTrainer.estimatorModel(loaded))
          .featureImportances().size()).isPositive();
    }
    io.lethe.internal.verify.Verifier verifier = io.lethe.api.Lethe.get(spark(), config).internals().verifier();
    VerifyReport report = verifier.verify(result.batchId(), adultTest(600));
    assertThat(report.checks()).allSatisfy(c -> assertThat(c.passed()).as(c.id() + ": " + c.finding()).isTrue());
    assertThat(report.retrain()).isNotEmpty().allSatisfy(r -> {
      assertThat(r.sameTrees()).as("the retrain, grown DaRE's way, holds the same trees").isTrue();
      assertThat(r.agreement()).isEqualTo(1.0);
    });
    assertThat(report.unlearning()).allSatisfy(u -> assertThat(u.strategy()).isEqualTo("dare"));

    // Broken: the rows are deleted, but a hit shard publishes the trees it had before, as if DaRE had updated them.
    int hit = result.unlearning().get(0).shard();
    SubModelEntry published = after.shard(hit).orElseThrow();
    SubModelEntry old = before.shard(hit).orElseThrow();
    PipelineModel stale = beforeModels.subModel(hit);
    SubModelEntry staleEntry = registry.saveSubModel(hit, published.storeVersion(), stale, old.rows(), old.seed(), 0.0,
        "dare", Engine.TASKS.id(), beforeState.get(hit));
    List<SubModelEntry> shards = new ArrayList<>(after.shards().stream().filter(e -> e.shard() != hit).toList());
    shards.add(staleEntry);
    registry.publish(after.withShards(shards));
    VerifyReport broken = verifier.verify(result.batchId(), adultTest(600));
    VerifyReport.Check equivalence = broken.checks().stream().filter(c -> c.id().equals("retrain.equivalence"))
        .findFirst().orElseThrow();
    assertThat(equivalence.passed()).as(equivalence.finding()).isFalse();
    assertThat(broken.retrain()).filteredOn(r -> r.shard() == hit).singleElement()
        .satisfies(r -> assertThat(r.sameTrees()).isFalse());
    assertThat(broken.passed()).isFalse();
  }
}
