package io.lethe.internal.verify;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.monotonically_increasing_id;

import io.lethe.internal.model.ShardEnsembleModel;
import io.lethe.internal.store.ShardedStore;
import io.lethe.internal.train.Engine;
import io.lethe.internal.train.ShardTrainer;
import io.lethe.internal.train.TrainSettings;
import io.lethe.types.AttackResult;
import io.lethe.types.StoreLayout;
import io.lethe.types.SubModelEntry;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * The difference attack of Chen et al. ("When Machine Unlearning Jeopardizes Privacy", CCS 2021,
 * code MinChen00/UnlearningLeaks) on an update of a sharded ensemble: an observer who queried the
 * ensemble before and after the update compares the two probability vectors of each row they know,
 * and the rows the update removed stand out, their own influence gone from the model. The paper
 * feeds three features to an attack model trained on shadow updates; here each feature is a score
 * of its own, and the AUC of telling removed rows from kept rows of the same shards is reported for
 * each:
 *
 * <ul>
 *   <li>{@code distance}: the L2 distance between the two vectors;
 *   <li>{@code difference}: how much the probability of the row's true label fell;
 *   <li>{@code sorted-difference}: the L2 distance between the two vectors sorted, which ignores
 *       which class moved.
 * </ul>
 *
 * <p>Both ensembles score the same rows, collected to the driver: callers pass samples. Only
 * aggregates come out.
 */
public final class DifferenceAttack {
  static final List<String> FEATURES = List.of("distance", "difference", "sorted-difference");
  private static final String ROW = "__lethe_row";
  private static final String REMOVED = "removed";

  private DifferenceAttack() {}

  /** Each feature's attack on the update from {@code before} to {@code after}: removed rows against kept ones. */
  public static List<AttackResult> run(ShardEnsembleModel before, ShardEnsembleModel after, Dataset<Row> removed,
      Dataset<Row> kept, StoreLayout layout) {
    Map<String, Dataset<Row>> groups = new LinkedHashMap<>();
    groups.put(REMOVED, removed);
    groups.put("kept", kept);
    // Row numbers fixed once, so that the two models' outputs pair up by them: rows held in the
    // driver become a local relation with them (each model then scores it in the driver, with no
    // Spark job); others are cached.
    Dataset<Row> numbered = MembershipAttack.tagged(groups, layout).withColumn(ROW, monotonically_increasing_id());
    boolean local = removed.isLocal() && kept.isLocal();
    Dataset<Row> rows = local ? numbered.sparkSession().createDataFrame(numbered.collectAsList(), numbered.schema())
        : numbered.cache();
    try {
      Map<Long, Vector> earlier = new HashMap<>();
      for (Row r : before.transform(rows).select(col(ROW), col(before.getOrDefault(before.probabilityCol())))
          .collectAsList()) {
        earlier.put(r.getLong(0), r.getAs(1));
      }
      Map<String, List<Double>> removedScores = new HashMap<>();
      Map<String, List<Double>> keptScores = new HashMap<>();
      for (Row r : after.transform(rows).select(col(ROW), col(MembershipAttack.GROUP),
          col(StoreLayout.LABEL_INDEX_COLUMN), col(after.getOrDefault(after.probabilityCol()))).collectAsList()) {
        Vector p = earlier.get(r.getLong(0));
        Vector q = r.getAs(3);
        Map<String, List<Double>> into = REMOVED.equals(r.getString(1)) ? removedScores : keptScores;
        double[] scores = scores(p.toArray(), q.toArray(), (int) r.getDouble(2));
        for (int f = 0; f < FEATURES.size(); f++) {
          into.computeIfAbsent(FEATURES.get(f), k -> new ArrayList<>()).add(scores[f]);
        }
      }
      List<AttackResult> out = new ArrayList<>();
      for (String feature : FEATURES) {
        out.add(MembershipAttack.evaluate(feature, values(removedScores.get(feature)),
            values(keptScores.get(feature))));
      }
      return out;
    } finally {
      if (!local) {
        rows.unpersist();
      }
    }
  }

  /**
   * The attacks on an update that removes the given people (all their rows) from a published
   * ensemble: the shards they hash to ({@link ShardedStore#shardsOf}, in the driver) fitted in tasks
   * on a store version with and without them (as training fits them, with each shard's seed; one
   * Spark job each), the other shards as published, in memory only. {@code removed} are their rows,
   * {@code kept} rows of the same shards that stay. Empty when those shards cannot be fitted in tasks (the jobs engine, a column that
   * needs Spark's cast).
   */
  public static Optional<List<AttackResult>> onRemoval(ShardedStore store, TrainSettings training,
      ShardEnsembleModel published, long version, List<Object> people, Dataset<Row> removed, Dataset<Row> kept) {
    String subject = store.layout().subjectColumn();
    List<String> ids = people.stream().map(String::valueOf).toList();
    List<Integer> shards = List.copyOf(store.shardsOf(ids));
    // Each shard fitted with the people and without them, in one Spark job. A shard whose published
    // sub-model is the retrain of it at this version, in tasks (the forget's own), is that fit
    // with them already: the same rows in the same order, the same settings and seed.
    List<Integer> refit = shards.stream().filter(s -> !retrainedAt(published, s, version)).toList();
    List<ShardTrainer.Variant> variants = new ArrayList<>();
    refit.forEach(s -> variants.add(new ShardTrainer.Variant(s, subject, List.of(), null)));
    shards.forEach(s -> variants.add(new ShardTrainer.Variant(s, subject, ids, null)));
    return new ShardTrainer(store, training).fitEachInTasks(variants, version).map(fits -> run(
        replaced(published, byShard(refit, fits.subList(0, refit.size()))),
        replaced(published, byShard(shards, fits.subList(refit.size(), fits.size()))), removed, kept,
        store.layout()));
  }

  /** Whether the ensemble's sub-model of the shard is its retrain at the store version, in tasks. */
  private static boolean retrainedAt(ShardEnsembleModel ensemble, int shard, long version) {
    return ensemble.manifest().shard(shard).filter(e -> e.storeVersion() == version
        && SubModelEntry.SHARD_RETRAIN.equals(e.strategy()) && Engine.TASKS.id().equals(e.engine())).isPresent();
  }

  private static Map<Integer, ShardTrainer.FittedShard> byShard(List<Integer> shards,
      List<ShardTrainer.FittedShard> fits) {
    Map<Integer, ShardTrainer.FittedShard> out = new HashMap<>();
    for (int i = 0; i < shards.size(); i++) {
      out.put(shards.get(i), fits.get(i));
    }
    return out;
  }

  /** The ensemble with the given shards' sub-models in place of its own (a shard fitted on no rows keeps its own). */
  private static ShardEnsembleModel replaced(ShardEnsembleModel base, Map<Integer, ShardTrainer.FittedShard> fitted) {
    List<PipelineModel> subModels = new ArrayList<>();
    for (SubModelEntry e : base.manifest().shards()) {
      ShardTrainer.FittedShard f = fitted.get(e.shard());
      subModels.add(f != null ? f.model() : base.subModel(e.shard()));
    }
    return new ShardEnsembleModel(base.manifest(), subModels);
  }

  /** The three features of a row whose probabilities went from {@code p} to {@code q}. */
  static double[] scores(double[] p, double[] q, int label) {
    double[] ps = p.clone();
    double[] qs = q.clone();
    Arrays.sort(ps);
    Arrays.sort(qs);
    return new double[] {distance(p, q), label < p.length && label < q.length ? p[label] - q[label] : 0,
        distance(ps, qs)};
  }

  private static double distance(double[] a, double[] b) {
    double sum = 0;
    for (int i = 0; i < Math.min(a.length, b.length); i++) {
      sum += (a[i] - b[i]) * (a[i] - b[i]);
    }
    return Math.sqrt(sum);
  }

  /** Scores as an array (none for null). */
  static double[] values(List<Double> scores) {
    return scores == null ? new double[0] : scores.stream().mapToDouble(Double::doubleValue).toArray();
  }

  /**
   * One-sided level of the bound: 1%. The membership check fails a batch at three standard errors;
   * this one warns, and a single forgotten person in a shard of a few hundred rows can at best be
   * ranked first (chance does that once in a few hundred), so it asks for less.
   */
  static final double LEVEL = 0.01;
  private static final double Z = 2.326;
  private static final int DRAWS = 20_000;

  /**
   * The AUC that chance exceeds with probability at most {@link #LEVEL} for {@code m} removed and
   * {@code n} kept rows: the quantile of the Mann-Whitney statistic under no signal, drawn by
   * permuting ranks (fixed seed, so a report is reproducible) while the removed rows are few and
   * the normal approximation poor (one removed row among n: it must be ranked in the top 1%); the
   * normal approximation from 50 removed rows on.
   */
  public static double aucBound(long m, long n) {
    if (m < 1 || n < 1) {
      return 1.0;
    }
    if (m >= 50 || m + n > 1_000_000) {
      return Math.min(1.0, 0.5 + Z * Math.sqrt((m + n + 1.0) / (12.0 * m * n)));
    }
    int total = (int) (m + n);
    int[] ranks = new int[total];
    for (int i = 0; i < total; i++) {
      ranks[i] = i + 1;
    }
    java.util.SplittableRandom random = new java.util.SplittableRandom(17);
    double[] aucs = new double[DRAWS];
    double least = m * (m + 1) / 2.0;
    for (int d = 0; d < DRAWS; d++) {
      long sum = 0;
      for (int i = 0; i < m; i++) { // a partial Fisher-Yates shuffle: m distinct ranks
        int j = i + random.nextInt(total - i);
        int t = ranks[i];
        ranks[i] = ranks[j];
        ranks[j] = t;
        sum += ranks[i];
      }
      aucs[d] = (sum - least) / ((double) m * n);
    }
    Arrays.sort(aucs);
    return aucs[Math.min(DRAWS - 1, (int) Math.ceil((1 - LEVEL) * DRAWS) - 1)];
  }

  /** The strongest of the attacks: the highest AUC (null when none has one). */
  public static AttackResult strongest(List<AttackResult> attacks) {
    return attacks.stream().filter(a -> !Double.isNaN(a.auc()))
        .max(java.util.Comparator.comparingDouble(AttackResult::auc)).orElse(null);
  }
}
