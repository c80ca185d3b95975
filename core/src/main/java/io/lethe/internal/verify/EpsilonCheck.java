package io.lethe.internal.verify;

import io.lethe.LetheException;
import io.lethe.internal.model.ShardEnsembleModel;
import io.lethe.internal.registry.ModelRegistry;
import io.lethe.internal.store.ShardedStore;
import io.lethe.internal.unlearn.CertifiedEpsilon;
import io.lethe.internal.unlearn.CertifiedLogistic.LabeledVector;
import io.lethe.internal.unlearn.CertifiedRemoval;
import io.lethe.internal.unlearn.CertifiedState;
import io.lethe.types.EnsembleManifest;
import io.lethe.types.StoreLayout;
import io.lethe.types.SubModelEntry;
import io.lethe.types.VerifyReport.Check;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The check {@code certified.epsilon}: for each hit shard whose published sub-model holds a
 * certified-removal state, the epsilon its removal mechanism shows when measured
 * ({@link CertifiedEpsilon}, with the sub-model's penalty, noise and budget, on the shard's current
 * rows, a retained row standing in for the forgotten ones) must not exceed its certificate's.
 */
final class EpsilonCheck {
  private static final Logger LOG = LoggerFactory.getLogger(EpsilonCheck.class);
  /** Confidence of the bounds on the attack's error rates. */
  static final double CONFIDENCE = 0.95;
  /**
   * At most this many certified hit shards are measured (the lowest numbers): each costs three fits
   * of the shard per repetition in the driver, and the mechanism is the same in every shard.
   */
  static final int MAX_SHARDS = 3;

  private EpsilonCheck() {}

  static Optional<Check> check(ShardedStore store, ModelRegistry registry, EnsembleManifest manifest,
      ShardEnsembleModel published, Set<Integer> hit, int repetitions) {
    if (repetitions == 0) {
      return Optional.empty();
    }
    int shards = 0;
    int certified = 0;
    int failed = 0;
    double delta = 0;
    double worst = 0;
    double certificate = Double.POSITIVE_INFINITY;
    boolean within = true;
    long start = System.nanoTime();
    for (SubModelEntry e : manifest.shards().stream().sorted(Comparator.comparingInt(SubModelEntry::shard)).toList()) {
      Optional<CertifiedState> state = hit.contains(e.shard())
          ? registry.stateFile(manifest.version(), e, CertifiedState.FILE_NAME, CertifiedState.class) : Optional.empty();
      if (state.isEmpty()) {
        continue;
      }
      CertifiedState s = state.get();
      certified++;
      if (shards + failed == MAX_SHARDS) {
        continue;
      }
      List<LabeledVector> rows = rows(store, published.subModel(e.shard()), e.shard());
      if (rows.size() < 2) {
        continue;
      }
      CertifiedEpsilon.Estimate estimate;
      try {
        estimate = CertifiedEpsilon.estimate(rows, 1, repetitions, s.regParam(), s.sigma(), s.budget(), s.delta(),
            CONFIDENCE, CertifiedEpsilon.Update.CERTIFIED, e.shard());
      } catch (LetheException unsolved) { // a fit that did not converge: this shard gives no estimate
        LOG.warn("Epsilon of certified removal not estimated on shard {}: {}", e.shard(), unsolved.getMessage());
        failed++;
        continue;
      }
      shards++;
      delta = Math.max(delta, s.delta());
      worst = Math.max(worst, estimate.epsilon());
      certificate = Math.min(certificate, s.epsilon());
      within &= estimate.epsilon() <= s.epsilon();
    }
    if (shards == 0) {
      return failed == 0 ? Optional.empty() : Optional.of(Check.warning("certified.epsilon", "the epsilon of the"
          + " certified removal could not be estimated: the repeated fits of " + failed + " shard(s) did not converge",
          Map.of("shardsFailed", failed, "shardsCertified", certified)));
    }
    double largest = CertifiedEpsilon.largestMeasurable(repetitions, delta, CONFIDENCE);
    LOG.info("Epsilon of certified removal estimated on {} shard(s) in {} s: at most {}", shards,
        String.format(Locale.ROOT, "%.1f", (System.nanoTime() - start) / 1e9), String.format(Locale.ROOT, "%.3f", worst));
    Map<String, Object> figures = new LinkedHashMap<>();
    figures.put("epsilonEstimate", worst);
    figures.put("certificateEpsilon", certificate);
    figures.put("repetitions", repetitions);
    figures.put("confidence", CONFIDENCE);
    figures.put("largestMeasurable", largest);
    figures.put("shardsEstimated", shards);
    figures.put("shardsCertified", certified);
    figures.put("shardsFailed", failed);
    String how = String.format(Locale.ROOT, " (%d models unlearned with fresh noise against %d retrained, a retained"
        + " row removed, the best threshold test on its margin, error rates bounded at %.0f%%; these repetitions can"
        + " show at most %.2f)", repetitions, repetitions, 100 * CONFIDENCE, largest);
    return Optional.of(new Check("certified.epsilon", within, within
        ? String.format(Locale.ROOT, "the certified removal shows an epsilon of at most %.3f when measured, within its"
            + " certificate's %.3f", worst, certificate) + how
        : String.format(Locale.ROOT, "the certified removal shows an epsilon of %.3f when measured, above its"
            + " certificate's %.3f", worst, certificate) + how, figures));
  }

  /** The shard's current rows through the sub-model's feature stages, in the driver. */
  private static List<LabeledVector> rows(ShardedStore store, PipelineModel subModel, int shard) {
    StoreLayout layout = store.layout();
    Transformer[] stages = subModel.stages();
    Transformer[] features = Arrays.copyOf(stages, stages.length - 1);
    Dataset<Row> featurized = new PipelineModel(Identifiable.randomUID("pipeline"), features)
        .transform(store.readShard(shard, store.currentVersion()).select(layout.trainingColumns().toArray(new Column[0])));
    JavaRDD<LabeledVector> labeled = CertifiedRemoval.rows(featurized, shard);
    try {
      return labeled.collect();
    } finally {
      CertifiedRemoval.release(labeled);
    }
  }
}
