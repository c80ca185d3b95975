package io.lethe.internal.engine;

import org.apache.spark.mllib.tree.impurity.EntropyCalculator;
import org.apache.spark.mllib.tree.impurity.GiniCalculator;
import org.apache.spark.mllib.tree.impurity.ImpurityCalculator;
import org.apache.spark.mllib.tree.impurity.VarianceCalculator;

/**
 * A tree node's label statistics as spark.ml keeps them, and what follows from them: class counts
 * (classification) or count, sum and sum of squares (regression); the impurity (gini, entropy,
 * variance) and the prediction, computed as spark.ml's calculators compute them, operation for
 * operation, so that a tree grown here carries the statistics a spark.ml fit would.
 */
final class TreeStats implements java.io.Serializable {
  private static final long serialVersionUID = 1L;
  private static final double LN2 = Math.log(2);
  /** spark.ml's test for a pure node: impurity under the double's machine epsilon. */
  static final double PURE = 2.220446049250313E-16;

  final boolean regression;
  final boolean entropy;
  /** The length of a node's statistics: the classes, or 3 for regression. */
  final int length;

  TreeStats(boolean regression, boolean entropy, int classes) {
    this.regression = regression;
    this.entropy = entropy && !regression;
    this.length = regression ? 3 : classes;
  }

  /** Adds (sign 1) or removes (sign -1) a row of class or value {@code y} at offset {@code at}. */
  void add(double[] stats, int at, double y, double sign) {
    if (regression) {
      stats[at] += sign;
      stats[at + 1] += sign * y;
      stats[at + 2] += sign * y * y;
    } else {
      stats[at + (int) y] += sign;
    }
  }

  double count(double[] stats) {
    return count(stats, 0);
  }

  /** The rows counted by the statistics at offset {@code at}. */
  double count(double[] stats, int at) {
    if (regression) {
      return stats[at];
    }
    double c = 0;
    for (int k = 0; k < length; k++) {
      c += stats[at + k];
    }
    return c;
  }

  /** As spark.ml's Gini, Entropy and Variance calculate it, operation for operation. */
  double impurity(double[] stats) {
    double n = count(stats);
    if (n == 0) {
      return 0.0;
    }
    if (regression) {
      return (stats[2] - stats[1] * stats[1] / n) / n;
    }
    double out = entropy ? 0.0 : 1.0;
    for (double c : stats) {
      double p = c / n;
      if (!entropy) {
        out -= p * p;
      } else if (c != 0) {
        out -= p * (Math.log(p) / LN2);
      }
    }
    return out;
  }

  /** The information gain of splitting {@code stats} into {@code left} and {@code right}. */
  double gain(double[] stats, double impurity, double[] left, double[] right) {
    double total = count(stats);
    return impurity - count(left) / total * impurity(left) - count(right) / total * impurity(right);
  }

  double predict(double[] stats) {
    if (regression) {
      return stats[0] == 0 ? 0.0 : stats[1] / stats[0];
    }
    int best = 0;
    for (int k = 1; k < stats.length; k++) {
      if (stats[k] > stats[best]) {
        best = k;
      }
    }
    return best;
  }

  ImpurityCalculator calculator(double[] stats) {
    double[] copy = stats.clone();
    long rawCount = (long) count(stats);
    if (regression) {
      return new VarianceCalculator(copy, rawCount);
    }
    return entropy ? new EntropyCalculator(copy, rawCount) : new GiniCalculator(copy, rawCount);
  }
}
