package io.lethe.internal.engine;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.Serializable;
import java.util.Arrays;

/**
 * One node of a {@link DareForest} tree: its place (its id: the root 1, children 2i and 2i + 1),
 * its label statistics, and what it chose. A greedy node keeps its drawn thresholds, each with its
 * two neighbouring values, their row counts and the left side's label statistics, and which one it
 * splits on; a random node its feature's smallest and largest values with their counts and its
 * threshold. Children are null at a leaf.
 */
final class DareNode implements Serializable {
  private static final long serialVersionUID = 1L;

  static final byte LEAF = 0;
  static final byte GREEDY = 1;
  static final byte RANDOM = 2;
  /** Stands for a child to grow. */
  static final DareNode MARK = new DareNode();

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
  DareNode leftChild;
  DareNode rightChild;

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

  boolean sameAs(DareNode o, double tolerance) {
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

  /** Makes this node a leaf of its statistics, its choices dropped. */
  DareNode leaf() {
    kind = LEAF;
    leftChild = null;
    rightChild = null;
    chosen = -1;
    feature = new long[0];
    lower = new double[0];
    upper = new double[0];
    lowerCount = new long[0];
    upperCount = new long[0];
    left = new double[0];
    return this;
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

  /** Writes the node and its subtree in pre-order. */
  static void write(DataOutputStream out, DareNode n) throws IOException {
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

  /** Reads a node and its subtree written by {@link #write}. */
  static DareNode read(DataInputStream in) throws IOException {
    DareNode n = new DareNode();
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
