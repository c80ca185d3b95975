package io.lethe.internal.engine;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Each feature's candidate thresholds and every row's bin per feature: the bin of a value is the
 * first threshold it does not exceed (the last bin: above them all). Thresholds as spark.ml finds
 * them for a continuous feature: the midpoints between neighbouring distinct values when there
 * are at most {@code maxBins - 1} of them, else the midpoints where the running count of values
 * comes closest to each multiple of {@code rows / maxBins}.
 */
final class TreeBins {
  final double[][] thresholds;
  /** Per feature, per row: the bin. */
  final char[][] bin;

  private TreeBins(double[][] thresholds, char[][] bin) {
    this.thresholds = thresholds;
    this.bin = bin;
  }

  static TreeBins of(ShardMatrix m, int maxBins) {
    int n = m.rows();
    int width = m.width();
    int[] nonzeros = new int[width];
    for (int p = 0; p < m.column().length; p++) {
      if (m.value()[p] != 0.0) {
        nonzeros[m.column()[p]]++;
      }
    }
    double[][] values = new double[width][];
    for (int j = 0; j < width; j++) {
      values[j] = new double[nonzeros[j]];
    }
    int[] filled = new int[width];
    for (int p = 0; p < m.column().length; p++) {
      if (m.value()[p] != 0.0) {
        int j = m.column()[p];
        values[j][filled[j]++] = m.value()[p];
      }
    }
    double[][] thresholds = new double[width][];
    char[][] bin = new char[width][];
    for (int j = 0; j < width; j++) {
      Arrays.sort(values[j]);
      thresholds[j] = thresholds(values[j], n - values[j].length, maxBins - 1);
      bin[j] = new char[n];
      Arrays.fill(bin[j], (char) binOf(thresholds[j], 0.0));
    }
    for (int r = 0; r < n; r++) {
      for (int p = m.rowStart()[r]; p < m.rowStart()[r + 1]; p++) {
        int j = m.column()[p];
        bin[j][r] = (char) binOf(thresholds[j], m.value()[p]);
      }
    }
    return new TreeBins(thresholds, bin);
  }

  static int binOf(double[] thresholds, double value) {
    int at = Arrays.binarySearch(thresholds, value);
    return at >= 0 ? at : -at - 1;
  }

  /** The thresholds of one feature from its sorted nonzero values and its count of zeros. */
  static double[] thresholds(double[] sortedNonzero, int zeros, int numSplits) {
    List<double[]> counts = new ArrayList<>(); // distinct value, count; ascending
    boolean zeroAdded = zeros == 0;
    for (int i = 0; i < sortedNonzero.length; i++) {
      double v = sortedNonzero[i];
      if (!zeroAdded && v > 0) {
        counts.add(new double[] {0.0, zeros});
        zeroAdded = true;
      }
      if (!counts.isEmpty() && counts.get(counts.size() - 1)[0] == v) {
        counts.get(counts.size() - 1)[1]++;
      } else {
        counts.add(new double[] {v, 1});
      }
    }
    if (!zeroAdded) {
      counts.add(new double[] {0.0, zeros});
    }
    int possible = counts.size() - 1;
    if (possible <= 0 || numSplits <= 0) {
      return new double[0];
    }
    if (possible <= numSplits) {
      double[] out = new double[possible];
      for (int i = 1; i <= possible; i++) {
        out[i - 1] = (counts.get(i - 1)[0] + counts.get(i)[0]) / 2.0;
      }
      return out;
    }
    double total = sortedNonzero.length + zeros;
    double stride = total / (numSplits + 1);
    double[] out = new double[numSplits];
    int found = 0;
    double current = counts.get(0)[1];
    double target = stride;
    for (int i = 1; i < counts.size() && found < numSplits; i++) {
      double previous = current;
      current += counts.get(i)[1];
      if (Math.abs(previous - target) < Math.abs(current - target)) {
        out[found++] = (counts.get(i - 1)[0] + counts.get(i)[0]) / 2.0;
        target += stride;
      }
    }
    return Arrays.copyOf(out, found);
  }
}
