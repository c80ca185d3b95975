package io.lethe.internal.engine;

import java.util.Arrays;
import java.util.Map;

/**
 * Rows of a matrix, read by column: each feature's values as a dense column and, for training,
 * its distinct values with each row's rank among them, made on first need; the columns named by
 * feature ids.
 */
final class DareRows {
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

  DareRows(ShardMatrix m, long[] ids) {
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
      double[] values = distinctSorted(x.clone());
      int[] ranks = new int[x.length];
      for (int r = 0; r < x.length; r++) {
        ranks[r] = Arrays.binarySearch(values, x[r]);
      }
      distinct[f] = values;
      rank[f] = ranks;
    }
    return rank[f];
  }

  /** A feature's distinct values at a node, ascending, with each one's row count and label statistics. */
  record Histogram(double[] values, long[] counts, double[] stats) {
    int size() {
      return values.length;
    }
  }

  /**
   * Feature f's distinct values at the node, with their counts and label statistics: counted by
   * the values' ranks when {@code training} (made once, they serve every node large enough),
   * else sorted.
   */
  Histogram histogram(int f, int[] at, TreeStats c, boolean training) {
    double[] x = column(f);
    if (training && (ranked(f) || at.length * 4L >= size())
        && (!ranked(f) || distinct(f).length <= 4L * at.length)) {
      int[] ranks = rank(f);
      double[] all = distinct(f);
      if (all.length <= 4L * at.length) {
        long[] counts = new long[all.length];
        double[] stats = new double[all.length * c.length];
        for (int r : at) {
          int k = ranks[r];
          counts[k]++;
          c.add(stats, k * c.length, label(r), 1);
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
      return sortedByClass(x, at, c);
    }
    double[] atNode = new double[at.length];
    for (int i = 0; i < at.length; i++) {
      atNode[i] = x[at[i]];
    }
    double[] values = distinctSorted(atNode);
    int k = values.length;
    long[] counts = new long[k];
    double[] stats = new double[k * c.length];
    for (int r : at) {
      int slot = k == 1 ? 0 : Arrays.binarySearch(values, x[r]);
      counts[slot]++;
      c.add(stats, slot * c.length, label(r), 1);
    }
    return new Histogram(values, counts, stats);
  }

  /** A classification histogram by sorting each class's values and merging them: no search per row. */
  private Histogram sortedByClass(double[] x, int[] at, TreeStats c) {
    int classes = c.length;
    int[] size = new int[classes];
    for (int r : at) {
      size[(int) label(r)]++;
    }
    double[][] byClass = new double[classes][];
    for (int k = 0; k < classes; k++) {
      byClass[k] = new double[size[k]];
    }
    int[] fill = new int[classes];
    for (int r : at) {
      int k = (int) label(r);
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

  /** The distinct values, ascending (sorts {@code values} in place). */
  private static double[] distinctSorted(double[] values) {
    Arrays.sort(values);
    int k = 0;
    for (int i = 0; i < values.length; i++) {
      if (k == 0 || values[i] != values[k - 1]) {
        values[k++] = values[i];
      }
    }
    return Arrays.copyOf(values, k);
  }
}
