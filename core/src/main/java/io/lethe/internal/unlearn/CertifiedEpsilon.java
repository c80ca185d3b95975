package io.lethe.internal.unlearn;

import io.lethe.internal.unlearn.CertifiedLogistic.LabeledVector;
import io.lethe.internal.unlearn.CertifiedLogistic.Point;
import io.lethe.internal.unlearn.CertifiedLogistic.Rows;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.commons.math3.distribution.BetaDistribution;
import org.apache.spark.ml.linalg.Vector;

/**
 * The epsilon a certified removal shows when measured, the way the NeurIPS 2023 machine unlearning
 * challenge measures it: models of a shard unlearned from a fit on all its rows, and models retrained
 * without the removed row, each with its own noise, many times over; the best threshold test on the
 * removed row's margin that tells the two apart; and from its error rates, bounded by Clopper-Pearson
 * at the stated confidence, {@code log((1 - delta - FPR) / FNR)} (and the other way round). That is
 * a lower bound on the epsilon that holds: a certified removal with its noise must show at most its
 * certificate's epsilon, and one without noise shows the most the repetitions can.
 */
public final class CertifiedEpsilon {
  private CertifiedEpsilon() {}

  /**
   * What was measured.
   *
   * @param epsilon the estimate (at least 0), the largest over the removed rows
   * @param repetitions unlearned and retrained models per removed row (as many of each)
   * @param removed rows removed, one at a time
   * @param confidence of the bounds on the test's error rates
   * @param largestMeasurable the largest estimate these repetitions can give (two sets of models told
   *     apart without error): an estimate there means "at least this"
   */
  public record Estimate(double epsilon, int repetitions, int removed, double confidence, double largestMeasurable) {}

  /** How the unlearned models remove the row. */
  public enum Update {
    /** One Newton step, solved to the optimum when its gradient residual is over the budget (Lethe's strategy). */
    CERTIFIED,
    /** One Newton step and nothing else. */
    NEWTON_STEP
  }

  /**
   * Measures a removal on rows held in the driver: {@code removed} rows drawn with the seed, each
   * removed {@code repetitions} times from a fit with fresh noise of standard deviation {@code sigma},
   * against as many retrains without it with their own noise.
   */
  public static Estimate estimate(List<LabeledVector> rows, int removed, int repetitions, double lambda, double sigma,
      double budget, double delta, double confidence, Update update, long seed) {
    Random random = new Random(seed);
    int d = rows.get(0).features().size() + 1;
    double alpha = 1 - confidence;
    double epsilon = 0;
    for (int t = 0; t < Math.min(removed, rows.size()); t++) {
      int index = random.nextInt(rows.size());
      LabeledVector x = rows.get(index);
      List<LabeledVector> rest = new ArrayList<>(rows);
      rest.remove(index);
      Rows all = CertifiedLogistic.local(rows);
      Rows without = CertifiedLogistic.local(rest);
      double[] unlearned = new double[repetitions];
      double[] retrained = new double[repetitions];
      for (int r = 0; r < repetitions; r++) {
        double[] noise = gaussian(d, sigma, random);
        Point full = CertifiedLogistic.solve(all, new double[d], lambda, noise);
        Point step = CertifiedLogistic.removalStep(without, full.w(), lambda, noise);
        double[] w = update == Update.CERTIFIED && step.residual() > budget
            ? CertifiedLogistic.solve(without, step.w(), lambda, noise).w() : step.w();
        unlearned[r] = margin(w, x.features());
        retrained[r] = margin(CertifiedLogistic.solve(without, new double[d], lambda, gaussian(d, sigma, random)).w(),
            x.features());
      }
      epsilon = Math.max(epsilon, fromScores(unlearned, retrained, delta, alpha));
    }
    return new Estimate(epsilon, repetitions, Math.min(removed, rows.size()), confidence,
        largestMeasurable(repetitions, delta, confidence));
  }

  /** The largest estimate {@code repetitions} models of each kind can give: both told apart without error. */
  public static double largestMeasurable(int repetitions, double delta, double confidence) {
    double[] ones = new double[repetitions];
    java.util.Arrays.fill(ones, 1.0);
    return fromScores(ones, new double[repetitions], delta, 1 - confidence);
  }

  /**
   * The estimate from two samples of a score: the best threshold test (either direction) telling
   * the first from the second, its false-positive and false-negative rates bounded above at level
   * {@code alpha} (Clopper-Pearson), turned into epsilon; 0 when no test does better than chance.
   */
  static double fromScores(double[] unlearned, double[] retrained, double delta, double alpha) {
    int n = unlearned.length;
    int m = retrained.length;
    List<Double> thresholds = new ArrayList<>();
    for (double s : unlearned) {
      thresholds.add(s);
    }
    for (double s : retrained) {
      thresholds.add(s);
    }
    thresholds.add(Double.POSITIVE_INFINITY);
    double best = 0;
    for (double t : thresholds) {
      // The test "unlearned when the score is at least t": its misses and its false alarms.
      int misses = 0;
      for (double s : unlearned) {
        misses += s < t ? 1 : 0;
      }
      int alarms = 0;
      for (double s : retrained) {
        alarms += s >= t ? 1 : 0;
      }
      best = Math.max(best, epsilon(alarms, m, misses, n, delta, alpha));
      best = Math.max(best, epsilon(m - alarms, m, n - misses, n, delta, alpha)); // the opposite test
    }
    return best;
  }

  private static double epsilon(int alarms, int m, int misses, int n, double delta, double alpha) {
    double fpr = upper(alarms, m, alpha);
    double fnr = upper(misses, n, alpha);
    double e = 0;
    if (fnr > 0 && 1 - delta - fpr > 0) {
      e = Math.max(e, Math.log((1 - delta - fpr) / fnr));
    }
    if (fpr > 0 && 1 - delta - fnr > 0) {
      e = Math.max(e, Math.log((1 - delta - fnr) / fpr));
    }
    return e;
  }

  /** The Clopper-Pearson upper bound, at level alpha, on a rate of k events in n trials. */
  static double upper(int k, int n, double alpha) {
    return k >= n ? 1.0 : new BetaDistribution(k + 1, n - k).inverseCumulativeProbability(1 - alpha);
  }

  private static double margin(double[] w, Vector x) {
    double z = w[w.length - 1];
    double[] values = x.toArray();
    for (int i = 0; i < values.length; i++) {
      z += w[i] * values[i];
    }
    return z;
  }

  private static double[] gaussian(int d, double sigma, Random random) {
    double[] b = new double[d];
    for (int i = 0; i < d; i++) {
      b[i] = sigma * random.nextGaussian();
    }
    return b;
  }
}
