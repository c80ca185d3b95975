package io.lethe.internal.engine;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Grows the nodes of a {@link DareForest} from rows of one matrix, by DaRE's rules (see there): a
 * node's statistics and choices, and the subtree under it. Every random draw is a hash of the
 * seed, the tree, the node's id and what is drawn.
 */
final class DareGrower {
/** Grows nodes from rows of one matrix. */
  private final DareForest.Spec spec;
  private final TreeStats c;
  final DareRows rows;
  private final int perNode;
  /** Whether it grows a whole forest (ranks pay off), or regrows parts of one after a deletion (sorting does). */
  final boolean training;

  DareGrower(DareForest.Spec spec, TreeStats c, DareRows rows, boolean training) {
    this.spec = spec;
    this.c = c;
    this.rows = rows;
    this.training = training;
    int w = rows.ids.length;
    this.perNode = Math.max(1, Math.min(w, spec.trees().featuresPerNode(w)));
  }

  DareNode grow(int[] at, int tree, long id, int depth) {
    DareNode node = choose(at, tree, id, depth);
    if (node.splits()) {
      growChildren(node, at, tree);
    }
    return node;
  }

  /** The node's statistics and choices from its rows; its children are marked (not grown) when it splits. */
  DareNode choose(int[] at, int tree, long id, int depth) {
    DareNode node = new DareNode();
    node.id = id;
    node.depth = depth;
    node.stats = new double[c.length];
    for (int r : at) {
      c.add(node.stats, 0, rows.label(r), 1);
    }
    node.kind = DareNode.LEAF;
    if (terminal(node, spec, c)) {
      return node;
    }
    long key = nodeKey(spec, tree, id);
    if (depth < spec.randomDepth()) {
      chooseRandom(node, at, key);
    } else {
      chooseGreedy(node, at, key);
    }
    return node;
  }

  private void chooseRandom(DareNode node, int[] at, long key) {
    for (int f : featureOrder(key, rows)) {
      double lo = Double.POSITIVE_INFINITY;
      double hi = Double.NEGATIVE_INFINITY;
      long loCount = 0;
      long hiCount = 0;
      double[] column = rows.column(f);
      for (int r : at) {
        double x = column[r];
        if (x < lo) {
          lo = x;
          loCount = 0;
        }
        if (x == lo) {
          loCount++;
        }
        if (x > hi) {
          hi = x;
          hiCount = 0;
        }
        if (x == hi) {
          hiCount++;
        }
      }
      if (lo < hi) {
        node.kind = DareNode.RANDOM;
        node.randomFeature = rows.ids[f];
        node.lo = lo;
        node.hi = hi;
        node.loCount = loCount;
        node.hiCount = hiCount;
        double u = (mix(key ^ 0x2545F4914F6CDD1DL) >>> 11) * 0x1.0p-53;
        double t = lo + u * (hi - lo);
        node.threshold = t >= hi ? lo : t;
        node.leftChild = DareNode.MARK;
        node.rightChild = DareNode.MARK;
        return;
      }
    }
  }

  private void chooseGreedy(DareNode node, int[] at, long key) {
    List<Integer> sampled = new ArrayList<>();
    List<DareRows.Histogram> histograms = new ArrayList<>();
    for (int f : featureOrder(key, rows)) {
      if (sampled.size() == perNode) {
        break;
      }
      DareRows.Histogram h = rows.histogram(f, at, c, training);
      if (h.size() > 1) {
        sampled.add(f);
        histograms.add(h);
      }
    }
    if (sampled.isEmpty()) {
      return; // every feature is constant here: a leaf for good
    }
    node.kind = DareNode.GREEDY;
    // The drawn thresholds by feature id, then by value.
    long[] byFeature = sampled.stream().mapToLong(f -> rows.ids[f]).toArray();
    Integer[] order = new Integer[byFeature.length];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    Arrays.sort(order, (a, b) -> Long.compare(byFeature[a], byFeature[b]));
    List<double[]> drawn = new ArrayList<>();
    List<Long> drawnFeature = new ArrayList<>();
    for (int i : order) {
      int before = drawn.size();
      draw(histograms.get(i), featureKey(key, byFeature[i]), drawn);
      for (int d = before; d < drawn.size(); d++) {
        drawnFeature.add(byFeature[i]);
      }
    }
    int n = drawn.size();
    node.feature = new long[n];
    node.lower = new double[n];
    node.upper = new double[n];
    node.lowerCount = new long[n];
    node.upperCount = new long[n];
    node.left = new double[n * c.length];
    for (int i = 0; i < n; i++) {
      double[] d = drawn.get(i);
      node.feature[i] = drawnFeature.get(i);
      node.lower[i] = d[1];
      node.upper[i] = d[2];
      node.lowerCount[i] = (long) d[3];
      node.upperCount[i] = (long) d[4];
      System.arraycopy(d, 5, node.left, i * c.length, c.length);
    }
    node.chosen = best(node, spec, c);
    if (node.chosen >= 0) {
      node.leftChild = DareNode.MARK;
      node.rightChild = DareNode.MARK;
    }
  }

  /** Draws up to k of a feature's thresholds: those whose keys rank lowest. Each as (unused), values, counts, left statistics. */
  private void draw(DareRows.Histogram h, long key, List<double[]> out) {
    int thresholds = h.size() - 1;
    int k = spec.candidates();
    long cutoff = Long.MAX_VALUE;
    if (thresholds > k) {
      // The k-th lowest key: a bounded heap of the lowest seen so far, largest on top.
      java.util.PriorityQueue<Long> lowest = new java.util.PriorityQueue<>(k, java.util.Comparator.reverseOrder());
      for (int i = 0; i < thresholds; i++) {
        long t = thresholdKey(key, h.values()[i]);
        if (lowest.size() < k) {
          lowest.add(t);
        } else if (t < lowest.peek()) {
          lowest.poll();
          lowest.add(t);
        }
      }
      cutoff = lowest.peek();
    }
    double[] prefix = new double[c.length];
    for (int i = 0; i < thresholds; i++) {
      for (int s = 0; s < c.length; s++) {
        prefix[s] += h.stats()[i * c.length + s];
      }
      if (thresholds <= k || thresholdKey(key, h.values()[i]) <= cutoff) {
        double[] d = new double[5 + c.length];
        d[1] = h.values()[i];
        d[2] = h.values()[i + 1];
        d[3] = h.counts()[i];
        d[4] = h.counts()[i + 1];
        System.arraycopy(prefix, 0, d, 5, c.length);
        out.add(d);
      }
    }
  }

  /** Grows the children of a node that splits, from its rows. */
  void growChildren(DareNode node, int[] at, int tree) {
    int[][] sides = partition(rows, at, node.splitFeature(), node.splitThreshold());
    node.leftChild = grow(sides[0], tree, node.id * 2, node.depth + 1);
    node.rightChild = grow(sides[1], tree, node.id * 2 + 1, node.depth + 1);
  }

  /** A node that splits no further whatever is deleted: at maxDepth, pure, or of one row. */
  static boolean terminal(DareNode node, DareForest.Spec spec, TreeStats c) {
    return node.depth >= spec.trees().maxDepth() || c.count(node.stats) < 2
        || Math.abs(c.impurity(node.stats)) < TreeStats.PURE;
  }

  /** The drawn threshold of best gain, spark.ml's rules; -1 when none may split the node. */
  static int best(DareNode node, DareForest.Spec spec, TreeStats c) {
    double total = c.count(node.stats);
    double impurity = c.impurity(node.stats);
    double[] left = new double[c.length];
    double[] right = new double[c.length];
    int best = -1;
    double bestGain = Double.NEGATIVE_INFINITY;
    int minimum = spec.trees().minInstancesPerNode();
    for (int i = 0; i < node.feature.length; i++) {
      System.arraycopy(node.left, i * c.length, left, 0, c.length);
      double leftCount = c.count(left);
      if (leftCount < minimum || total - leftCount < minimum) {
        continue;
      }
      for (int s = 0; s < c.length; s++) {
        right[s] = node.stats[s] - left[s];
      }
      double gain = c.gain(node.stats, impurity, left, right);
      if (gain >= spec.trees().minInfoGain() && gain > bestGain) {
        bestGain = gain;
        best = i;
      }
    }
    return best >= 0 && bestGain > 0 ? best : -1;
  }

  static int[][] partition(DareRows rows, int[] at, long id, double threshold) {
    int f = rows.columnOf(id);
    double[] x = f < 0 ? null : rows.column(f);
    int[] left = new int[at.length];
    int[] right = new int[at.length];
    int l = 0;
    int r = 0;
    for (int row : at) {
      if ((x == null ? 0.0 : x[row]) <= threshold) {
        left[l++] = row;
      } else {
        right[r++] = row;
      }
    }
    return new int[][] {Arrays.copyOf(left, l), Arrays.copyOf(right, r)};
  }

  // Randomness: a function of the node.

  private static long mix(long z) {
    z += 0x9E3779B97F4A7C15L;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  private static long nodeKey(DareForest.Spec spec, int tree, long id) {
    return mix(mix(spec.trees().seed() ^ mix(tree)) ^ id);
  }

  private static long featureKey(long node, long id) {
    return mix(node ^ mix(0x5DEECE66DL + id));
  }

  private static long thresholdKey(long feature, double lower) {
    return mix(feature ^ Double.doubleToLongBits(lower + 0.0));
  }

  /** The columns of the rows in the node's random order of their features. */
  private static Integer[] featureOrder(long node, DareRows rows) {
    int width = rows.ids.length;
    Integer[] order = new Integer[width];
    long[] key = new long[width];
    for (int f = 0; f < width; f++) {
      order[f] = f;
      key[f] = featureKey(node, rows.ids[f]);
    }
    Arrays.sort(order, (a, b) -> Long.compare(key[a], key[b]));
    return order;
  }
}
