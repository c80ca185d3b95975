package io.lethe.internal.engine;

import java.io.Serializable;
import java.util.Arrays;
import java.util.Random;
import org.apache.spark.ml.tree.ContinuousSplit;
import org.apache.spark.ml.tree.InternalNode;
import org.apache.spark.ml.tree.Node;

/**
 * Decision trees and random forests grown inside one task, with spark.ml's rules: the candidate
 * thresholds of each feature as spark.ml finds them ({@link TreeBins}), a split sending a row left when
 * its value is at most the threshold, the best split by information gain among the node's
 * features, and a node left a leaf at {@code maxDepth}, when it is pure, when no split keeps
 * {@code minInstancesPerNode} rows (and {@code minWeightFractionPerNode} of the weight) on each
 * side, or when the best gain is under {@code minInfoGain} or not positive. A forest draws each
 * tree's rows (Poisson or Bernoulli at {@code subsamplingRate}) and each node's features
 * ({@code featureSubsetStrategy}) from a random generator seeded by {@code seed} and the tree's
 * index, so a fit is the same for a seed and the same rows in the same order.
 *
 * <p>Every node carries its label statistics (class counts, or count, sum and sum of squares), its
 * impurity and, for an internal node, its gain: the spark.ml model built from them predicts,
 * gives probabilities and feature importances as one spark.ml fitted.
 *
 * <p>Where spark.ml differs: it finds thresholds on a sample of at most {@code max(maxBins^2,
 * 10000)} rows, this on all rows of the shard; and its random draws come from other generators,
 * so a forest here is one spark.ml could have drawn, not the one it draws.
 */
public final class LocalTrees {
  private LocalTrees() {}

  /**
   * A tree learner's settings, resolved on the driver from the estimator's parameters.
   *
   * @param classes the label's classes (classification), 0 for regression
   * @param impurity gini or entropy (classification), variance (regression)
   * @param featuresPerNode the features each node considers: one of spark.ml's strategies (auto,
   *     all, sqrt, log2, onethird), a whole number or a fraction
   * @param maxIter boosting's iterations (trees), 0 for a tree or a forest
   * @param loss boosting's loss: logistic, squared or absolute
   */
  public record Spec(int classes, String impurity, int maxDepth, int maxBins, int minInstancesPerNode,
      double minWeightFractionPerNode, double minInfoGain, int numTrees, double subsamplingRate, boolean bootstrap,
      String featuresPerNode, long seed, int maxIter, double stepSize, String loss) implements LocalFit {

    public boolean regression() {
      return classes == 0;
    }

    @Override
    public Forest fit(ShardMatrix rows) {
      return LocalTrees.fit(rows, this);
    }

    @Override
    public String describe(Serializable fitted) {
      Forest forest = (Forest) fitted;
      return String.format(" (%d tree(s), %d nodes)", forest.trees().length,
          Arrays.stream(forest.trees()).mapToInt(t -> t.numDescendants() + 1).sum());
    }

    /** The features a node considers, out of {@code width}, as spark.ml counts them. */
    int featuresPerNode(int width) {
      String s = featuresPerNode.toLowerCase(java.util.Locale.ROOT);
      String strategy = s.equals("auto") ? (numTrees == 1 ? "all" : regression() ? "onethird" : "sqrt") : s;
      return switch (strategy) {
        case "all" -> width;
        case "sqrt" -> (int) Math.ceil(Math.sqrt(width));
        case "log2" -> Math.max(1, (int) Math.ceil(Math.log(width) / Math.log(2)));
        case "onethird" -> (int) Math.ceil(width / 3.0);
        default -> {
          double v = Double.parseDouble(strategy);
          yield strategy.matches("[0-9]+") ? (int) Math.min(width, v) : (int) Math.ceil(v * width);
        }
      };
    }
  }

  /** The grown trees (spark.ml nodes, shipped back from the task), with their weights when boosted. */
  public record Forest(Node[] trees, double[] weights, int width) implements Serializable {}

  /** Grows the spec's trees on the rows: a tree, a forest, or boosted trees. */
  public static Forest fit(ShardMatrix m, Spec spec) {
    TreeBins bins = TreeBins.of(m, spec.maxBins());
    if (spec.maxIter() > 0) {
      return boost(m, spec, bins);
    }
    int[] label = null;
    if (!spec.regression()) {
      label = new int[m.rows()];
      for (int r = 0; r < m.rows(); r++) {
        label[r] = (int) m.label()[r];
      }
    }
    Node[] trees = new Node[spec.numTrees()];
    for (int t = 0; t < trees.length; t++) {
      trees[t] = new TreeGrower(m, spec, bins, label, m.label(), spec.regression(), random(spec, t)).grow();
    }
    return new Forest(trees, null, m.width());
  }

  private static Random random(Spec spec, int tree) {
    return new Random(spec.seed() * 1_000_003L + tree);
  }

  /**
   * Gradient-boosted regression trees, as spark.ml boosts: a classifier's labels become -1 and +1;
   * the first tree fits the labels with weight 1, each next one the loss's negative gradient at
   * the ensemble's predictions so far, with weight {@code stepSize}. Losses: logistic (log loss,
   * gradient -4y / (1 + exp(2yF))), squared (-2(y - F)), absolute (-sign(y - F)).
   */
  private static Forest boost(ShardMatrix m, Spec spec, TreeBins bins) {
    int n = m.rows();
    double[] y = new double[n];
    for (int r = 0; r < n; r++) {
      y[r] = spec.regression() ? m.label()[r] : 2 * m.label()[r] - 1;
    }
    Node[] trees = new Node[spec.maxIter()];
    double[] weights = new double[spec.maxIter()];
    double[] f = new double[n];
    double[] residual = y.clone();
    for (int t = 0; t < trees.length; t++) {
      if (t > 0) {
        for (int r = 0; r < n; r++) {
          residual[r] = switch (spec.loss()) {
            case "logistic" -> 4 * y[r] / (1 + Math.exp(2 * y[r] * f[r]));
            case "absolute" -> y[r] - f[r] < 0 ? -1.0 : 1.0;
            default -> 2 * (y[r] - f[r]);
          };
        }
      }
      trees[t] = new TreeGrower(m, spec, bins, null, residual, true, random(spec, t)).grow();
      weights[t] = t == 0 ? 1.0 : spec.stepSize();
      for (int r = 0; r < n; r++) {
        f[r] += weights[t] * predict(trees[t], m, r);
      }
    }
    return new Forest(trees, weights, m.width());
  }

  /** A tree's prediction for row {@code r} of the matrix. */
  private static double predict(Node node, ShardMatrix m, int r) {
    while (node instanceof InternalNode internal) {
      ContinuousSplit split = (ContinuousSplit) internal.split();
      double value = 0.0;
      for (int p = m.rowStart()[r]; p < m.rowStart()[r + 1]; p++) {
        if (m.column()[p] == split.featureIndex()) {
          value = m.value()[p];
          break;
        }
      }
      node = value <= split.threshold() ? internal.leftChild() : internal.rightChild();
    }
    return node.prediction();
  }
}
