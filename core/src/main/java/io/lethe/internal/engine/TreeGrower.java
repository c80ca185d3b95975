package io.lethe.internal.engine;

import java.util.Arrays;
import java.util.Random;
import org.apache.spark.ml.tree.ContinuousSplit;
import org.apache.spark.ml.tree.InternalNode;
import org.apache.spark.ml.tree.LeafNode;
import org.apache.spark.ml.tree.Node;

/** One tree, grown depth first over a permutation of the rows it drew. */
final class TreeGrower {
  private final ShardMatrix m;
  private final LocalTrees.Spec spec;
  private final boolean regression;
  private final boolean prune;
  private final TreeStats calc;
  private final double[] target;
  private final TreeBins bins;
  private final int[] label;
  private final Random random;
  private final int statsLength;
  private final int perNode;
  private final int[] rows;
  private final int[] weight;
  private final int[] scratch;
  private final double minWeight;
  private final double[] histogram;

  /**
   * A tree of the spec's settings on these labels: class indices ({@code label}), or values
   * ({@code target}, for a regression tree, which boosting fits to residuals). A boosted tree is
   * not pruned, as spark.ml does not prune it.
   */
  TreeGrower(ShardMatrix m, LocalTrees.Spec spec, TreeBins bins, int[] label, double[] target, boolean regression,
      Random random) {
    this.m = m;
    this.spec = spec;
    this.regression = regression;
    this.prune = spec.maxIter() == 0;
    this.calc = new TreeStats(regression, spec.impurity().equalsIgnoreCase("entropy"), spec.classes());
    this.target = target;
    this.bins = bins;
    this.label = label;
    this.random = random;
    this.statsLength = regression ? 3 : spec.classes();
    this.perNode = Math.max(1, Math.min(m.width(), spec.featuresPerNode(m.width())));
    this.weight = draw(m.rows());
    this.rows = java.util.stream.IntStream.range(0, m.rows()).filter(r -> weight[r] > 0).toArray();
    this.scratch = new int[rows.length];
    this.minWeight = spec.minWeightFractionPerNode() * m.rows();
    this.histogram = new double[(spec.maxBins() + 1) * statsLength];
  }

  /** How often each row is drawn: Poisson or Bernoulli at the subsampling rate for a forest, else once. */
  private int[] draw(int n) {
    int[] w = new int[n];
    double rate = spec.subsamplingRate();
    boolean forest = spec.numTrees() > 1 && spec.maxIter() == 0;
    boolean sample = forest ? (spec.bootstrap() || rate < 1.0) : rate < 1.0;
    boolean withReplacement = forest && spec.bootstrap();
    double limit = Math.exp(-rate);
    for (int r = 0; r < n; r++) {
      if (!sample) {
        w[r] = 1;
      } else if (withReplacement) {
        int k = 0; // Knuth's Poisson draw: rate is at most 1
        double p = random.nextDouble();
        while (p > limit) {
          k++;
          p *= random.nextDouble();
        }
        w[r] = k;
      } else {
        w[r] = random.nextDouble() < rate ? 1 : 0;
      }
    }
    return w;
  }

  Node grow() {
    return node(0, rows.length, 0);
  }

  private Node node(int lo, int hi, int depth) {
    double[] stats = new double[statsLength];
    for (int i = lo; i < hi; i++) {
      addAt(stats, 0, rows[i]);
    }
    double impurity = impurity(stats);
    if (depth >= spec.maxDepth() || Math.abs(impurity) < TreeStats.PURE || hi - lo < 2) {
      return leaf(stats, impurity);
    }
    double total = count(stats);
    int bestFeature = -1;
    int bestSplit = -1;
    double bestGain = Double.NEGATIVE_INFINITY;
    double[] left = new double[statsLength];
    double[] right = new double[statsLength];
    for (int j : features()) {
      double[] t = bins.thresholds[j];
      if (t.length == 0) {
        continue;
      }
      int width = (t.length + 1) * statsLength;
      Arrays.fill(histogram, 0, width, 0.0);
      char[] b = bins.bin[j];
      for (int i = lo; i < hi; i++) {
        int r = rows[i];
        addAt(histogram, b[r] * statsLength, r);
      }
      Arrays.fill(left, 0.0);
      for (int s = 0; s < t.length; s++) {
        for (int k = 0; k < statsLength; k++) {
          left[k] += histogram[s * statsLength + k];
        }
        double leftCount = count(left);
        double rightCount = total - leftCount;
        if (leftCount < spec.minInstancesPerNode() || rightCount < spec.minInstancesPerNode()
            || leftCount < minWeight || rightCount < minWeight) {
          continue;
        }
        minus(stats, left, right);
        double gain = impurity - leftCount / total * impurity(left) - rightCount / total * impurity(right);
        if (gain >= spec.minInfoGain() && gain > bestGain) {
          bestGain = gain;
          bestFeature = j;
          bestSplit = s;
        }
      }
    }
    if (bestFeature < 0 || bestGain <= 0) {
      return leaf(stats, impurity);
    }
    int middle = partition(lo, hi, bins.bin[bestFeature], bestSplit);
    Node leftChild = node(lo, middle, depth + 1);
    Node rightChild = node(middle, hi, depth + 1);
    if (prune && leftChild instanceof LeafNode l && rightChild instanceof LeafNode r && l.prediction() == r.prediction()) {
      // As spark.ml prunes: a split whose two leaves predict alike is one leaf of the node's statistics.
      return new LeafNode(l.prediction(), impurity, calc.calculator(stats));
    }
    return new InternalNode(calc.predict(stats), impurity, bestGain, leftChild, rightChild,
        new ContinuousSplit(bestFeature, bins.thresholds[bestFeature][bestSplit]), calc.calculator(stats));
  }

  /** The node's features, ascending: all, or a draw without replacement. */
  private int[] features() {
    int width = m.width();
    int[] all = new int[width];
    for (int j = 0; j < width; j++) {
      all[j] = j;
    }
    if (perNode >= width) {
      return all;
    }
    for (int i = 0; i < perNode; i++) { // partial Fisher-Yates
      int k = i + random.nextInt(width - i);
      int swap = all[i];
      all[i] = all[k];
      all[k] = swap;
    }
    int[] chosen = Arrays.copyOf(all, perNode);
    Arrays.sort(chosen);
    return chosen;
  }

  /** Moves the rows whose bin is at most {@code split} before the others, keeping their order; returns the first other. */
  private int partition(int lo, int hi, char[] bin, int split) {
    int l = lo;
    int r = 0;
    for (int i = lo; i < hi; i++) {
      if (bin[rows[i]] <= split) {
        rows[l++] = rows[i];
      } else {
        scratch[r++] = rows[i];
      }
    }
    System.arraycopy(scratch, 0, rows, l, r);
    return l;
  }

  private void addAt(double[] stats, int at, int r) {
    int w = weight[r];
    if (regression) {
      double y = target[r];
      stats[at] += w;
      stats[at + 1] += w * y;
      stats[at + 2] += w * y * y;
    } else {
      stats[at + label[r]] += w;
    }
  }

  /** {@code out = a - b}, element by element. */
  private static void minus(double[] a, double[] b, double[] out) {
    for (int k = 0; k < a.length; k++) {
      out[k] = a[k] - b[k];
    }
  }

  private double count(double[] stats) {
    return calc.count(stats);
  }

  private double impurity(double[] stats) {
    return calc.impurity(stats);
  }

  private LeafNode leaf(double[] stats, double impurity) {
    return new LeafNode(calc.predict(stats), impurity, calc.calculator(stats));
  }
}
