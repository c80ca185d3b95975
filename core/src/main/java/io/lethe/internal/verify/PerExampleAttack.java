package io.lethe.internal.verify;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.monotonically_increasing_id;

import io.lethe.internal.model.ShardEnsembleModel;
import io.lethe.internal.model.SubModelScores;
import io.lethe.internal.store.ShardedStore;
import io.lethe.internal.train.ExactStatistics;
import io.lethe.internal.train.ShardTrainer;
import io.lethe.internal.train.TrainSettings;
import io.lethe.types.AttackResult;
import io.lethe.types.ForgetEvidence;
import io.lethe.types.ForgetEvidence.Measurement;
import io.lethe.types.PerExampleEvidence;
import io.lethe.types.StoreLayout;
import io.lethe.types.VerifyReport.Check;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;

/**
 * LiRA per example (Carlini et al., "Membership Inference Attacks From First Principles", S&amp;P
 * 2022, the online attack, with the per-example calibration U-LiRA asks of an unlearning test) on
 * a sharded ensemble. A tested row's target model is the sub-model of its shard (a never-seen row
 * is given a hit shard in turn). Its shadow models are fits of that same shard, in tasks and in
 * memory: in pairs, each model on a random 80% of the shard's own rows (the retained rows tested
 * left out), one of the pair with a random half of the rows tested against the shard and the other
 * with the other half. So each tested row has as many shadow models trained with it (IN) as
 * without (OUT), on data the target's training shares most of, which is what gives the test its
 * power on models that barely overfit (logistic regression).
 *
 * <p>On each model the score is the logit of its probability of the row's true label. Per row, the
 * IN and OUT scores give two means; the variances are pooled over all rows (the fixed-variance form
 * of the paper, for few shadow models). The test statistic is the log-likelihood ratio of the
 * target model's score under the IN and the OUT Gaussians: above 0, the row is likelier a member.
 * Rows whose membership is known calibrate it: retained rows of the hit shards (members) against
 * never-seen rows give the control; the forgotten rows must look like never-seen ones to the model
 * after the forget, and looked like members to the model before.
 *
 * <p>Only aggregates leave this class. The shadow models live in memory for the length of the
 * test: like the model before the forget, half of them are trained on forgotten rows.
 */
final class PerExampleAttack {
  static final String ATTACK = "lira";
  private static final long SEED = 29;
  /**
   * The share of a shard's own rows each shadow model is fitted on. Carlini et al. fit halves of a
   * pool; with 80%, the shadows share most of the target's rows, and on Adult's logistic regression
   * the control's AUC rose from 0.65 to 0.67-0.71 (PerExampleTest).
   */
  static final double KEEP_OWN = 0.8;
  private static final String ROW = "__lethe_row";
  private static final String HOME = "__lethe_home";
  private static final String FORGOTTEN = "forgotten";
  private static final String RETAINED = "retained";
  private static final String UNSEEN = "unseen";

  private PerExampleAttack() {}

  /** A tested row: its population, its home (target) shard, its label, and each model's score on it. */
  private static final class Tested {
    final String group;
    final int home;
    Double before;
    double after = Double.NaN;
    final Map<Integer, Double> in = new HashMap<>();
    final Map<Integer, Double> out = new HashMap<>();
    /** The row as the shadow fits read it. */
    Row training;

    Tested(String group, int home) {
      this.group = group;
      this.home = home;
    }
  }

  /**
   * Runs the test on the rows given (samples: they are collected to the driver and added to every
   * shadow shard), with at most {@code shadowModels} shards fitted again at the store version
   * {@code version} (the delete's). {@code before} may be null (its ensemble was gone).
   */
  static PerExampleEvidence run(ShardedStore store, TrainSettings training, ShardEnsembleModel before,
      ShardEnsembleModel after, long version, Collection<Integer> hit, Dataset<Row> forgotten, Dataset<Row> retained,
      Dataset<Row> unseen, int shadowModels) {
    long start = System.nanoTime();
    StoreLayout layout = store.layout();
    List<Integer> targets = List.copyOf(new TreeSet<>(hit));
    int pairs = Math.max(1, shadowModels / 2);
    Map<String, Dataset<Row>> groups = new LinkedHashMap<>();
    groups.put(FORGOTTEN, forgotten);
    groups.put(RETAINED, retained);
    groups.put(UNSEEN, unseen);
    String subject = layout.subjectColumn();
    Column ownShard = layout.shardOf(col(subject)).cast("int");
    Dataset<Row> taggedRows = MembershipAttack.tagged(groups, layout).withColumn(ROW, monotonically_increasing_id());
    // The tested rows (samples: thousands) as a local relation: scoring them with each pair's shadow
    // models is then done by the optimizer in the driver, with no Spark job per scoring.
    Dataset<Row> rows = store.spark().createDataFrame(taggedRows.collectAsList(), taggedRows.schema());
    Map<Long, Tested> tested = new TreeMap<>();
    Set<Integer> homes = new TreeSet<>();
    List<String> retainedPeople = new ArrayList<>();
    // Each row as the shadow fits read it (numeric, categorical, label), then its number, group, shard and subject.
    List<Column> columns = new ArrayList<>(List.of(ExactStatistics.columns(layout,
        col(StoreLayout.LABEL_INDEX_COLUMN))));
    columns.add(col(ROW));
    columns.add(col(MembershipAttack.GROUP));
    columns.add(ownShard.as(HOME));
    columns.add(col(subject).cast("string"));
    int width = columns.size() - 4;
    int unseenSeen = 0;
    for (Row r : rows.select(columns.toArray(new Column[0])).collectAsList()) {
      String group = r.getString(width + 1);
      // A never-seen row is in no shard: it is tested against the hit shards' sub-models in turn.
      int shard = UNSEEN.equals(group) ? targets.get(unseenSeen++ % targets.size()) : r.getInt(width + 2);
      Tested t = new Tested(group, shard);
      tested.put(r.getLong(width), t);
      if (RETAINED.equals(group)) {
        retainedPeople.add(r.getString(width + 3));
      }
      Object[] values = new Object[width + 1];
      for (int c = 0; c < width; c++) {
        values[c] = r.get(c);
      }
      values[width] = shard;
      homes.add(shard);
      t.training = RowFactory.create(values);
    }
    // Each pair: per hit shard, a random 80% of its own rows (the retained rows tested left out)
    // fitted twice, once with each half of the rows tested against it (drawn again for each pair).
    // A row's IN model is the fit with its half, its OUT model the fit with the other.
    // Every fit of every pair in one Spark job, a task each: on two cores, two at a time.
    java.util.SplittableRandom random = new java.util.SplittableRandom(SEED);
    List<Integer> fittable = List.copyOf(homes);
    List<Map<Long, Integer>> halvesOf = new ArrayList<>();
    List<ShardTrainer.Variant> variants = new ArrayList<>();
    for (int pair = 0; pair < pairs; pair++) {
      List<Map<Integer, List<Row>>> halves = List.of(new TreeMap<>(), new TreeMap<>());
      Map<Long, Integer> halfOf = new HashMap<>();
      for (Map.Entry<Long, Tested> e : tested.entrySet()) {
        int half = random.nextInt(2);
        halfOf.put(e.getKey(), half);
        halves.get(half).computeIfAbsent(e.getValue().home, k -> new ArrayList<>())
            .add(e.getValue().training);
      }
      halvesOf.add(halfOf);
      for (int h = 0; h < 2; h++) {
        for (int shard : fittable) {
          variants.add(new ShardTrainer.Variant(shard, subject, retainedPeople, new ShardTrainer.AddedRows(
              halves.get(h).getOrDefault(shard, List.of()), KEEP_OWN, random.nextLong())));
        }
      }
    }
    Optional<List<ShardTrainer.FittedShard>> fitted = new ShardTrainer(store, training).fitEachInTasks(variants,
        version);
    if (fitted.isEmpty()) {
      return PerExampleEvidence.skipped("the per-example test's shadow models are fitted in tasks, and the shards"
          + " of " + training.estimator() + " cannot be");
    }
    // Every shadow model, and the target models after and before the forget, score every tested
    // row in one pass (one query in the driver, not one a model). Fit i is shadow model
    // i / |fittable| of shard fittable[i % |fittable|].
    List<PipelineModel> models = new ArrayList<>();
    List<Into> into = new ArrayList<>();
    for (int i = 0; i < fitted.get().size(); i++) {
      if (fitted.get().get(i) == null) {
        continue;
      }
      int shadow = i / fittable.size();
      int shard = fittable.get(i % fittable.size());
      Map<Long, Integer> halfOf = halvesOf.get(shadow / 2);
      models.add(fitted.get().get(i).model());
      into.add((row, t, score) -> {
        if (shard == t.home) {
          (halfOf.get(row) == shadow % 2 ? t.in : t.out).put(shadow, score);
        }
      });
    }
    for (int shard : targets) {
      models.add(after.subModel(shard));
      into.add((row, t, score) -> {
        if (shard == t.home) {
          t.after = score;
        }
      });
      if (before != null && before.manifest().shard(shard).isPresent()) {
        models.add(before.subModel(shard));
        into.add((row, t, score) -> {
          if (shard == t.home) {
            t.before = score;
          }
        });
      }
    }
    score(rows, models, tested, into);
    return evidence(tested.values(), 2 * pairs, before != null, (System.nanoTime() - start) / 1e9);
  }

  /** Where a model's score on a tested row goes. */
  private interface Into {
    void put(long row, Tested tested, double score);
  }

  /** Every tested row through the given models in one pass: each model's score on its true label. */
  private static void score(Dataset<Row> rows, List<PipelineModel> models, Map<Long, Tested> tested,
      List<Into> into) {
    if (models.isEmpty()) {
      return;
    }
    List<Integer> numbers = java.util.stream.IntStream.range(0, models.size()).boxed().toList();
    Dataset<Row> df = SubModelScores.trueClassProbabilities(rows, numbers, models::get, StoreLayout.LABEL_INDEX_COLUMN,
        "__lethe_probabilities");
    for (Row r : df.select(col(ROW), col("__lethe_probabilities")).collectAsList()) {
      Tested t = tested.get(r.getLong(0));
      List<Double> probabilities = r.getList(1);
      for (int i = 0; i < models.size(); i++) {
        into.get(i).put(r.getLong(0), t, MembershipAttack.logit(probabilities.get(i)));
      }
    }
  }

  /** The likelihood ratios, the AUCs against never-seen rows, and the counts of likelier members. */
  private static PerExampleEvidence evidence(Collection<Tested> tested, int shadowModels, boolean withBefore,
      double seconds) {
    // Pooled variances: every row's scores around its own IN and OUT means.
    double[] inSpread = new double[2];
    double[] outSpread = new double[2];
    for (Tested t : tested) {
      spread(t.in.values(), inSpread);
      spread(t.out.values(), outSpread);
    }
    double inVariance = inSpread[1] > 0 ? inSpread[0] / inSpread[1] + 1e-6 : 1.0;
    double outVariance = outSpread[1] > 0 ? outSpread[0] / outSpread[1] + 1e-6 : 1.0;
    Map<String, List<Double>> ratios = new LinkedHashMap<>();
    for (Tested t : tested) {
      if (t.in.size() < 1 || t.out.size() < 1 || Double.isNaN(t.after)) {
        continue;
      }
      double in = mean(t.in.values());
      double out = mean(t.out.values());
      ratios.computeIfAbsent(t.group + "/after", k -> new ArrayList<>())
          .add(ratio(t.after, in, inVariance, out, outVariance));
      if (withBefore && t.before != null) {
        ratios.computeIfAbsent(t.group + "/before", k -> new ArrayList<>())
            .add(ratio(t.before, in, inVariance, out, outVariance));
      }
    }
    List<Measurement> attacks = new ArrayList<>();
    List<PerExampleEvidence.Count> counts = new ArrayList<>();
    for (String model : List.of("before", "after")) {
      double[] unseen = DifferenceAttack.values(ratios.get(UNSEEN + "/" + model));
      for (String population : List.of(FORGOTTEN, RETAINED, UNSEEN)) {
        double[] scores = DifferenceAttack.values(ratios.get(population + "/" + model));
        if (scores.length == 0 || (population.equals(RETAINED) && model.equals("before"))) {
          continue;
        }
        counts.add(new PerExampleEvidence.Count(population, model, scores.length,
            java.util.Arrays.stream(scores).filter(x -> x > 0).count()));
        if (!population.equals(UNSEEN) && unseen.length > 0) {
          attacks.add(new Measurement(population, model, MembershipAttack.evaluate(ATTACK, scores, unseen)));
        }
      }
    }
    return new PerExampleEvidence(shadowModels, seconds, attacks, counts, null);
  }

  /**
   * The check {@code membership.per-example}: to the model after the forget, the forgotten rows must
   * look like never-seen ones per example, the test's AUC within what chance exceeds once in a
   * hundred for these counts ({@link DifferenceAttack#aucBound}). The control (retained rows, known
   * members) says whether the test has power on these models. Empty when the run recorded no test.
   */
  static Optional<Check> check(ForgetEvidence evidence) {
    PerExampleEvidence e = evidence == null ? null : evidence.perExample();
    if (e == null) {
      return Optional.empty();
    }
    Optional<AttackResult> after = result(e, FORGOTTEN, "after");
    if (e.note() != null || after.isEmpty()) {
      return Optional.of(new Check("membership.per-example", true, "the per-example test did not run: "
          + (e.note() != null ? e.note() : "no forgotten row had shadow models"), Map.of()));
    }
    AttackResult r = after.get();
    double bound = DifferenceAttack.aucBound(r.members(), r.nonMembers());
    boolean ok = !(r.auc() > bound);
    Map<String, Object> figures = new LinkedHashMap<>();
    figures.put("attack", ATTACK);
    figures.put("shadowModels", e.shadowModels());
    figures.put("seconds", e.seconds());
    figures.put("forgottenRows", r.members());
    figures.put("unseenRows", r.nonMembers());
    figures.put("aucAfter", r.auc());
    figures.put("aucBound", bound);
    result(e, FORGOTTEN, "before").ifPresent(b -> figures.put("aucBefore", b.auc()));
    long likelier = count(e, FORGOTTEN, "after").map(PerExampleEvidence.Count::likelierMember).orElse(0L);
    figures.put("forgottenLikelierMember", likelier);
    count(e, UNSEEN, "after").ifPresent(c -> figures.put("unseenShareLikelierMember",
        c.rows() == 0 ? 0.0 : c.likelierMember() / (double) c.rows()));
    String control = "";
    Optional<AttackResult> c = result(e, RETAINED, "after");
    if (c.isPresent()) {
      double controlBound = DifferenceAttack.aucBound(c.get().members(), c.get().nonMembers());
      figures.put("controlAuc", c.get().auc());
      figures.put("controlAucBound", controlBound);
      control = c.get().auc() > controlBound
          ? String.format(Locale.ROOT, "; its control tells retained members from never-seen rows at AUC %.3f (above"
              + " %.3f), so the test has power on these models", c.get().auc(), controlBound)
          : String.format(Locale.ROOT, "; its control does not tell retained members from never-seen rows either (AUC"
              + " %.3f within %.3f), so the test has little power on these models", c.get().auc(), controlBound);
    }
    String how = String.format(Locale.ROOT, " (LiRA: %d shadow models of each hit shard, half of them trained with"
        + " each tested row, %.1f s; %d of %d forgotten rows likelier members than not)", e.shadowModels(), e.seconds(),
        likelier, r.members());
    return Optional.of(new Check("membership.per-example", ok, String.format(Locale.ROOT, ok
        ? "per example, the model after the forget treats the forgotten rows as it treats never-seen ones (AUC %.3f"
            + " within %.3f)"
        : "per example, the model after the forget still tells the forgotten rows from never-seen ones (AUC %.3f"
            + " above %.3f): it still shows their influence", r.auc(), bound) + how + control, figures));
  }

  private static Optional<AttackResult> result(PerExampleEvidence e, String population, String model) {
    return e.attacks().stream().filter(m -> m.population().equals(population) && m.model().equals(model))
        .map(Measurement::result).findFirst();
  }

  private static Optional<PerExampleEvidence.Count> count(PerExampleEvidence e, String population, String model) {
    return e.likelierMember().stream().filter(c -> c.population().equals(population) && c.model().equals(model))
        .findFirst();
  }

  /** log N(x; in, inVariance) - log N(x; out, outVariance). */
  static double ratio(double x, double in, double inVariance, double out, double outVariance) {
    return -(x - in) * (x - in) / (2 * inVariance) - 0.5 * Math.log(inVariance)
        + (x - out) * (x - out) / (2 * outVariance) + 0.5 * Math.log(outVariance);
  }

  private static void spread(Collection<Double> scores, double[] into) {
    if (scores.size() < 2) {
      return;
    }
    double m = mean(scores);
    for (double s : scores) {
      into[0] += (s - m) * (s - m);
    }
    into[1] += scores.size() - 1;
  }

  private static double mean(Collection<Double> values) {
    return values.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
  }
}
