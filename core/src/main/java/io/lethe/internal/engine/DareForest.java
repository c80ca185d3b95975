package io.lethe.internal.engine;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
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
 *
 * <p>Its parts: {@link DareNode} (a node, written to bytes), {@link DareRows} (rows by column, their
 * values at a node), {@link DareGrower} (the rules and the draws), {@link DareDeleter}.
 */
public final class DareForest implements Serializable {
  private static final long serialVersionUID = 1L;
  /** The layout of {@link #toBytes}; a state of another is not read. */
  private static final int FORMAT = 1;

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
  private final DareNode[] roots;
  private transient TreeStats calc;

  private DareForest(Spec spec, int width, DareNode[] roots) {
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
    DareForest forest = new DareForest(spec, m.width(), new DareNode[spec.trees().numTrees()]);
    DareGrower g = new DareGrower(spec, forest.calc(), new DareRows(m, ids), true);
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
    for (DareNode root : roots) {
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
    DareRows[] rows = new DareRows[1];
    DareDeleter d = new DareDeleter(spec, calc(), new DareRows(deleted, deletedIds), () -> {
      if (rows[0] == null) {
        rows[0] = new DareRows(remaining.get(), remainingIds);
      }
      return rows[0];
    });
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

  // ---- spark.ml's nodes ----

  private Node spark(DareNode node, Map<Long, Integer> column) {
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
      for (DareNode root : roots) {
        DareNode.write(out, root);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
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
      DareNode[] roots = new DareNode[numTrees];
      for (int t = 0; t < numTrees; t++) {
        roots[t] = DareNode.read(in);
      }
      return new DareForest(new Spec(trees, candidates, randomDepth), width, roots);
    } catch (IOException e) {
      throw new IllegalArgumentException("Unreadable DaRE statistics: " + e.getMessage(), e);
    }
  }
}
