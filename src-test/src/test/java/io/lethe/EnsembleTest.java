package io.lethe;

import static org.apache.spark.sql.functions.col;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.lethe.demo.AdultData;
import io.lethe.internal.model.Evaluation;
import io.lethe.internal.model.ShardEnsembleModel;
import io.lethe.internal.model.SubModelScores;
import io.lethe.internal.registry.ModelRegistry;
import io.lethe.internal.store.ShardedStore;
import io.lethe.internal.train.SingleModel;
import io.lethe.internal.unlearn.Strategies;
import io.lethe.types.EnsembleManifest;
import io.lethe.types.SubModelEntry;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One ensemble of four logistic-regression sub-models on 3,000 Adult rows, trained once for the class. */
class EnsembleTest extends LetheTestBase {
  @TempDir
  static Path dir;

  static ShardedStore store;
  static ModelRegistry registry;
  static EnsembleManifest trained;
  static ShardEnsembleModel ensemble;
  static Dataset<Row> test;

  @BeforeAll
  static void trainEnsemble() {
    Trained fixture = sharedAdult(dir);
    store = fixture.store();
    registry = fixture.registry();
    trained = fixture.published();
    ensemble = ShardEnsembleModel.load(registry, trained.version());
    test = adultTest(2000);
  }

  @Test
  void eachSubModelSawOnlyItsShard() {
    long storeVersion = store.currentVersion();
    Map<Integer, Long> rows = store.rowsPerShard(storeVersion);
    EnsembleManifest manifest = trained;
    assertThat(manifest.shards()).extracting(SubModelEntry::shard).containsExactly(0, 1, 2, 3);
    for (SubModelEntry e : manifest.shards()) {
      assertThat(e.rows()).as("rows of shard %d", e.shard()).isEqualTo(rows.get(e.shard()));
      assertThat(e.storeVersion()).isEqualTo(storeVersion);
    }
    assertThat(manifest.rows()).isEqualTo(2000);
    // Each sub-model's vocabulary comes from its own shard: their one-hot widths differ.
    long distinctWidths = manifest.shards().stream()
        .map(e -> ensemble.subModel(e.shard()).transform(test.limit(1)).select(io.lethe.internal.model.ShardColumns.features(e.shard()))
            .head().<Vector>getAs(0).size())
        .distinct().count();
    assertThat(distinctWidths).as("feature widths fitted per shard").isGreaterThan(1);
  }

  @Test
  void ensembleAccuracyOnHeldOutDataIsCloseToOneModelOnAllRows() {
    double ensembleAccuracy = Evaluation.score(ensemble, test, store.layout());
    SingleModel single = SingleModel.fit(store, Strategies.settings(LetheConfig.defaultsOnly()), store.currentVersion());
    assertThat(single.rows()).isEqualTo(2000);
    double singleAccuracy = Evaluation.score(single.model(), test, store.layout());
    assertThat(ensembleAccuracy).as("ensemble accuracy").isGreaterThan(0.78);
    assertThat(ensembleAccuracy).as("ensemble vs single model").isCloseTo(singleAccuracy, within(0.03));
    // The same rows held in the driver (a local relation, as the membership audit holds its
    // samples) are scored there, to the same accuracy as spark.ml's evaluator gives.
    Dataset<Row> local = spark().createDataFrame(test.collectAsList(), test.schema());
    assertThat(local.isLocal()).isTrue();
    assertThat(Evaluation.score(ensemble, local, store.layout())).isEqualTo(ensembleAccuracy);
    assertThat(Evaluation.score(single.model(), local, store.layout())).isEqualTo(singleAccuracy);
  }

  @Test
  void loadsSharingAMapReadEachSubModelOnce() {
    Map<org.apache.hadoop.fs.Path, org.apache.spark.ml.PipelineModel> read = new java.util.HashMap<>();
    ShardEnsembleModel first = ShardEnsembleModel.load(registry, trained.version(), read);
    assertThat(read).hasSize(4);
    ShardEnsembleModel second = ShardEnsembleModel.load(registry, trained.version(), read);
    assertThat(read).hasSize(4);
    for (int shard = 0; shard < 4; shard++) {
      assertThat(second.subModel(shard)).isSameAs(first.subModel(shard));
      assertThat(ShardEnsembleModel.load(registry, trained.version()).subModel(shard))
          .isNotSameAs(first.subModel(shard));
    }
  }

  @Test
  void saveAndLoadRoundTripPredictsIdentically() throws Exception {
    String path = dir.resolve("saved-ensemble").toString();
    ensemble.setAggregation("weighted");
    try {
      ensemble.write().save(path);
    } finally {
      ensemble.setAggregation("soft");
    }
    ShardEnsembleModel loaded = ShardEnsembleModel.load(path);
    assertThat(loaded.getOrDefault(loaded.aggregation())).isEqualTo("weighted");
    assertThat(loaded.uid()).isEqualTo(ensemble.uid());
    List<Row> expected = ensemble.copy(new org.apache.spark.ml.param.ParamMap()).setAggregation("weighted")
        .transform(test).select(AdultData.SUBJECT, "prediction", "probability").orderBy(AdultData.SUBJECT).collectAsList();
    List<Row> actual = loaded.transform(test).select(AdultData.SUBJECT, "prediction", "probability")
        .orderBy(AdultData.SUBJECT).collectAsList();
    assertThat(actual).isEqualTo(expected);

    // A save made before the class moved under io.lethe.internal still loads; another class's does not.
    for (String className : List.of("io.lethe.model.ShardEnsembleModel", "org.example.Other")) {
      java.nio.file.Path copy = dir.resolve("saved-as-" + className);
      org.apache.commons.io.FileUtils.copyDirectory(new java.io.File(path), copy.toFile());
      try (var files = java.nio.file.Files.walk(copy.resolve("metadata"))) {
        for (java.nio.file.Path f : files.filter(java.nio.file.Files::isRegularFile).toList()) {
          if (f.getFileName().toString().endsWith(".crc")) {
            java.nio.file.Files.delete(f); // the checksum of the text before the edit
          } else if (f.getFileName().toString().startsWith("part-")) {
            java.nio.file.Files.writeString(f, java.nio.file.Files.readString(f)
                .replace(ShardEnsembleModel.class.getName(), className));
          }
        }
      }
      if (className.startsWith("io.lethe")) {
        assertThat(ShardEnsembleModel.load(copy.toString()).getOrDefault(loaded.aggregation())).isEqualTo("weighted");
      } else {
        assertThatThrownBy(() -> ShardEnsembleModel.load(copy.toString()))
            .isInstanceOf(io.lethe.CorruptRegistryException.class).hasMessageContaining("org.example.Other");
      }
    }
  }

  @Test
  void itIsAPipelineStageThatSavesAndLoadsInsideAPipelineModel() throws Exception {
    PipelineModel pipeline = new Pipeline().setStages(new PipelineStage[] {ensemble}).fit(test);
    String path = dir.resolve("pipeline").toString();
    pipeline.write().overwrite().save(path);
    PipelineModel loaded = PipelineModel.load(path);
    assertThat(loaded.stages()[0]).isInstanceOf(ShardEnsembleModel.class);
    long disagreements = loaded.transform(test).select(col(AdultData.SUBJECT), col("prediction").as("a"))
        .join(ensemble.transform(test).select(col(AdultData.SUBJECT), col("prediction").as("b")), AdultData.SUBJECT)
        .where(col("a").notEqual(col("b"))).count();
    assertThat(disagreements).isZero();
  }

  @Test
  void fusedScoringGivesExactlyWhatRunningEachSubModelsStagesGives() {
    // Rows the sub-models never saw the like of: missing numbers (imputed), unseen and missing categories.
    Dataset<Row> odd = test.limit(300)
        .withColumn("age", functions.when(col(AdultData.SUBJECT).mod(3).equalTo(0), functions.lit(null).cast("int"))
            .otherwise(col("age")))
        .withColumn("workclass", functions.when(col(AdultData.SUBJECT).mod(5).equalTo(1), functions.lit("Martian"))
            .when(col(AdultData.SUBJECT).mod(5).equalTo(2), functions.lit(null).cast("string"))
            .otherwise(col("workclass")))
        .unionByName(test);
    for (String aggregation : List.of("soft", "hard", "weighted")) {
      ShardEnsembleModel fused = ensemble.copy(new org.apache.spark.ml.param.ParamMap()).setAggregation(aggregation);
      ShardEnsembleModel staged = fused.copy(new org.apache.spark.ml.param.ParamMap()).setFused(false);
      Dataset<Row> a = fused.transform(odd).select(AdultData.SUBJECT, "prediction", "probability", "rawPrediction");
      Dataset<Row> b = staged.transform(odd).select(AdultData.SUBJECT, "prediction", "probability", "rawPrediction");
      assertThat(a.count()).isEqualTo(2300);
      assertThat(a.exceptAll(b).count()).as("rows scored differently (%s)", aggregation).isZero();
      assertThat(b.exceptAll(a).count()).as("rows scored differently (%s)", aggregation).isZero();
    }
    // The fused plan is one function over the raw columns, not the sub-models' stage columns.
    String plan = ensemble.transform(test).queryExecution().analyzed().toString();
    assertThat(plan).doesNotContain(io.lethe.internal.model.ShardColumns.features(0));
  }

  @Test
  void eachSubModelsProbabilityOfTheTrueClassIsWhatItsOwnStagesGive() {
    // The membership attacks' scores: every sub-model's probability of each row's label, in one pass.
    String label = io.lethe.types.StoreLayout.LABEL_INDEX_COLUMN;
    Dataset<Row> rows = test.limit(300).withColumn(label, store.layout().labelIndex());
    List<Integer> shards = trained.shards().stream().map(SubModelEntry::shard).toList();
    Dataset<Row> fused = SubModelScores.trueClassProbabilities(rows, shards, ensemble::subModel, label, "p");
    assertThat(fused.queryExecution().analyzed().toString()).as("one function, not the stages")
        .doesNotContain(io.lethe.internal.model.ShardColumns.features(shards.get(0)));
    // A pipeline outside what the fused scorer compiles (a stage before the sub-model's) runs its stages.
    List<PipelineModel> wrapped = shards.stream().map(s -> new Pipeline().setStages(new PipelineStage[] {
        new org.apache.spark.ml.feature.SQLTransformer().setStatement("SELECT * FROM __THIS__"), ensemble.subModel(s)})
        .fit(rows)).toList();
    Dataset<Row> staged = SubModelScores.trueClassProbabilities(rows, shards, s -> wrapped.get(shards.indexOf(s)),
        label, "p");
    Map<Object, List<Double>> a = byPerson(fused);
    Map<Object, List<Double>> b = byPerson(staged);
    assertThat(a).hasSize(300).isEqualTo(b);
    for (int i = 0; i < shards.size(); i++) {
      int shard = shards.get(i);
      int at = i;
      for (Row r : ensemble.subModel(shard).transform(rows).select(col(AdultData.SUBJECT), col(label),
          col(io.lethe.internal.model.ShardColumns.probability(shard))).collectAsList()) {
        double expected = r.<Vector>getAs(2).apply((int) r.getDouble(1));
        assertThat(a.get(r.get(0)).get(at)).as("shard %d, person %s", shard, r.get(0)).isEqualTo(expected);
      }
    }
  }

  private static Map<Object, List<Double>> byPerson(Dataset<Row> scored) {
    Map<Object, List<Double>> out = new java.util.HashMap<>();
    scored.select(col(AdultData.SUBJECT), col("p")).collectAsList().forEach(r -> out.put(r.get(0), r.getList(1)));
    return out;
  }

  @Test
  void outputsAreProbabilitiesAndHardVoteCountsVotes() {
    Row soft = ensemble.transform(test.limit(1)).select("prediction", "probability", "rawPrediction").head();
    Vector p = soft.getAs(1);
    assertThat(p.size()).isEqualTo(2);
    assertThat(p.apply(0) + p.apply(1)).isCloseTo(1.0, within(1e-9));
    assertThat(soft.getDouble(0)).isEqualTo((double) p.argmax());

    ShardEnsembleModel hard = ensemble.copy(new org.apache.spark.ml.param.ParamMap()).setAggregation("hard");
    List<Row> votes = hard.transform(test.limit(50)).select("rawPrediction", "probability").collectAsList();
    for (Row r : votes) {
      Vector raw = r.getAs(0);
      assertThat(raw.apply(0) + raw.apply(1)).as("votes of 4 sub-models").isEqualTo(4.0);
      assertThat(((Vector) r.getAs(1)).apply(1)).isEqualTo(raw.apply(1) / 4.0);
    }
    assertThat(ensemble.transform(test).columns()).noneMatch(c -> c.startsWith(io.lethe.internal.model.ShardColumns.PREFIX));
  }
}
