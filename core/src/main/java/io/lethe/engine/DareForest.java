package io.lethe.engine;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.zip.DeflaterOutputStream;
import java.util.zip.InflaterInputStream;
import org.apache.spark.ml.tree.ContinuousSplit;
import org.apache.spark.ml.tree.InternalNode;
import org.apache.spark.ml.tree.LeafNode;
import org.apache.spark.ml.tree.Node;

/**
 * Data removal-enabled trees (DaRE, Brophy and Lowd, ICML 2021), for any number of classes and for
 * regression: a forest whose rows can be deleted without growing it again, with the result a
 * training from scratch on the remaining rows gives, tree for tree.
 *
 * <p><b>Training.</b> Every tree sees all the shard's rows (no bootstrap). A node at depth under
 * {@code randomDepth} splits at random: the first feature, in a random order, that is not constant
 * at the node, at a threshold drawn uniformly between its smallest and largest value there. A deeper
 * node is greedy: it takes the first {@code featuresPerNode} non-constant features of a random order;
 * for each, the midpoints between neighbouring distinct values are its thresholds, and up to
 * {@code candidates} of them are drawn uniformly; the best of the drawn thresholds by information
 * gain splits the node (spark.ml's rules: {@code minInstancesPerNode}, {@code minInfoGain}, a
 * positive gain), else it is a leaf. A node at {@code maxDepth}, pure, or of one row is a leaf.
 *
 * <p><b>The randomness is a function of the node, not of a sequence.</b> Each draw is a hash of the
 * seed, the tree, the node's place in it and what is drawn (a feature, a threshold by the lower of
 * its two values). So a node with the same rows makes the same choices in any training, and a
 * deletion can tell whether a node's choices still hold from the statistics it keeps: a drawn
 * threshold's two neighbouring values and their row counts, its left side's label statistics, the
 * node's own; for a random node, its feature's smallest and largest value and their counts.
 *
 * <p><b>Deleting.</b> The deleted rows walk their paths, their statistics subtracted at every node.
 * A node whose drawn thresholds all keep both their values, and whose best threshold is still the
 * one it split on, keeps its split, and the rows go on down. A node where a drawn value is gone (the
 * draw or a threshold moved) is recomputed from its remaining rows; where its split changed, the
 * subtree under it is grown again from those rows. The result is the forest a training from
 * scratch on the remaining rows gives for the same seed: equal for classification, whose statistics
 * are counts; for regression equal up to the rounding of the label sums subtracted.
 *
 * <p>Where it differs from spark.ml's forests: no bootstrap, thresholds drawn instead of binned,
 * and {@code minWeightFractionPerNode} not kept (it depends on the shard's size).
 */
public final class DareForest implements Serializable {
  private static final long serialVersionUID = 1L;
  /** The layout of {@link #toBytes}; a state of another is not read. */
  private static final int FORMAT = 1;
  /** A node's rows at most this many are sorted to find its values, instead of ranking the feature's. */
  private static final int SORT_BELOW = 2048;

  private static final byte LEAF = 0;
  private static final byte GREEDY = 1;
  private static final byte RANDOM = 2;

  /**
   * The learner's settings: the forest's (from the estimator's parameters) and DaRE's own.
   *
   * @param trees the tree settings: classes, impurity, maxDepth, minInstancesPerNode, minInfoGain,
   *     numTrees, featureSubsetStrategy and seed are read
   * @param candidates the thresholds drawn per feature at a greedy node (DaRE's k)
   * @param randomDepth the depths at the top of each tree whose nodes split at random (DaRE's d_rmax)
   */
  public record Spec(LocalTrees.Spec trees, int candidates, int randomDepth) implements LocalFit {
    @Override
    public Serializable fit(ShardMatrix rows) {
      throw new UnsupportedOperationException("DaRE names each feature: fit(rows, features)");
    }

    @Override
    public Serializable fit(ShardMatrix rows, Features features) {
      long[] ids = features.columnIds();
      DareForest forest = DareForest.fit(rows, ids, this);
      return new LocalFit.WithState(forest.toForest(ids), Map.of(FILE_NAME, new Saved(forest.toBytes())));
    }

    @Override
    public String describe(Serializable fitted) {
      return trees.describe(((LocalFit.WithState) fitted).fitted()) + ", with their DaRE statistics";
    }
  }

  /** The file beside a sub-model that keeps its forest's DaRE statistics. */
  public static final String FILE_NAME = "lethe-dare.json";

  /** The statistics as a state file holds them: the forest's bytes, compressed. */
  public record Saved(byte[] forest) implements Serializable {}

  /** What a deletion did: rows deleted, nodes whose statistics changed, recomputed, and grown again. */
  public record Deletion(long rows, long nodesVisited, long nodesRecomputed, long subtreesRebuilt, long nodesRebuilt,
      long nodesAfter, boolean readRows) {
    /** The share of the forest's nodes grown again from rows. */
    public double shareRebuilt() {
      return nodesAfter == 0 ? 0.0 : (double) nodesRebuilt / nodesAfter;
    }
  }

  private final Spec spec;
  /** The features' count the forest last saw: what a node's number of features is drawn from. */
  private int width;
  private final Node_[] roots;
  private transient TreeStats calc;

  private DareForest(Spec spec, int width, Node_[] roots) {
    this.spec = spec;
    this.width = width;
    this.roots = roots;
  }

  public Spec spec() {
    return spec;
  }

  /**
   * Trains a forest on the rows, whose columns are named by {@code ids}: a feature's identity,
   * whatever its column (a category's column moves when the categories' order does).
   */
  public static DareForest fit(ShardMatrix m, long[] ids, Spec spec) {
    DareForest forest = new DareForest(spec, m.width(), new Node_[spec.trees().numTrees()]);
    Grower g = forest.new Grower(new Rows(m, ids), true);
    int[] all = new int[m.rows()];
    for (int r = 0; r < all.length; r++) {
      all[r] = r;
    }
    for (int t = 0; t < forest.roots.length; t++) {
      forest.roots[t] = g.grow(all, t, 1L, 0);
    }
    return forest;
  }

  /**
   * The trees as spark.ml nodes over columns named by {@code ids} (a split whose two leaves predict
   * alike pruned, as spark.ml prunes).
   */
  public LocalTrees.Forest toForest(long[] ids) {
    Map<Long, Integer> column = new java.util.HashMap<>();
    for (int k = 0; k < ids.length; k++) {
      column.put(ids[k], k);
    }
    Node[] trees = new Node[roots.length];
    for (int t = 0; t < trees.length; t++) {
      trees[t] = spark(roots[t], column);
    }
    return new LocalTrees.Forest(trees, null, ids.length);
  }

  /**
   * Whether rows of {@code features} features draw as many features per node as the forest's
   * training did (a category gone from the shard can change it; the forest must then grow again).
   */
  public boolean drawsAlike(int features) {
    LocalTrees.Spec s = spec.trees();
    return Math.min(width, s.featuresPerNode(width)) == Math.min(features, s.featuresPerNode(features));
  }

  /** The number of nodes in the forest. */
  public long nodes() {
    long n = 0;
    for (Node_ root : roots) {
      n += root.size();
    }
    return n;
  }

  /**
   * Deletes rows: {@code deleted} holds them, featurized as the forest's training rows were, its
   * columns named by {@code deletedIds}; {@code remaining} gives the rows left, its columns named by
   * {@code remainingIds}, read only if a node must be recomputed. Returns what it did; the forest is
   * then what training on the remaining rows gives.
   */
  public Deletion delete(ShardMatrix deleted, long[] deletedIds, Supplier<ShardMatrix> remaining,
      long[] remainingIds) {
    if (!drawsAlike(remainingIds.length)) {
      throw new IllegalArgumentException("the features per node changed with the number of features");
    }
    width = remainingIds.length;
    Deleter d = new Deleter(new Rows(deleted, deletedIds), memo(() -> new Rows(remaining.get(), remainingIds)));
    int[] all = new int[deleted.rows()];
    for (int r = 0; r < all.length; r++) {
      all[r] = r;
    }
    for (int t = 0; t < roots.length; t++) {
      roots[t] = d.delete(roots[t], all, t, d.rootRows());
    }
    return new Deletion(deleted.rows(), d.visited, d.recomputed, d.rebuilt, d.rebuiltNodes, nodes(), d.read);
  }

  /** Whether two forests are the same: every node's choices and statistics ({@code tolerance} for regression's sums). */
  public boolean sameAs(DareForest other, double tolerance) {
    if (other.roots.length != roots.length || other.width != width) {
      return false;
    }
    for (int t = 0; t < roots.length; t++) {
      if (!roots[t].sameAs(other.roots[t], tolerance)) {
        return false;
      }
    }
    return true;
  }

  private TreeStats calc() {
    if (calc == null) {
      LocalTrees.Spec s = spec.trees();
      calc = new TreeStats(s.regression(), s.impurity().equalsIgnoreCase("entropy"), s.classes());
    }
    return calc;
  }

  // ---- nodes ----

  /** One node: its place, statistics and choices. Children are null at a leaf. */
  private static final class Node_ implements Serializable {
    private static final long serialVersionUID = 1L;
    long id;
    int depth;
    byte kind;
    double[] stats;
    // A greedy node: its drawn thresholds, by feature then value; the one it splits on (-1: a leaf).
    long[] feature = new long[0];
    double[] lower = new double[0];
    double[] upper = new double[0];
    long[] lowerCount = new long[0];
    long[] upperCount = new long[0];
    double[] left = new double[0];
    int chosen = -1;
    // A random node: its feature's smallest and largest values and their counts, and its threshold.
    long randomFeature;
    double lo;
    double hi;
    long loCount;
    long hiCount;
    double threshold;
    Node_ leftChild;
    Node_ rightChild;

    boolean splits() {
      return leftChild != null;
    }

    long splitFeature() {
      return kind == RANDOM ? randomFeature : feature[chosen];
    }

    double splitThreshold() {
      return kind == RANDOM ? threshold : midpoint(lower[chosen], upper[chosen]);
    }

    long size() {
      return 1 + (splits() ? leftChild.size() + rightChild.size() : 0);
    }

    boolean sameAs(Node_ o, double tolerance) {
      if (o.id != id || o.kind != kind || o.splits() != splits() || !close(stats, o.stats, tolerance)) {
        return false;
      }
      if (kind == GREEDY && (chosen != o.chosen || !Arrays.equals(feature, o.feature) || !Arrays.equals(lower, o.lower)
          || !Arrays.equals(upper, o.upper) || !Arrays.equals(lowerCount, o.lowerCount)
          || !Arrays.equals(upperCount, o.upperCount) || !close(left, o.left, tolerance))) {
        return false;
      }
      if (kind == RANDOM && (randomFeature != o.randomFeature || lo != o.lo || hi != o.hi || loCount != o.loCount
          || hiCount != o.hiCount || threshold != o.threshold)) {
        return false;
      }
      return !splits() || leftChild.sameAs(o.leftChild, tolerance) && rightChild.sameAs(o.rightChild, tolerance);
    }
  }

  private static boolean close(double[] a, double[] b, double tolerance) {
    if (a.length != b.length) {
      return false;
    }
    for (int i = 0; i < a.length; i++) {
      if (Math.abs(a[i] - b[i]) > tolerance * Math.max(1.0, Math.abs(a[i]))) {
        return false;
      }
    }
    return true;
  }

  /** The threshold between two neighbouring values: their midpoint, never the upper one itself. */
  static double midpoint(double lower, double upper) {
    double t = lower + (upper - lower) / 2;
    return t >= upper ? lower : t;
  }

  // ---- the rows ----

  /**
   * Rows of a matrix, read by column: each feature's values as a dense column and, for training,
   * its distinct values with each row's rank among them, made on first need; the columns named by
   * feature ids.
   */
  private static final class Rows {
    final ShardMatrix m;
    final long[] ids;
    private final Map<Long, Integer> column = new java.util.HashMap<>();
    private final double[][] dense;
    private final double[][] distinct;
    private final int[][] rank;
    /** Per column, where its entries start in {@link #entryRow} and {@link #entryValue} (made on first need). */
    private int[] entryStart;
    private int[] entryRow;
    private double[] entryValue;

    Rows(ShardMatrix m, long[] ids) {
      if (ids.length != m.width()) {
        throw new IllegalArgumentException(ids.length + " feature ids for " + m.width() + " columns");
      }
      this.m = m;
      this.ids = ids;
      for (int k = 0; k < ids.length; k++) {
        column.put(ids[k], k);
      }
      dense = new double[ids.length][];
      distinct = new double[ids.length][];
      rank = new int[ids.length][];
    }

    /** The column of a feature, or -1 when these rows have none (every value 0: a category none of them holds). */
    int columnOf(long id) {
      return column.getOrDefault(id, -1);
    }

    /** The value of feature {@code id} in row r. */
    double valueOf(int r, long id) {
      int f = columnOf(id);
      return f < 0 ? 0.0 : m.value().length == 0 ? 0.0 : sparse(r, f);
    }

    private double sparse(int r, int f) {
      int p = Arrays.binarySearch(m.column(), m.rowStart()[r], m.rowStart()[r + 1], f);
      return p >= 0 ? m.value()[p] : 0.0;
    }

    int size() {
      return m.rows();
    }

    double label(int r) {
      return m.label()[r];
    }

    /** Column f's value in every row. */
    double[] column(int f) {
      if (dense[f] == null) {
        if (entryStart == null) {
          byColumn();
        }
        double[] out = new double[m.rows()];
        for (int p = entryStart[f]; p < entryStart[f + 1]; p++) {
          out[entryRow[p]] = entryValue[p];
        }
        dense[f] = out;
      }
      return dense[f];
    }

    /** The stored entries regrouped by column: one pass. */
    private void byColumn() {
      int width = m.width();
      int[] start = new int[width + 1];
      for (int c : m.column()) {
        start[c + 1]++;
      }
      for (int f = 0; f < width; f++) {
        start[f + 1] += start[f];
      }
      int[] fill = start.clone();
      int[] rows = new int[m.column().length];
      double[] values = new double[m.column().length];
      for (int r = 0; r < m.rows(); r++) {
        for (int p = m.rowStart()[r]; p < m.rowStart()[r + 1]; p++) {
          int at = fill[m.column()[p]]++;
          rows[at] = r;
          values[at] = m.value()[p];
        }
      }
      entryStart = start;
      entryRow = rows;
      entryValue = values;
    }

    boolean ranked(int f) {
      return rank[f] != null;
    }

    /** Column f's distinct values ascending (after {@link #rank}). */
    double[] distinct(int f) {
      return distinct[f];
    }

    /** Each row's rank among column f's distinct values. */
    int[] rank(int f) {
      if (rank[f] == null) {
        double[] x = column(f);
        double[] v = x.clone();
        Arrays.sort(v);
        int k = 0;
        for (int i = 0; i < v.length; i++) {
          if (k == 0 || v[i] != v[k - 1]) {
            v[k++] = v[i];
          }
        }
        double[] values = Arrays.copyOf(v, k);
        int[] ranks = new int[x.length];
        for (int r = 0; r < x.length; r++) {
          ranks[r] = Arrays.binarySearch(values, x[r]);
        }
        distinct[f] = values;
        rank[f] = ranks;
      }
      return rank[f];
    }
  }

  /** A feature's distinct values at a node, ascending, with each one's row count and label statistics. */
  private record Histogram(double[] values, long[] counts, double[] stats) {
    int size() {
      return values.length;
    }
  }

  // ---- randomness: a function of the node ----

  private static long mix(long z) {
    z += 0x9E3779B97F4A7C15L;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  private long nodeKey(int tree, long id) {
    return mix(mix(spec.trees().seed() ^ mix(tree)) ^ id);
  }

  private static long featureKey(long node, long id) {
    return mix(node ^ mix(0x5DEECE66DL + id));
  }

  private static long thresholdKey(long feature, double lower) {
    return mix(feature ^ Double.doubleToLongBits(lower + 0.0));
  }

  /** The columns of the rows in the node's random order of their features. */
  private static Integer[] featureOrder(long node, Rows rows) {
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

  // ---- growing ----

  /** Grows nodes from rows of one matrix. */
  private final class Grower {
    final Rows rows;
    final TreeStats c = calc();
    final int perNode;
    /** Whether it grows a whole forest (ranks pay off), or regrows parts of one after a deletion (sorting does). */
    final boolean training;

    Grower(Rows rows, boolean training) {
      this.rows = rows;
      this.training = training;
      int w = rows.ids.length;
      this.perNode = Math.max(1, Math.min(w, spec.trees().featuresPerNode(w)));
    }

    Node_ grow(int[] at, int tree, long id, int depth) {
      Node_ node = choose(at, tree, id, depth);
      if (node.splits()) {
        growChildren(node, at, tree);
      }
      return node;
    }

    /** The node's statistics and choices from its rows; its children are marked (not grown) when it splits. */
    Node_ choose(int[] at, int tree, long id, int depth) {
      Node_ node = new Node_();
      node.id = id;
      node.depth = depth;
      node.stats = new double[c.length];
      for (int r : at) {
        c.add(node.stats, 0, rows.label(r), 1);
      }
      node.kind = LEAF;
      if (terminal(node)) {
        return node;
      }
      long key = nodeKey(tree, id);
      if (depth < spec.randomDepth()) {
        chooseRandom(node, at, key);
      } else {
        chooseGreedy(node, at, key);
      }
      return node;
    }

    private void chooseRandom(Node_ node, int[] at, long key) {
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
          node.kind = RANDOM;
          node.randomFeature = rows.ids[f];
          node.lo = lo;
          node.hi = hi;
          node.loCount = loCount;
          node.hiCount = hiCount;
          double u = (mix(key ^ 0x2545F4914F6CDD1DL) >>> 11) * 0x1.0p-53;
          double t = lo + u * (hi - lo);
          node.threshold = t >= hi ? lo : t;
          node.leftChild = MARK;
          node.rightChild = MARK;
          return;
        }
      }
    }

    private void chooseGreedy(Node_ node, int[] at, long key) {
      List<Integer> sampled = new ArrayList<>();
      List<Histogram> histograms = new ArrayList<>();
      for (int f : featureOrder(key, rows)) {
        if (sampled.size() == perNode) {
          break;
        }
        Histogram h = histogram(f, at);
        if (h.size() > 1) {
          sampled.add(f);
          histograms.add(h);
        }
      }
      if (sampled.isEmpty()) {
        return; // every feature is constant here: a leaf for good
      }
      node.kind = GREEDY;
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
      node.chosen = best(node);
      if (node.chosen >= 0) {
        node.leftChild = MARK;
        node.rightChild = MARK;
      }
    }

    /** Draws up to k of a feature's thresholds: those whose keys rank lowest. Each as (unused), values, counts, left statistics. */
    private void draw(Histogram h, long key, List<double[]> out) {
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

    /**
     * Feature f's distinct values at the node, with their counts and label statistics: counted by
     * the values' ranks in training, where they are made once and serve every node large enough,
     * else sorted.
     */
    Histogram histogram(int f, int[] at) {
      double[] x = rows.column(f);
      if (training && (rows.ranked(f) || at.length * 4L >= rows.size())
          && (!rows.ranked(f) || rows.distinct(f).length <= 4L * at.length)) {
        int[] ranks = rows.rank(f);
        double[] all = rows.distinct(f);
        if (all.length <= 4L * at.length) {
          long[] counts = new long[all.length];
          double[] stats = new double[all.length * c.length];
          for (int r : at) {
            int k = ranks[r];
            counts[k]++;
            c.add(stats, k * c.length, rows.label(r), 1);
          }
          int present = 0;
          for (long n : counts) {
            present += n > 0 ? 1 : 0;
          }
          double[] values = new double[present];
          long[] kept = new long[present];
          double[] keptStats = new double[present * c.length];
          int i = 0;
          for (int k = 0; k < all.length; k++) {
            if (counts[k] > 0) {
              values[i] = all[k];
              kept[i] = counts[k];
              System.arraycopy(stats, k * c.length, keptStats, i * c.length, c.length);
              i++;
            }
          }
          return new Histogram(values, kept, keptStats);
        }
      }
      if (!c.regression) {
        return sortedByClass(x, at);
      }
      double[] sorted = new double[at.length];
      for (int i = 0; i < at.length; i++) {
        sorted[i] = x[at[i]];
      }
      Arrays.sort(sorted);
      int k = 0;
      for (int i = 0; i < sorted.length; i++) {
        if (k == 0 || sorted[i] != sorted[k - 1]) {
          sorted[k++] = sorted[i];
        }
      }
      double[] values = Arrays.copyOf(sorted, k);
      long[] counts = new long[k];
      double[] stats = new double[k * c.length];
      for (int r : at) {
        int slot = k == 1 ? 0 : Arrays.binarySearch(values, x[r]);
        counts[slot]++;
        c.add(stats, slot * c.length, rows.label(r), 1);
      }
      return new Histogram(values, counts, stats);
    }

    /** A classification histogram by sorting each class's values and merging them: no search per row. */
    private Histogram sortedByClass(double[] x, int[] at) {
      int classes = c.length;
      int[] size = new int[classes];
      for (int r : at) {
        size[(int) rows.label(r)]++;
      }
      double[][] byClass = new double[classes][];
      for (int k = 0; k < classes; k++) {
        byClass[k] = new double[size[k]];
      }
      int[] fill = new int[classes];
      for (int r : at) {
        int k = (int) rows.label(r);
        byClass[k][fill[k]++] = x[r];
      }
      for (double[] v : byClass) {
        Arrays.sort(v);
      }
      double[] values = new double[at.length];
      long[] counts = new long[at.length];
      double[] stats = new double[at.length * classes];
      int[] next = new int[classes];
      int n = 0;
      while (true) {
        double lowest = Double.POSITIVE_INFINITY;
        boolean any = false;
        for (int k = 0; k < classes; k++) {
          if (next[k] < size[k] && (!any || byClass[k][next[k]] < lowest)) {
            lowest = byClass[k][next[k]];
            any = true;
          }
        }
        if (!any) {
          break;
        }
        values[n] = lowest;
        for (int k = 0; k < classes; k++) {
          int from = next[k];
          while (next[k] < size[k] && byClass[k][next[k]] == lowest) {
            next[k]++;
          }
          stats[n * classes + k] = next[k] - from;
          counts[n] += next[k] - from;
        }
        n++;
      }
      return new Histogram(Arrays.copyOf(values, n), Arrays.copyOf(counts, n), Arrays.copyOf(stats, n * classes));
    }

    /** Grows the children of a node that splits, from its rows. */
    void growChildren(Node_ node, int[] at, int tree) {
      int[][] sides = partition(rows, at, node.splitFeature(), node.splitThreshold());
      node.leftChild = grow(sides[0], tree, node.id * 2, node.depth + 1);
      node.rightChild = grow(sides[1], tree, node.id * 2 + 1, node.depth + 1);
    }
  }

  /** Stands for a child to grow. */
  private static final Node_ MARK = new Node_();

  /** A node that splits no further whatever is deleted: at maxDepth, pure, or of one row. */
  private boolean terminal(Node_ node) {
    TreeStats c = calc();
    return node.depth >= spec.trees().maxDepth() || c.count(node.stats) < 2
        || Math.abs(c.impurity(node.stats)) < TreeStats.PURE;
  }

  /** The drawn threshold of best gain, spark.ml's rules; -1 when none may split the node. */
  private int best(Node_ node) {
    TreeStats c = calc();
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

  private static int[][] partition(Rows rows, int[] at, long id, double threshold) {
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

  // ---- deleting ----

  private final class Deleter {
    final Rows deleted;
    final Supplier<Rows> remaining;
    final TreeStats c = calc();
    long visited;
    long recomputed;
    long rebuilt;
    long rebuiltNodes;
    boolean read;

    Deleter(Rows deleted, Supplier<Rows> remaining) {
      this.deleted = deleted;
      this.remaining = () -> {
        read = true;
        return remaining.get();
      };
    }

    Supplier<int[]> rootRows() {
      return memo(() -> {
        int[] all = new int[remaining.get().size()];
        for (int r = 0; r < all.length; r++) {
          all[r] = r;
        }
        return all;
      });
    }

    /** The node after deleting rows {@code del} of the deleted matrix from it; {@code here} gives its remaining rows. */
    Node_ delete(Node_ node, int[] del, int tree, Supplier<int[]> here) {
      if (del.length == 0) {
        return node;
      }
      visited++;
      for (int r : del) {
        c.add(node.stats, 0, deleted.label(r), -1);
      }
      if (node.kind == LEAF) {
        return node; // a leaf for good (maxDepth, pure, one row, or every feature constant) stays one
      }
      if (terminal(node)) {
        node.kind = LEAF;
        node.leftChild = null;
        node.rightChild = null;
        node.chosen = -1;
        return leafFromStats(node);
      }
      boolean moved = node.kind == RANDOM ? deleteRandom(node, del) : deleteGreedy(node, del);
      if (moved) {
        // A drawn value is gone: the node's choices come again from its rows.
        recomputed++;
        Node_ fresh = new Grower(remaining.get(), false).choose(here.get(), tree, node.id, node.depth);
        if (!sameSplit(node, fresh)) {
          return regrow(fresh, here, tree);
        }
        fresh.leftChild = node.leftChild;
        fresh.rightChild = node.rightChild;
        node = fresh;
      } else if (node.kind == GREEDY) {
        int chosen = best(node);
        if (chosen != node.chosen) {
          // Its drawn thresholds hold, but another one is now best, or none: the subtree changes.
          node.chosen = chosen;
          node.leftChild = chosen >= 0 ? MARK : null;
          node.rightChild = node.leftChild;
          return regrow(node, here, tree);
        }
      }
      if (!node.splits()) {
        return node;
      }
      long f = node.splitFeature();
      double t = node.splitThreshold();
      int[][] sides = partition(deleted, del, f, t);
      Supplier<int[][]> split = memo(() -> partition(remaining.get(), here.get(), f, t));
      node.leftChild = delete(node.leftChild, sides[0], tree, () -> split.get()[0]);
      node.rightChild = delete(node.rightChild, sides[1], tree, () -> split.get()[1]);
      return node;
    }

    private Node_ leafFromStats(Node_ node) {
      node.feature = new long[0];
      node.lower = new double[0];
      node.upper = new double[0];
      node.lowerCount = new long[0];
      node.upperCount = new long[0];
      node.left = new double[0];
      return node;
    }

    /** A node whose split changed, its subtree grown again from its rows. */
    private Node_ regrow(Node_ fresh, Supplier<int[]> here, int tree) {
      rebuilt++;
      if (fresh.splits()) {
        new Grower(remaining.get(), false).growChildren(fresh, here.get(), tree);
      }
      rebuiltNodes += fresh.size();
      return fresh;
    }

    /** Subtracts the rows from a random node's counts; true when its smallest or largest value is gone. */
    private boolean deleteRandom(Node_ node, int[] del) {
      for (int r : del) {
        double x = deleted.valueOf(r, node.randomFeature);
        if (x == node.lo) {
          node.loCount--;
        }
        if (x == node.hi) {
          node.hiCount--;
        }
      }
      return node.loCount <= 0 || node.hiCount <= 0;
    }

    /** Subtracts the rows from a greedy node's drawn thresholds; true when one of their values is gone. */
    private boolean deleteGreedy(Node_ node, int[] del) {
      boolean moved = false;
      for (int r : del) {
        double y = deleted.label(r);
        double x = 0;
        for (int i = 0; i < node.feature.length; i++) {
          if (i == 0 || node.feature[i] != node.feature[i - 1]) {
            x = deleted.valueOf(r, node.feature[i]);
          }
          if (x == node.lower[i]) {
            moved |= --node.lowerCount[i] <= 0;
          }
          if (x == node.upper[i]) {
            moved |= --node.upperCount[i] <= 0;
          }
          if (x <= node.lower[i]) {
            c.add(node.left, i * c.length, y, -1);
          }
        }
      }
      return moved;
    }
  }

  private static boolean sameSplit(Node_ a, Node_ b) {
    if (a.splits() != b.splits()) {
      return false;
    }
    return !a.splits() || a.splitFeature() == b.splitFeature() && a.splitThreshold() == b.splitThreshold();
  }

  private static <T> Supplier<T> memo(Supplier<T> make) {
    return new Supplier<>() {
      private T value;

      @Override
      public T get() {
        if (value == null) {
          value = make.get();
        }
        return value;
      }
    };
  }

  // ---- spark.ml's nodes ----

  private Node spark(Node_ node, Map<Long, Integer> column) {
    TreeStats c = calc();
    double impurity = c.impurity(node.stats);
    if (!node.splits()) {
      return new LeafNode(c.predict(node.stats), impurity, c.calculator(node.stats));
    }
    Node l = spark(node.leftChild, column);
    Node r = spark(node.rightChild, column);
    if (l instanceof LeafNode && r instanceof LeafNode && l.prediction() == r.prediction()) {
      return new LeafNode(l.prediction(), impurity, c.calculator(node.stats));
    }
    double gain = c.gain(node.stats, impurity, node.leftChild.stats, node.rightChild.stats);
    return new InternalNode(c.predict(node.stats), impurity, gain, l, r,
        new ContinuousSplit(column.get(node.splitFeature()), node.splitThreshold()), c.calculator(node.stats));
  }

  // ---- bytes ----

  /** The forest as bytes, compressed: its settings and every node in pre-order. */
  public byte[] toBytes() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (DataOutputStream out = new DataOutputStream(new DeflaterOutputStream(bytes))) {
      out.writeInt(FORMAT);
      LocalTrees.Spec s = spec.trees();
      out.writeInt(s.classes());
      out.writeUTF(s.impurity());
      out.writeInt(s.maxDepth());
      out.writeInt(s.minInstancesPerNode());
      out.writeDouble(s.minInfoGain());
      out.writeInt(s.numTrees());
      out.writeUTF(s.featuresPerNode());
      out.writeLong(s.seed());
      out.writeInt(spec.candidates());
      out.writeInt(spec.randomDepth());
      out.writeInt(width);
      for (Node_ root : roots) {
        write(out, root);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }

  private static void write(DataOutputStream out, Node_ n) throws IOException {
    out.writeLong(n.id);
    out.writeInt(n.depth);
    out.writeByte(n.kind);
    out.writeByte(n.splits() ? 1 : 0);
    doubles(out, n.stats);
    if (n.kind == GREEDY) {
      out.writeInt(n.feature.length);
      for (int i = 0; i < n.feature.length; i++) {
        out.writeLong(n.feature[i]);
        out.writeDouble(n.lower[i]);
        out.writeDouble(n.upper[i]);
        out.writeLong(n.lowerCount[i]);
        out.writeLong(n.upperCount[i]);
      }
      doubles(out, n.left);
      out.writeInt(n.chosen);
    } else if (n.kind == RANDOM) {
      out.writeLong(n.randomFeature);
      out.writeDouble(n.lo);
      out.writeDouble(n.hi);
      out.writeLong(n.loCount);
      out.writeLong(n.hiCount);
      out.writeDouble(n.threshold);
    }
    if (n.splits()) {
      write(out, n.leftChild);
      write(out, n.rightChild);
    }
  }

  private static void doubles(DataOutputStream out, double[] v) throws IOException {
    out.writeInt(v.length);
    for (double d : v) {
      out.writeDouble(d);
    }
  }

  private static double[] doubles(DataInputStream in) throws IOException {
    double[] v = new double[in.readInt()];
    for (int i = 0; i < v.length; i++) {
      v[i] = in.readDouble();
    }
    return v;
  }

  /** A forest from {@link #toBytes}; an {@link IllegalArgumentException} for bytes of another layout. */
  public static DareForest fromBytes(byte[] bytes) {
    try (DataInputStream in = new DataInputStream(new InflaterInputStream(new ByteArrayInputStream(bytes)))) {
      int format = in.readInt();
      if (format != FORMAT) {
        throw new IllegalArgumentException("DaRE statistics of layout " + format + ", not " + FORMAT);
      }
      int classes = in.readInt();
      String impurity = in.readUTF();
      int maxDepth = in.readInt();
      int minInstances = in.readInt();
      double minInfoGain = in.readDouble();
      int numTrees = in.readInt();
      String perNode = in.readUTF();
      long seed = in.readLong();
      int candidates = in.readInt();
      int randomDepth = in.readInt();
      int width = in.readInt();
      LocalTrees.Spec trees = new LocalTrees.Spec(classes, impurity, maxDepth, Integer.MAX_VALUE, minInstances, 0.0,
          minInfoGain, numTrees, 1.0, false, perNode, seed, 0, 0.0, "");
      Node_[] roots = new Node_[numTrees];
      for (int t = 0; t < numTrees; t++) {
        roots[t] = read(in);
      }
      return new DareForest(new Spec(trees, candidates, randomDepth), width, roots);
    } catch (IOException e) {
      throw new IllegalArgumentException("Unreadable DaRE statistics: " + e.getMessage(), e);
    }
  }

  private static Node_ read(DataInputStream in) throws IOException {
    Node_ n = new Node_();
    n.id = in.readLong();
    n.depth = in.readInt();
    n.kind = in.readByte();
    boolean splits = in.readByte() == 1;
    n.stats = doubles(in);
    if (n.kind == GREEDY) {
      int k = in.readInt();
      n.feature = new long[k];
      n.lower = new double[k];
      n.upper = new double[k];
      n.lowerCount = new long[k];
      n.upperCount = new long[k];
      for (int i = 0; i < k; i++) {
        n.feature[i] = in.readLong();
        n.lower[i] = in.readDouble();
        n.upper[i] = in.readDouble();
        n.lowerCount[i] = in.readLong();
        n.upperCount[i] = in.readLong();
      }
      n.left = doubles(in);
      n.chosen = in.readInt();
    } else if (n.kind == RANDOM) {
      n.randomFeature = in.readLong();
      n.lo = in.readDouble();
      n.hi = in.readDouble();
      n.loCount = in.readLong();
      n.hiCount = in.readLong();
      n.threshold = in.readDouble();
    }
    if (splits) {
      n.leftChild = read(in);
      n.rightChild = read(in);
    }
    return n;
  }
}
