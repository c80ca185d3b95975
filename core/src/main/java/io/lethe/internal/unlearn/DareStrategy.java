package io.lethe.internal.unlearn;

import io.lethe.internal.engine.DareForest;
import io.lethe.internal.engine.FeatureSpec;
import io.lethe.internal.engine.Features;
import io.lethe.internal.engine.LocalFit;
import io.lethe.internal.engine.LocalTrees;
import io.lethe.internal.engine.ShardMatrix;
import io.lethe.internal.engine.ShardRows;
import io.lethe.internal.engine.ShardStatistics;
import io.lethe.internal.registry.ModelRegistry;
import io.lethe.internal.store.ShardReader;
import io.lethe.internal.store.ShardedStore;
import io.lethe.internal.train.Engine;
import io.lethe.internal.train.Estimators;
import io.lethe.internal.train.ExactStatistics;
import io.lethe.internal.train.ShardOutcome;
import io.lethe.internal.train.ShardPipeline;
import io.lethe.internal.train.ShardUnlearn;
import io.lethe.internal.train.StatisticsModel;
import io.lethe.internal.train.Strategy;
import io.lethe.internal.train.TrainSettings;
import io.lethe.types.ShardUnlearning;
import io.lethe.types.StoreLayout;
import io.lethe.types.SubModelEntry;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.sql.Row;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * DaRE (Brophy and Lowd, ICML 2021) for random forests and decision trees, any number of classes
 * and regression: training grows each shard's trees in its task with {@link DareForest} and keeps,
 * beside the sub-model, the statistics that deletion needs and the shard's statistics. A forget
 * reads the rows that left the shard (the change feed), walks their paths down every tree,
 * subtracting them, and grows again only the subtrees whose split changed, from the shard's
 * remaining rows. Exact: the trees a DaRE training of the remaining rows grows for the same seed.
 */
final class DareStrategy implements Strategy {
  private static final Logger LOG = LoggerFactory.getLogger(DareStrategy.class);
  /** DaRE's k: the thresholds drawn per feature at a greedy node. */
  static final int CANDIDATES = 25;
  /** DaRE's d_rmax: the depths at the top of each tree that split at random (0: every node greedy). */
  static final int RANDOM_DEPTH = 0;

  @Override
  public String id() {
    return "dare";
  }

  @Override
  public boolean exact() {
    return true;
  }

  @Override
  public String guarantee() {
    return "exact: the trees a DaRE training of the shard's remaining rows grows for the same seed (the same"
        + " splits and statistics; for regression up to the rounding of the label sums subtracted)";
  }

  @Override
  public List<String> estimators() {
    return List.of("decision_tree", "random_forest");
  }

  @Override
  public Optional<String> unsupported(StoreLayout layout, TrainSettings settings) {
    if (settings.scale()) {
      return Optional.of("DaRE splits the features' own values, which a scaler moves with every deletion: set"
          + " train.scale=false (trees do not need scaling)");
    }
    Estimator<?> e = ShardPipeline.estimator(layout, settings, 0);
    if (e.hasParam("weightCol") && e.isDefined(e.getParam("weightCol"))
        && !((String) e.getOrDefault(e.getParam("weightCol"))).isEmpty()) {
      return Optional.of("DaRE does not weigh rows (weightCol is set)");
    }
    if ((Double) e.getOrDefault(e.getParam("minWeightFractionPerNode")) > 0) {
      return Optional.of("DaRE does not keep minWeightFractionPerNode, a fraction of the shard's size");
    }
    return Optional.empty();
  }

  /** Its trees grow in the shard's task, but its own way: a retrain of its sub-model must grow them so too. */
  @Override
  public boolean ownTraining() {
    return true;
  }

  @Override
  public boolean sameModelForSeed() {
    return true;
  }

  @Override
  public LocalFit localFit(LocalFit usual) {
    return usual instanceof LocalTrees.Spec trees && trees.maxIter() == 0
        ? new DareForest.Spec(trees, CANDIDATES, RANDOM_DEPTH) : usual;
  }

  @Override
  public List<String> stateFiles() {
    return List.of(ModelRegistry.STATISTICS_FILE, DareForest.FILE_NAME);
  }

  @Override
  public ShardOutcome unlearn(ShardUnlearn u) {
    long start = System.nanoTime();
    Optional<DareForest.Saved> saved = u.kept(DareForest.FILE_NAME, DareForest.Saved.class);
    Optional<ShardStatistics> kept = u.keptStatistics();
    if (saved.isEmpty() || kept.isEmpty() || !u.sameEstimator()) {
      return ShardOutcome.retrain("fallback: the published sub-model keeps no DaRE statistics");
    }
    ShardedStore store = u.store();
    StoreLayout layout = store.layout();
    int shard = u.shard();
    long from = u.published().storeVersion();
    ShardStatistics empty = ExactStatistics.empty(layout);
    // The rows that left the shard since its sub-model, and whether any came: one pass over the change feed.
    List<Row> removed = new ArrayList<>();
    long added = 0;
    store.spark().sparkContext().setJobDescription("lethe: the rows shard " + shard + " lost, for DaRE");
    try {
      for (Row row : ExactStatistics.changedRows(store, shard, from, u.storeVersion()).collectAsList()) {
        if (row.getBoolean(row.size() - 1)) {
          removed.add(row);
        } else {
          added++;
        }
      }
    } catch (Exception unreadable) { // Spark and Delta throw checked exceptions through Scala
      return ShardOutcome.retrain("fallback: the change data since the sub-model cannot be read ("
          + unreadable.getClass().getSimpleName() + ")");
    }
    if (added > 0) {
      return ShardOutcome.retrain("fallback: " + added + " row(s) came into the shard since its sub-model; DaRE"
          + " deletes rows, it does not add them");
    }
    ShardRows gone = ShardRows.read(removed.iterator(), empty.copy());
    ShardStatistics before = kept.get();
    ShardStatistics after = before.copy().minus(gone.statistics());
    if (after.totalRows() == 0) {
      return ShardOutcome.retrain("no rows left");
    }
    StatisticsModel statisticsModel = u.statisticsModel().get();
    FeatureSpec spec = statisticsModel.featureSpec();
    Features trained = StatisticsModel.features(before, spec);
    Features now = StatisticsModel.features(after, spec);
    Optional<String> moved = trained.unlike(now, after, spec);
    if (moved.isPresent()) {
      return ShardOutcome.retrain("fallback: " + moved.get() + ", so the values the trees split on moved");
    }
    DareForest forest;
    try {
      forest = DareForest.fromBytes(saved.get().forest());
    } catch (IllegalArgumentException e) {
      return ShardOutcome.retrain("fallback: " + e.getMessage());
    }
    if (!forest.drawsAlike(now.width())) {
      return ShardOutcome.retrain("fallback: a category left the shard, and with it the number of features each"
          + " node draws");
    }
    long read = System.nanoTime();
    long[] remainingRows = {-1};
    double[] readSeconds = {0};
    Supplier<ShardMatrix> remaining = () -> {
      long t = System.nanoTime();
      ShardRows rows = ShardRows.read(rowsOf(store, shard, u.storeVersion()), empty.copy());
      remainingRows[0] = rows.size();
      ShardMatrix m = rows.featurize(now);
      readSeconds[0] = (System.nanoTime() - t) / 1e9;
      return m;
    };
    DareForest.Deletion deletion = forest.delete(gone.featurize(trained), trained.columnIds(), remaining,
        now.columnIds());
    if (remainingRows[0] >= 0 && remainingRows[0] != after.totalRows()) {
      // The change feed and the shard disagree (a commit the feed does not show): grow it from scratch.
      return ShardOutcome.retrain("fallback: the shard holds " + remainingRows[0] + " rows, its statistics say "
          + after.totalRows());
    }
    long updated = System.nanoTime();
    TrainSettings settings = u.settings();
    Estimator<?> estimator = ShardPipeline.estimator(layout, settings, shard);
    List<Transformer> stages = new ArrayList<>(List.of(statisticsModel.features(after, shard)));
    stages.add(Estimators.localSolver(settings.estimator()).orElseThrow()
        .model(estimator, forest.toForest(now.columnIds()), layout.labelClasses().size()));
    PipelineModel model = new PipelineModel(Identifiable.randomUID("pipeline"), stages.toArray(new Transformer[0]));
    SubModelEntry entry = u.registry().saveSubModel(shard, u.storeVersion(), model, after.totalRows(),
        settings.seedFor(shard), 0, id(), Engine.TASKS.id(),
        Map.of(ModelRegistry.STATISTICS_FILE, after, DareForest.FILE_NAME, new DareForest.Saved(forest.toBytes())));
    double seconds = (System.nanoTime() - start) / 1e9;
    double update = (updated - read) / 1e9 - readSeconds[0];
    String detail = String.format("deleted %d row(s) from %d node(s); %d recomputed from their rows, %d subtree(s)"
        + " grown again (%.1f%% of the forest's nodes)%s; the update took %.3f s", deletion.rows(),
        deletion.nodesVisited(), deletion.nodesRecomputed(), deletion.subtreesRebuilt(),
        100 * deletion.shareRebuilt(), deletion.readRows()
            ? String.format(", from the shard's %d remaining rows read in %.2f s", remainingRows[0], readSeconds[0])
            : ", with no row read", update);
    LOG.info("Shard {}: {} in {} s", shard, detail, String.format("%.2f", seconds));
    Map<String, Double> figures = new java.util.TreeMap<>(Map.of("updateSeconds", update, "readSeconds", readSeconds[0],
        "nodesVisited", (double) deletion.nodesVisited(), "nodesRecomputed", (double) deletion.nodesRecomputed(),
        "subtreesRebuilt", (double) deletion.subtreesRebuilt(), "shareRebuilt", deletion.shareRebuilt()));
    return ShardOutcome.done(entry.withFitSeconds(seconds), new ShardUnlearning(shard, id(), true, detail,
        deletion.rows(), 0, seconds, null, Engine.TASKS.id(), figures));
  }

  /** The shard's rows at a version, as the statistics read them: through Delta Kernel when it reads them exactly. */
  private static Iterator<Row> rowsOf(ShardedStore store, int shard, long version) {
    Optional<ShardReader> reader = ShardReader.of(store, version, store.read(version).schema());
    if (reader.isPresent()) {
      return reader.get().rows(shard);
    }
    StoreLayout layout = store.layout();
    return store.readShard(shard, version).select(ExactStatistics.columns(layout, layout.labelIndex()))
        .toLocalIterator();
  }

}
