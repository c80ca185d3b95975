package io.lethe.internal.verify;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;

import io.lethe.internal.model.Evaluation;
import io.lethe.internal.model.ShardColumns;
import io.lethe.internal.model.ShardEnsembleModel;
import io.lethe.internal.registry.ModelRegistry;
import io.lethe.internal.store.ShardedStore;
import io.lethe.internal.train.Engine;
import io.lethe.internal.train.Estimators;
import io.lethe.internal.train.ShardTrainer;
import io.lethe.internal.train.Strategy;
import io.lethe.internal.train.TrainSettings;
import io.lethe.internal.unlearn.Strategies;
import io.lethe.types.EnsembleManifest;
import io.lethe.types.StoreLayout;
import io.lethe.types.SubModelEntry;
import io.lethe.types.VerifyReport.Retrain;
import io.lethe.types.VerifyReport.Utility;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeMap;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.ml.tree.ContinuousSplit;
import org.apache.spark.ml.tree.DecisionTreeModel;
import org.apache.spark.ml.tree.InternalNode;
import org.apache.spark.ml.tree.Node;
import org.apache.spark.ml.tree.TreeEnsembleModel;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/** Verify's retrains of the hit shards from scratch, compared with the published sub-models, and the model's utility. */
final class RetrainChecks {
  private static final String PUBLISHED = "__lethe_published_prediction";

  private final ShardedStore store;
  private final ModelRegistry registry;
  private final TrainSettings settings;
  private final VerifySettings verify;

  RetrainChecks(ShardedStore store, ModelRegistry registry, TrainSettings settings, VerifySettings verify) {
    this.store = store;
    this.registry = registry;
    this.settings = settings;
    this.verify = verify;
  }

  Dataset<Row> evaluationRows(Dataset<Row> heldOut) {
    return heldOut != null ? heldOut
        : store.read(store.currentVersion()).drop(StoreLayout.SHARD_COLUMN).limit(verify.sampleRows());
  }

  /**
   * The retrains, and the hit shards that could not be retrained: the rows of the version they were
   * trained on are vacuumed, and the shard's rows changed since.
   */
  record Retrains(List<Retrain> retrains, List<Integer> unreadable) {}

  /** Each hit shard (or the configured number of them) retrained from scratch and compared. */
  Retrains retrains(ShardEnsembleModel published, Set<Integer> hit, Dataset<Row> evaluation) {
    EnsembleManifest manifest = published.manifest();
    List<Retrain> out = new ArrayList<>();
    List<Integer> unreadable = new ArrayList<>();
    for (SubModelEntry e : manifest.shards()) {
      if (!hit.contains(e.shard()) || (verify.retrainShards() > 0 && out.size() >= verify.retrainShards())) {
        continue;
      }
      // The seed the manifest records for this shard, through the settings' per-shard derivation,
      // and the strategy that trained it, which fits it again as it was fitted (a certified model
      // with its own noise, a sliced one with its slices).
      Strategy how = Strategies.trainedBy(file -> registry.hasStateFile(manifest.version(), e, file));
      TrainSettings recorded = settings.asRecorded(manifest.estimator(), manifest.estimatorParams());
      TrainSettings as = new TrainSettings(recorded.estimator(), recorded.params(),
          e.seed() - (settings.seedFor(e.shard()) - settings.seed()), 1, settings.impute(), settings.scale(), how,
          // The engine that fitted the published sub-model: the task engine's fit is deterministic, as is spark.ml's.
          Engine.parse(e.engine()), settings.taskMemoryMb(), recorded.pipeline());
      ShardTrainer trainer = how.retraining(new ShardTrainer(store, as), e.shard(), new Strategy.KeptState() {
        @Override
        public <T> Optional<T> read(String name, Class<T> type) {
          return registry.stateFile(manifest.version(), e, name, type);
        }
      });
      // When the version's files were rewritten since (the purge's REORG) and vacuumed, the
      // rewrite's version holds its rows (REORG changes files, not rows), unless rows were added
      // or deleted in the shard since: then they can no longer be read, and the shard is not retrained.
      OptionalLong readable = store.readableWithSameRows(e.storeVersion(), e.shard());
      if (readable.isEmpty()) {
        unreadable.add(e.shard());
        continue;
      }
      long version = readable.getAsLong();
      ShardTrainer.FittedShard retrain = trainer.fitShard(e.shard(), version);
      if (retrain == null) {
        continue; // the shard has no rows left: nothing to retrain
      }
      PipelineModel mine = published.subModel(e.shard());
      String prediction = ShardColumns.prediction(e.shard());
      // Both models score the same rows in one pass: the published one's prediction is kept as a
      // column and its other outputs dropped, so that the retrain's pipeline can add its own.
      Dataset<Row> scored = mine.transform(evaluation);
      Set<String> inputs = Set.of(evaluation.columns());
      Dataset<Row> withPublished = scored.withColumn(PUBLISHED, col(prediction))
          .drop(Arrays.stream(scored.columns()).filter(c -> !inputs.contains(c)).toArray(String[]::new));
      Row counts = retrain.model().transform(withPublished).agg(count(lit(1)),
          sum(when(col(PUBLISHED).equalTo(col(prediction)), 1).otherwise(0))).head();
      long total = counts.getLong(0);
      double agreement = total == 0 ? 1.0 : counts.getLong(1) / (double) total;
      Transformer theirs = ShardTrainer.estimatorModel(mine);
      Transformer fresh = ShardTrainer.estimatorModel(retrain.model());
      out.add(new Retrain(e.shard(), version, retrain.seed(), retrain.rows(), agreement, parameterDistance(theirs, fresh),
          how.sameModelForSeed() ? sameTrees(theirs, fresh) : null));
    }
    return new Retrains(out, unreadable);
  }

  /**
   * L2 distance of coefficients and intercepts (naive Bayes: log priors, theta and sigma), for
   * models of the same shape; else null.
   */
  static Double parameterDistance(Transformer a, Transformer b) {
    double[] pa = Estimators.parameters(a);
    double[] pb = Estimators.parameters(b);
    if (pa == null || pb == null || pa.length != pb.length) {
      return null;
    }
    return Math.sqrt(Vectors.sqdist(Vectors.dense(pa), Vectors.dense(pb)));
  }

  /** Whether two tree models hold the same trees: every node's split, prediction and statistics (relative 1e-9). */
  static boolean sameTrees(Transformer a, Transformer b) {
    Node[] x = roots(a);
    Node[] y = roots(b);
    if (x == null || y == null || x.length != y.length) {
      return false;
    }
    for (int t = 0; t < x.length; t++) {
      if (!sameNode(x[t], y[t])) {
        return false;
      }
    }
    return true;
  }

  private static Node[] roots(Transformer model) {
    if (model instanceof DecisionTreeModel tree) {
      return new Node[] {tree.rootNode()};
    }
    if (model instanceof TreeEnsembleModel<?> ensemble) {
      return java.util.Arrays.stream(ensemble.trees()).map(DecisionTreeModel::rootNode).toArray(Node[]::new);
    }
    return null;
  }

  private static boolean sameNode(Node a, Node b) {
    if (a.getClass() != b.getClass() || a.prediction() != b.prediction()) {
      return false;
    }
    double[] sa = a.impurityStats().stats();
    double[] sb = b.impurityStats().stats();
    if (sa.length != sb.length) {
      return false;
    }
    for (int i = 0; i < sa.length; i++) {
      if (Math.abs(sa[i] - sb[i]) > 1e-9 * Math.max(1.0, Math.abs(sa[i]))) {
        return false;
      }
    }
    if (a instanceof InternalNode ia && b instanceof InternalNode ib) {
      ContinuousSplit ca = (ContinuousSplit) ia.split();
      ContinuousSplit cb = (ContinuousSplit) ib.split();
      return ca.featureIndex() == cb.featureIndex() && ca.threshold() == cb.threshold()
          && sameNode(ia.leftChild(), ib.leftChild()) && sameNode(ia.rightChild(), ib.rightChild());
    }
    return true;
  }

  Utility utility(ShardEnsembleModel published, Dataset<Row> evaluation, boolean heldOut) {
    StoreLayout layout = store.layout();
    EnsembleManifest manifest = published.manifest();
    double ensemble = Evaluation.score(published, evaluation, layout);
    Map<Integer, Double> perShard = new TreeMap<>();
    for (SubModelEntry e : manifest.shards()) {
      ShardEnsembleModel one = new ShardEnsembleModel(manifest.withShards(List.of(e)),
          List.of(published.subModel(e.shard())));
      perShard.put(e.shard(), Evaluation.score(one, evaluation, layout));
    }
    return new Utility(Evaluation.metricName(layout), heldOut ? "held-out" : "store-sample", evaluation.count(),
        ensemble, perShard);
  }
}
