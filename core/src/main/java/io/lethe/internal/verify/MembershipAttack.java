package io.lethe.internal.verify;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;

import io.lethe.internal.model.ShardEnsembleModel;
import io.lethe.internal.model.SubModelScores;
import io.lethe.internal.train.ShardTrainer;
import io.lethe.types.AttackResult;
import io.lethe.types.StoreLayout;
import io.lethe.types.SubModelEntry;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.ml.classification.ProbabilisticClassificationModel;
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


  /** The threshold attack on the ensemble's probability of each row's true label. */
  public static AttackResult threshold(ShardEnsembleModel model, Dataset<Row> members, Dataset<Row> nonMembers,
      StoreLayout layout) {
    return against("threshold", model, Map.of("members", members), nonMembers, layout).get("members");
  }

  /**
   * The reference attack: each row's own shard (by the store's shard function on its subject) is
   * the target model, every other shard's sub-model an OUT reference. Needs probabilistic
   * sub-models and at least three shards ({@link #referenceApplies}).
   */
  public static AttackResult reference(ShardEnsembleModel model, Dataset<Row> members, Dataset<Row> nonMembers,
      StoreLayout layout) {
    return against("reference", model, Map.of("members", members), nonMembers, layout).get("members");
  }

  /**
   * One attack ("threshold" or "reference") on several groups of members against the same
   * non-members, with one pass of the model over all the rows: a result per group.
   */
  public static Map<String, AttackResult> against(String attack, ShardEnsembleModel model,
      Map<String, Dataset<Row>> memberGroups, Dataset<Row> nonMembers, StoreLayout layout) {
    return against(attack, model, population(memberGroups, nonMembers, layout), layout);
  }

  /** The rows of several groups of members and of the non-members, tagged once for {@link #against}. */
  public static Population population(Map<String, Dataset<Row>> memberGroups, Dataset<Row> nonMembers,
      StoreLayout layout) {
    Map<String, Dataset<Row>> groups = new LinkedHashMap<>(memberGroups);
    groups.put(NON_MEMBERS, nonMembers);
    return new Population(List.copyOf(memberGroups.keySet()), tagged(groups, layout));
  }

  /** Groups of members and non-members, their rows tagged with their group (see {@link #tagged}). */
  public record Population(List<String> memberGroups, Dataset<Row> rows) {}

  /**
   * One attack on a population tagged once: several attacks and models may share it, so that
   * samples held in the driver are put together into one local relation once.
   */
  public static Map<String, AttackResult> against(String attack, ShardEnsembleModel model, Population population,
      StoreLayout layout) {
    Map<String, double[]> scores = switch (attack) {
      case "threshold" -> scores(trueLabelConfidence(model, population.rows()), row -> {
        Vector p = row.getAs(2);
        return p.apply((int) row.getDouble(1));
      });
      case "reference" -> standardisedConfidence(model, population.rows(), layout);
      default -> throw new IllegalArgumentException("Unknown attack " + attack);
    };
    Map<String, AttackResult> out = new LinkedHashMap<>();
    for (String group : population.memberGroups()) {
      out.put(group, evaluate(attack, scores.getOrDefault(group, new double[0]),
          scores.getOrDefault(NON_MEMBERS, new double[0])));
    }
    return out;
  }

  private static final String NON_MEMBERS = "__non_members";
  static final String GROUP = "__lethe_group";

  /** Every group's rows with their group's name, the label index, the subject and the features. */
  static Dataset<Row> tagged(Map<String, Dataset<Row>> groups, StoreLayout layout) {
    List<Column> keep = new ArrayList<>();
    keep.add(col(layout.subjectColumn()));
    keep.add(col(layout.labelColumn()));
    layout.featureColumns().forEach(f -> keep.add(col(f)));
    Dataset<Row> all = null;
    List<Dataset<Row>> parts = new ArrayList<>();
    for (Map.Entry<String, Dataset<Row>> g : groups.entrySet()) {
      Dataset<Row> rows = g.getValue().select(keep.toArray(new Column[0])).withColumn(GROUP, lit(g.getKey()));
      parts.add(rows);
      all = all == null ? rows : all.unionByName(rows);
    }
    if (groups.values().stream().allMatch(Dataset::isLocal)) {
      // Samples held in the driver: one local relation of them all (each group's rows cast as the
      // union types them), which the optimizer scores in the driver with no Spark job.
      List<Row> rows = new ArrayList<>();
      for (Dataset<Row> part : parts) {
        rows.addAll(part.select(java.util.Arrays.stream(all.schema().fields())
            .map(f -> col(f.name()).cast(f.dataType()).as(f.name())).toArray(Column[]::new)).collectAsList());
      }
      all = all.sparkSession().createDataFrame(rows, all.schema());
    }
    return all.withColumn(StoreLayout.LABEL_INDEX_COLUMN, layout.labelIndex());
  }

  /** Collected rows (group first) turned into each group's scores. */
  private static Map<String, double[]> scores(List<Row> rows, java.util.function.ToDoubleFunction<Row> score) {
    Map<String, List<Double>> byGroup = new LinkedHashMap<>();
    for (Row r : rows) {
      byGroup.computeIfAbsent(r.getString(0), k -> new ArrayList<>()).add(score.applyAsDouble(r));
    }
    Map<String, double[]> out = new LinkedHashMap<>();
    byGroup.forEach((g, values) -> out.put(g, values.stream().mapToDouble(Double::doubleValue).toArray()));
    return out;
  }

  private static List<Row> trueLabelConfidence(ShardEnsembleModel model, Dataset<Row> rows) {
    return model.transform(rows).select(col(GROUP), col(StoreLayout.LABEL_INDEX_COLUMN),
        col(model.getOrDefault(model.probabilityCol()))).collectAsList();
  }

  /** Whether the reference attack can run: three or more shards, each a probabilistic classifier. */
  public static boolean referenceApplies(ShardEnsembleModel model) {
    List<SubModelEntry> entries = model.manifest().shards();
    return entries.size() >= 3 && entries.stream().allMatch(e -> ShardTrainer.estimatorModel(model.subModel(e.shard()))
        instanceof ProbabilisticClassificationModel<?, ?>);
  }

  private static Map<String, double[]> standardisedConfidence(ShardEnsembleModel model, Dataset<Row> rows,
      StoreLayout layout) {
    List<SubModelEntry> entries = model.manifest().shards();
    Dataset<Row> df = SubModelScores.trueClassProbabilities(
        rows.withColumn("__lethe_own_shard", layout.shardOf(col(layout.subjectColumn())).cast("int")),
        entries.stream().map(SubModelEntry::shard).toList(), model::subModel, StoreLayout.LABEL_INDEX_COLUMN,
        "__lethe_probabilities");
    return scores(df.select(col(GROUP), col("__lethe_own_shard"), col("__lethe_probabilities")).collectAsList(), r -> {
      int own = r.getInt(1);
      List<Double> probabilities = r.getList(2);
      double target = Double.NaN;
      double[] others = new double[entries.size() - 1];
      int k = 0;
      for (int s = 0; s < entries.size(); s++) {
        double confidence = logit(probabilities.get(s));
        if (entries.get(s).shard() == own) {
          target = confidence;
        } else if (k < others.length) {
          others[k++] = confidence;
        }
      }
      double mean = Arrays.stream(others, 0, k).average().orElse(0);
      double var = Arrays.stream(others, 0, k).map(x -> (x - mean) * (x - mean)).sum() / Math.max(1, k - 1);
      return Double.isNaN(target) ? 0 : (target - mean) / Math.sqrt(var + 1e-6);
    });
  }

  static double logit(double p) {
    double q = Math.min(1 - 1e-6, Math.max(1e-6, p));
    return Math.log(q / (1 - q));
  }

  /** AUC (Mann-Whitney, ties counted half), TPR at 1% and 0.1% FPR, and ROC points. */
  static AttackResult evaluate(String attack, double[] members, double[] nonMembers) {
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
    return new AttackResult(attack, m.length, n.length, auc, tprAt(m, n, 0.01), tprAt(m, n, 0.001), roc);
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
