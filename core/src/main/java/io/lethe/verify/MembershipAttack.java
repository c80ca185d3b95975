package io.lethe.verify;

import static org.apache.spark.sql.functions.col;

import io.lethe.model.ShardColumns;
import io.lethe.model.ShardEnsembleModel;
import io.lethe.registry.SubModelEntry;
import io.lethe.store.StoreLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * Membership inference against a sharded ensemble: does a model treat some rows (members: rows it
 * may have been trained on) differently from rows it never saw? Two attacks, both on the model's
 * confidence in each row's true label:
 *
 * <ul>
 *   <li>threshold: the ensemble's probability of the true label (Yeom et al., 2018);
 *   <li>reference: in the spirit of LiRA (Carlini et al., 2022) with OUT models only, which SISA
 *       gives for free: a row can only be in the sub-model of its own shard, so the other shards'
 *       sub-models are models trained without it. The score is how far its own shard's confidence
 *       (logit-scaled) stands above theirs, in their standard deviations.
 * </ul>
 *
 * <p>Each gives the AUC of telling members from non-members and the true-positive rate at low
 * false-positive rates. Only aggregates come out: no score of any single row. Scores are
 * collected to the driver, so callers pass samples (thousands of rows), not tables.
 */
public final class MembershipAttack {
  private MembershipAttack() {}

  /**
   * How well an attack tells members from non-members.
   *
   * @param auc area under the ROC curve: 0.5 is chance, 1.0 tells every member
   * @param tprAtFpr1Percent share of members caught when 1% of non-members are wrongly flagged
   * @param tprAtFpr01Percent the same at 0.1%
   * @param roc (false-positive rate, true-positive rate) points, for a chart
   */
  public record Result(String attack, long members, long nonMembers, double auc, double tprAtFpr1Percent,
      double tprAtFpr01Percent, List<double[]> roc) {}

  /** The threshold attack on the ensemble's probability of each row's true label. */
  public static Result threshold(ShardEnsembleModel model, Dataset<Row> members, Dataset<Row> nonMembers,
      StoreLayout layout) {
    return evaluate("threshold", trueLabelConfidence(model, members, layout),
        trueLabelConfidence(model, nonMembers, layout));
  }

  private static double[] trueLabelConfidence(ShardEnsembleModel model, Dataset<Row> rows, StoreLayout layout) {
    List<Row> scored = model.transform(rows.withColumn(StoreLayout.LABEL_INDEX_COLUMN, layout.labelIndex()))
        .select(col(StoreLayout.LABEL_INDEX_COLUMN), col(model.getOrDefault(model.probabilityCol())))
        .collectAsList();
    double[] out = new double[scored.size()];
    for (int i = 0; i < out.length; i++) {
      Vector p = scored.get(i).getAs(1);
      out[i] = p.apply((int) scored.get(i).getDouble(0));
    }
    return out;
  }

  /**
   * The reference attack: each row's own shard (by the store's shard function on its subject) is
   * the target model, every other shard's sub-model an OUT reference. Needs probabilistic
   * sub-models and at least three shards.
   */
  public static Result reference(ShardEnsembleModel model, Dataset<Row> members, Dataset<Row> nonMembers,
      StoreLayout layout) {
    return evaluate("reference", standardisedConfidence(model, members, layout),
        standardisedConfidence(model, nonMembers, layout));
  }

  private static double[] standardisedConfidence(ShardEnsembleModel model, Dataset<Row> rows, StoreLayout layout) {
    List<SubModelEntry> entries = model.manifest().shards();
    Dataset<Row> df = rows.withColumn(StoreLayout.LABEL_INDEX_COLUMN, layout.labelIndex())
        .withColumn("__lethe_own_shard", layout.shardOf(col(layout.subjectColumn())).cast("int"));
    List<Column> keep = new ArrayList<>(List.of(col(StoreLayout.LABEL_INDEX_COLUMN), col("__lethe_own_shard")));
    for (SubModelEntry e : entries) {
      PipelineModel sub = model.subModel(e.shard());
      df = sub.transform(df);
      keep.add(col(ShardColumns.probability(e.shard())));
    }
    List<Row> scored = df.select(keep.toArray(new Column[0])).collectAsList();
    double[] out = new double[scored.size()];
    for (int i = 0; i < out.length; i++) {
      Row r = scored.get(i);
      int label = (int) r.getDouble(0);
      int own = r.getInt(1);
      double target = Double.NaN;
      double[] others = new double[entries.size() - 1];
      int k = 0;
      for (int s = 0; s < entries.size(); s++) {
        double confidence = logit(((Vector) r.getAs(2 + s)).apply(label));
        if (entries.get(s).shard() == own) {
          target = confidence;
        } else if (k < others.length) {
          others[k++] = confidence;
        }
      }
      double mean = Arrays.stream(others, 0, k).average().orElse(0);
      double var = Arrays.stream(others, 0, k).map(x -> (x - mean) * (x - mean)).sum() / Math.max(1, k - 1);
      out[i] = Double.isNaN(target) ? 0 : (target - mean) / Math.sqrt(var + 1e-6);
    }
    return out;
  }

  private static double logit(double p) {
    double q = Math.min(1 - 1e-6, Math.max(1e-6, p));
    return Math.log(q / (1 - q));
  }

  /** AUC (Mann-Whitney, ties counted half), TPR at 1% and 0.1% FPR, and ROC points. */
  static Result evaluate(String attack, double[] members, double[] nonMembers) {
    double[] m = members.clone();
    double[] n = nonMembers.clone();
    Arrays.sort(m);
    Arrays.sort(n);
    double wins = 0;
    int lo = 0;
    int hi = 0;
    for (double x : m) {
      while (lo < n.length && n[lo] < x) {
        lo++;
      }
      hi = Math.max(hi, lo);
      while (hi < n.length && n[hi] <= x) {
        hi++;
      }
      wins += lo + 0.5 * (hi - lo);
    }
    double auc = m.length == 0 || n.length == 0 ? Double.NaN : wins / ((double) m.length * n.length);
    List<double[]> roc = new ArrayList<>();
    for (int i = 0; i <= 50; i++) {
      double fpr = i / 50.0;
      roc.add(new double[] {fpr, tprAt(m, n, fpr)});
    }
    return new Result(attack, m.length, n.length, auc, tprAt(m, n, 0.01), tprAt(m, n, 0.001), roc);
  }

  /** Members scored above the threshold that flags at most the given share of non-members. */
  private static double tprAt(double[] sortedMembers, double[] sortedNonMembers, double fpr) {
    if (sortedMembers.length == 0 || sortedNonMembers.length == 0) {
      return Double.NaN;
    }
    int allowed = (int) Math.floor(fpr * sortedNonMembers.length);
    // Flag scores strictly above the (allowed+1)-th highest non-member score.
    double threshold = allowed >= sortedNonMembers.length ? Double.NEGATIVE_INFINITY
        : sortedNonMembers[sortedNonMembers.length - 1 - allowed];
    long caught = Arrays.stream(sortedMembers).filter(x -> x > threshold).count();
    return caught / (double) sortedMembers.length;
  }
}
