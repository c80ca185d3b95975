package io.lethe.internal.engine;

/**
 * A shard's feature vectors in compressed sparse rows, with their labels: what a local solver
 * passes over once per evaluation of its objective.
 */
public record ShardMatrix(int rows, int width, int[] rowStart, int[] column, double[] value, double[] label) {

  /** Per feature, the mean and the sample standard deviation (n - 1), as spark.ml's Summarizer gives. */
  public double[][] meanAndStd() {
    double[] mean = new double[width];
    double[] std = new double[width];
    for (int p = 0; p < column.length; p++) {
      mean[column[p]] += value[p];
    }
    for (int j = 0; j < width; j++) {
      mean[j] /= rows;
    }
    // Sum of squared deviations: the nonzeros, plus (0 - mean)^2 for every implicit zero.
    double[] squares = new double[width];
    int[] nonzeros = new int[width];
    for (int p = 0; p < column.length; p++) {
      double d = value[p] - mean[column[p]];
      squares[column[p]] += d * d;
      nonzeros[column[p]]++;
    }
    for (int j = 0; j < width; j++) {
      squares[j] += (rows - nonzeros[j]) * mean[j] * mean[j];
      std[j] = rows > 1 ? Math.sqrt(Math.max(squares[j] / (rows - 1), 0.0)) : 0.0;
    }
    return new double[][] {mean, std};
  }

  /** Rows per label value, indexed by label (length: the largest label plus one), as spark.ml counts them. */
  public double[] histogram() {
    int max = -1;
    for (double y : label) {
      max = Math.max(max, (int) y);
    }
    double[] h = new double[max + 1];
    for (double y : label) {
      h[(int) y]++;
    }
    return h;
  }
}
