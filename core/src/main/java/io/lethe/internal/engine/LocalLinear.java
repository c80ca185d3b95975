package io.lethe.internal.engine;

import java.util.Arrays;

/**
 * Fits spark.ml's linear classifiers (LogisticRegression, LinearSVC) on a shard held in one task:
 * the same objective in the same standardized, virtually centered space, the same starting point,
 * breeze's same optimizer with spark.ml's memory and tolerance, and the same mapping back to the
 * original features. The result is spark.ml's model up to floating-point summation order.
 */
public final class LocalLinear {
  private LocalLinear() {}

  /**
   * A fitted linear model.
   *
   * @param coefficients sets x features, row-major (one row per coefficient set)
   * @param intercepts one per coefficient set
   * @param iterations the optimizer's iterations (0 when none was needed)
   */
  public record Fit(double[] coefficients, double[] intercepts, int sets, int features, int iterations,
      boolean converged) implements java.io.Serializable {

    /** One coefficient set per class (multinomial), else one. */
    public boolean multinomial() {
      return sets > 1;
    }
  }

  public static Fit fit(ShardMatrix m, LinearSpec spec) {
    int f = m.width();
    int k = spec.sets();
    double[] histogram = m.histogram();
    if (spec.loss() != LinearSpec.Loss.HINGE && spec.fitIntercept() && constant(histogram)) {
      return constantLabel(histogram, spec, f);
    }
    double[][] summary = m.meanAndStd();
    double[] mean = summary[0];
    double[] std = summary[1];
    double[] inverseStd = new double[f];
    double[] scaledMean = new double[f];
    for (int j = 0; j < f; j++) {
      inverseStd[j] = std[j] != 0.0 ? 1.0 / std[j] : 0.0;
      scaledMean[j] = inverseStd[j] * mean[j];
    }
    // spark.ml centers the scaled features virtually whenever there is an intercept.
    boolean centered = spec.fitIntercept();
    int parameters = f * k + (spec.fitIntercept() ? k : 0);
    double[] init = new double[parameters];
    if (spec.fitIntercept() && spec.loss() == LinearSpec.Loss.BINOMIAL) {
      init[f] = Math.log(histogram[1] / histogram[0]);
    } else if (spec.fitIntercept() && spec.loss() == LinearSpec.Loss.MULTINOMIAL) {
      double total = 0;
      for (double h : histogram) {
        total += Math.log1p(h);
      }
      double logMean = total / histogram.length;
      for (int c = 0; c < histogram.length; c++) {
        init[f * k + c] = Math.log1p(histogram[c]) - logMean;
      }
    }
    double l2 = spec.loss() == LinearSpec.Loss.HINGE ? spec.regParam() : (1 - spec.elasticNet()) * spec.regParam();
    double l1 = spec.loss() == LinearSpec.Loss.HINGE ? 0.0 : spec.elasticNet() * spec.regParam();
    Objective objective = new LinearObjective(m, spec, inverseStd, scaledMean, std, l2, centered);
    double[] l1Weights = null;
    if (spec.loss() == LinearSpec.Loss.HINGE || (spec.elasticNet() != 0.0 && spec.regParam() != 0.0)) {
      l1Weights = new double[parameters];
      for (int p = 0; p < f * k; p++) {
        int j = p / k;
        l1Weights[p] = spec.standardization() ? l1 : std[j] != 0.0 ? l1 / std[j] : 0.0;
      }
    }
    BreezeMinimizer.Result result = BreezeMinimizer.minimize(objective::evaluate, init, spec.maxIter(), 10, spec.tolerance(),
        l1Weights);
    double[] x = result.x();
    double[] intercepts = new double[k];
    if (spec.fitIntercept()) {
      for (int c = 0; c < k; c++) {
        double adapt = 0;
        for (int j = 0; j < f; j++) {
          adapt += x[j * k + c] * scaledMean[j];
        }
        intercepts[c] = x[f * k + c] - (centered ? adapt : 0.0);
      }
    }
    double[] coefficients = new double[k * f];
    for (int c = 0; c < k; c++) {
      for (int j = 0; j < f; j++) {
        coefficients[c * f + j] = std[j] != 0.0 ? x[j * k + c] / std[j] : 0.0;
      }
    }
    if (spec.loss() == LinearSpec.Loss.MULTINOMIAL) {
      if (spec.regParam() == 0.0) {
        // Without a penalty the classes' coefficients are identified only up to a constant: spark.ml centers them.
        for (int j = 0; j < f; j++) {
          double center = 0;
          for (int c = 0; c < k; c++) {
            center += coefficients[c * f + j];
          }
          center /= k;
          for (int c = 0; c < k; c++) {
            coefficients[c * f + j] -= center;
          }
        }
      }
      if (spec.fitIntercept()) {
        double center = Arrays.stream(intercepts).sum() / k;
        for (int c = 0; c < k; c++) {
          intercepts[c] -= center;
        }
      }
    }
    return new Fit(coefficients, intercepts, k, f, result.iterations(), result.converged());
  }

  private static boolean constant(double[] histogram) {
    return Arrays.stream(histogram).filter(h -> h != 0.0).count() == 1;
  }

  /** spark.ml's answer for one class and an intercept: no optimization, zero coefficients, infinite intercepts. */
  private static Fit constantLabel(double[] histogram, LinearSpec spec, int f) {
    int k = spec.sets();
    double[] intercepts = new double[k];
    if (spec.loss() == LinearSpec.Loss.MULTINOMIAL) {
      int label = 0;
      for (int c = 1; c < histogram.length; c++) {
        if (histogram[c] > histogram[label]) {
          label = c;
        }
      }
      intercepts[label] = Double.POSITIVE_INFINITY;
    } else {
      // As spark.ml: +infinity whenever the label has two classes, whichever class the shard holds.
      intercepts[0] = spec.classes() == 2 ? Double.POSITIVE_INFINITY : Double.NEGATIVE_INFINITY;
    }
    return new Fit(new double[k * f], intercepts, k, f, 0, true);
  }

  /**
   * The mean row loss over the shard plus the L2 part of the penalty, in the standardized space
   * (coefficient j of set c at j * sets + c, intercepts after all coefficients).
   */
  private static final class LinearObjective implements Objective {
    private final ShardMatrix m;
    private final LinearSpec spec;
    private final double[] scaledMean;
    private final double[] std;
    private final double l2;
    private final boolean centered;
    private final double[] margins;
    /** Each stored value of the matrix in the standardized space: its value over its column's std. */
    private final double[] scaled;

    LinearObjective(ShardMatrix m, LinearSpec spec, double[] inverseStd, double[] scaledMean, double[] std, double l2,
        boolean centered) {
      this.m = m;
      this.spec = spec;
      this.scaledMean = scaledMean;
      this.std = std;
      this.l2 = l2;
      this.centered = centered;
      this.margins = new double[spec.sets()];
      int[] column = m.column();
      double[] value = m.value();
      this.scaled = new double[m.rowStart()[m.rows()]];
      for (int p = 0; p < scaled.length; p++) {
        scaled[p] = value[p] * inverseStd[column[p]];
      }
    }

    @Override
    public double evaluate(double[] x, double[] gradient) {
      int f = m.width();
      int k = spec.sets();
      boolean intercept = spec.fitIntercept();
      // The margin of an all-zero row: intercept minus the coefficients' dot with the scaled means.
      double[] offset = new double[k];
      for (int c = 0; c < k; c++) {
        double o = intercept ? x[f * k + c] : 0.0;
        if (centered) {
          for (int j = 0; j < f; j++) {
            o -= x[j * k + c] * scaledMean[j];
          }
        }
        offset[c] = o;
      }
      double[] multiplierSum = new double[k];
      double loss = k == 1 && spec.loss() == LinearSpec.Loss.BINOMIAL
          ? binomialRows(x, gradient, offset[0], multiplierSum) : rows(x, gradient, offset, multiplierSum);
      double n = m.rows();
      for (int c = 0; c < k; c++) {
        if (centered) {
          for (int j = 0; j < f; j++) {
            gradient[j * k + c] -= multiplierSum[c] * scaledMean[j];
          }
        }
        if (intercept) {
          gradient[f * k + c] = multiplierSum[c];
        }
      }
      loss /= n;
      for (int p = 0; p < gradient.length; p++) {
        gradient[p] /= n;
      }
      if (l2 != 0.0) {
        double penalty = 0;
        for (int p = 0; p < f * k; p++) {
          double w = x[p];
          if (spec.standardization()) {
            penalty += w * w;
            gradient[p] += l2 * w;
          } else {
            double s = std[p / k];
            if (s != 0.0) {
              penalty += w * w / (s * s);
              gradient[p] += l2 * w / (s * s);
            }
          }
        }
        loss += 0.5 * l2 * penalty;
      }
      return loss;
    }

    /**
     * The rows' summed loss, their gradient added into {@code gradient} and their multipliers
     * summed per set, for any loss.
     */
    private double rows(double[] x, double[] gradient, double[] offset, double[] multiplierSum) {
      int k = offset.length;
      int[] start = m.rowStart();
      int[] column = m.column();
      double[] label = m.label();
      double[] multiplier = new double[k];
      double loss = 0;
      for (int r = 0; r < m.rows(); r++) {
        System.arraycopy(offset, 0, margins, 0, k);
        for (int p = start[r]; p < start[r + 1]; p++) {
          double z = scaled[p];
          if (z != 0.0) {
            int at = column[p] * k;
            for (int c = 0; c < k; c++) {
              margins[c] += x[at + c] * z;
            }
          }
        }
        loss += rowLoss(label[r], multiplier);
        for (int c = 0; c < k; c++) {
          double g = multiplier[c];
          if (g == 0.0) {
            continue;
          }
          multiplierSum[c] += g;
          for (int p = start[r]; p < start[r + 1]; p++) {
            gradient[column[p] * k + c] += g * scaled[p];
          }
        }
      }
      return loss;
    }

    /**
     * {@link #rows} for the binomial loss (one coefficient set): the same sums in the same order,
     * with the margin in a local, and one exponential shared by the loss and the multiplier when
     * the margin is not negative.
     */
    private double binomialRows(double[] x, double[] gradient, double offset, double[] multiplierSum) {
      int[] start = m.rowStart();
      int[] column = m.column();
      double[] label = m.label();
      double loss = 0;
      double sum = 0;
      for (int r = 0; r < m.rows(); r++) {
        int from = start[r];
        int to = start[r + 1];
        double margin = offset;
        for (int p = from; p < to; p++) {
          double z = scaled[p];
          if (z != 0.0) {
            margin += x[column[p]] * z;
          }
        }
        double y = label[r];
        // exp(-margin) for the multiplier and for log(1 + exp(-margin)), computed once when margin >= 0.
        double e = Math.exp(-Math.abs(margin));
        double g = (margin >= 0 ? 1.0 / (1.0 + e) : 1.0 / (1.0 + Math.exp(-margin))) - y;
        double log1pExp = margin >= 0 ? Math.log1p(e) : -margin + Math.log1p(e);
        loss += y > 0 ? log1pExp : log1pExp + margin;
        if (g != 0.0) {
          sum += g;
          for (int p = from; p < to; p++) {
            gradient[column[p]] += g * scaled[p];
          }
        }
      }
      multiplierSum[0] = sum;
      return loss;
    }

    /** The row's loss at the current margins; its multiplier per coefficient set into {@code out}. */
    private double rowLoss(double y, double[] out) {
      switch (spec.loss()) {
        case BINOMIAL -> {
          double margin = margins[0];
          out[0] = 1.0 / (1.0 + Math.exp(-margin)) - y;
          return y > 0 ? log1pExp(-margin) : log1pExp(-margin) + margin;
        }
        case HINGE -> {
          double signed = y + y - 1.0;
          double loss = 1.0 - signed * margins[0];
          out[0] = loss > 0 ? -signed : 0.0;
          return Math.max(loss, 0.0);
        }
        default -> {
          int k = margins.length;
          double max = Double.NEGATIVE_INFINITY;
          for (double v : margins) {
            max = Math.max(max, v);
          }
          double sum = 0;
          for (int c = 0; c < k; c++) {
            out[c] = Math.exp(margins[c] - max);
            sum += out[c];
          }
          int target = (int) y;
          for (int c = 0; c < k; c++) {
            out[c] = out[c] / sum - (c == target ? 1.0 : 0.0);
          }
          return Math.log(sum) + max - margins[target];
        }
      }
    }

    private static double log1pExp(double x) {
      return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
    }
  }
}
