package io.lethe.internal.engine;

import io.lethe.LetheException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.types.ByteType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DecimalType;
import org.apache.spark.sql.types.FloatType;
import org.apache.spark.sql.types.IntegerType;
import org.apache.spark.sql.types.LongType;
import org.apache.spark.sql.types.ShortType;

/**
 * The final feature vector's per-class sums and sums of squares, and the fitted values of the
 * stages that make it.
 */
public final class Features implements java.io.Serializable {
  private static final long serialVersionUID = 1L;
  /** The imputer's means (its surrogates). */
  private final double[] imputed;
  /** What a missing value becomes: the mean cast to the column's type, as the imputer writes it. */
  private final double[] fill;
  private final String[][] labels;
  /** Per feature: how it is made from z (regression) or from the per-class sums. */
  private final int width;
  private final double[][] classSum;
  private final double[][] classSquares;
  private final double[] mean;
  private final double[] std;
  /** Multiplier of each raw feature into the final one (1/std, 0 for a constant feature, 1 when unscaled). */
  private final double[] scale;
  /** Regression: per final feature, the entries of z it is made of and their weights (before scaling). */
  private final List<int[]> zIndex = new ArrayList<>();
  private final List<double[]> zWeight = new ArrayList<>();

  public Features(ShardStatistics s, FeatureSpec spec) {
    if (s.totalRows() == 0) {
      throw new LetheException("No rows left to build a model from");
    }
    int p = s.numericColumns();
    int q = s.categoricalColumns();
    int classes = s.classes();
    imputed = new double[p];
    fill = new double[p];
    labels = new String[q][];
    int w = p;
    for (int j = 0; j < q; j++) {
      Map<String, long[]> values = s.categories(j);
      labels[j] = values.entrySet().stream()
          .sorted(Comparator.comparingLong((Map.Entry<String, long[]> e) -> -Arrays.stream(e.getValue()).sum())
              .thenComparing(Map.Entry::getKey))
          .map(Map.Entry::getKey).toArray(String[]::new);
      w += labels[j].length;
    }
    width = w;
    classSum = new double[classes][width];
    classSquares = new double[classes][width];
    for (int i = 0; i < p; i++) {
      long present = 0;
      double total = 0;
      for (int c = 0; c < classes; c++) {
        present += s.present(i, c);
        total += s.sum(i, c);
      }
      long missing = s.totalRows() - present;
      String column = spec.numericColumns().get(i);
      if (spec.impute()) {
        if (present == 0) {
          throw new LetheException("surrogate cannot be computed: every value of " + column + " is missing");
        }
        imputed[i] = total / present;
        fill[i] = asColumnType(imputed[i], spec.numericTypes().get(i));
      } else if (missing > 0) {
        throw new LetheException("The numeric column " + column + " has missing values and train.impute is off");
      }
      for (int c = 0; c < classes; c++) {
        long gaps = s.rows(c) - s.present(i, c);
        classSum[c][i] = s.sum(i, c) + gaps * fill[i];
        classSquares[c][i] = s.sumSquares(i, c) + gaps * fill[i] * fill[i];
      }
      if (s.regression()) {
        zIndex.add(spec.impute()
            ? new int[] {s.indexOf(ShardStatistics.numericKey(i)), s.indexOf(ShardStatistics.missingKey(i))}
            : new int[] {s.indexOf(ShardStatistics.numericKey(i))});
        zWeight.add(spec.impute() ? new double[] {1.0, fill[i]} : new double[] {1.0});
      }
    }
    int at = p;
    for (int j = 0; j < q; j++) {
      Map<String, long[]> values = s.categories(j);
      for (String label : labels[j]) {
        long[] counts = values.get(label);
        for (int c = 0; c < classes; c++) {
          classSum[c][at] = counts[c];
          classSquares[c][at] = counts[c];
        }
        if (s.regression()) {
          zIndex.add(new int[] {s.indexOf(ShardStatistics.categoryKey(j, label))});
          zWeight.add(new double[] {1.0});
        }
        at++;
      }
    }
    long n = s.totalRows();
    mean = new double[width];
    std = new double[width];
    scale = new double[width];
    for (int k = 0; k < width; k++) {
      double total = 0;
      double squares = 0;
      for (int c = 0; c < classes; c++) {
        total += classSum[c][k];
        squares += classSquares[c][k];
      }
      mean[k] = total / n;
      double variance = n > 1 ? Math.max((squares - total * mean[k]) / (n - 1), 0.0) : 0.0;
      std[k] = Math.sqrt(variance);
      scale[k] = !spec.scale() ? 1.0 : std[k] != 0.0 ? 1.0 / std[k] : 0.0;
    }
  }

  /**
   * Each final column's identity, whatever its position: numeric column i, or the category's
   * column and label (a category's column moves when the categories' order does).
   */
  public long[] columnIds() {
    long[] ids = new long[width];
    for (int i = 0; i < fill.length; i++) {
      ids[i] = i;
    }
    int at = fill.length;
    for (int j = 0; j < labels.length; j++) {
      for (String label : labels[j]) {
        long h = 0xcbf29ce484222325L ^ (j + 1L) * 0x9E3779B97F4A7C15L; // FNV-1a over the label's characters
        for (int k = 0; k < label.length(); k++) {
          h = (h ^ label.charAt(k)) * 0x100000001b3L;
        }
        ids[at++] = h | Long.MIN_VALUE; // never a numeric column's
      }
    }
    return ids;
  }

  /**
   * Why a feature of rows whose statistics are {@code rows} would take another value under these
   * stages than under {@code other}, column for column by {@link #columnIds}; empty when none would:
   * the same scale, and the same fill of a numeric column where one of the rows misses a value.
   */
  public java.util.Optional<String> unlike(Features other, ShardStatistics rows, FeatureSpec spec) {
    for (int i = 0; i < fill.length; i++) {
      long present = 0;
      for (int c = 0; c < rows.classes(); c++) {
        present += rows.present(i, c);
      }
      if (present < rows.totalRows() && fill[i] != other.fill[i]) {
        return java.util.Optional.of("the imputed mean of " + spec.numericColumns().get(i) + " changed");
      }
    }
    if (!Arrays.equals(scale, other.scale)) {
      return java.util.Optional.of("the scaler's standard deviations changed");
    }
    return java.util.Optional.empty();
  }

  /** The width of the final feature vector: numeric columns, then each category (the last, invalid one dropped). */
  public int width() {
    return width;
  }

  /** What a missing value of numeric column i becomes. */
  public double fill(int i) {
    return fill[i];
  }

  /** The labels of categorical column j in index order (frequency, then value). */
  public String[] labels(int j) {
    return labels[j];
  }

  /** The factor of each raw feature into the final one (1/std, 0 for a constant one, 1 unscaled). */
  public double scale(int k) {
    return scale[k];
  }

  /** The imputer's means (its surrogates). */
  public double[] imputed() {
    return imputed.clone();
  }

  /** The labels of every categorical column, in index order. */
  public String[][] labels() {
    return labels.clone();
  }

  /** Per class, the sums of each final feature before scaling. */
  public double[][] classSum() {
    return classSum;
  }

  /** Per class, the sums of squares of each final feature before scaling. */
  public double[][] classSquares() {
    return classSquares;
  }

  /** Each final feature's mean before scaling. */
  public double[] mean() {
    return mean.clone();
  }

  /** Each final feature's standard deviation before scaling. */
  public double[] std() {
    return std.clone();
  }

  /** Regression: the entries of z that final feature r is made of. */
  public int[] zIndex(int r) {
    return zIndex.get(r);
  }

  /** Regression: the weights of those entries (before scaling). */
  public double[] zWeight(int r) {
    return zWeight.get(r);
  }

  /** A double as Spark casts it to a numeric column type (whole numbers truncate toward zero). */
  private static double asColumnType(double value, DataType type) {
    if (type instanceof IntegerType || type instanceof ShortType || type instanceof ByteType) {
      return (int) value;
    }
    if (type instanceof LongType) {
      return (long) value;
    }
    if (type instanceof FloatType) {
      return (float) value;
    }
    if (type instanceof DecimalType d) {
      return java.math.BigDecimal.valueOf(value).setScale(d.scale(), java.math.RoundingMode.HALF_UP).doubleValue();
    }
    return value;
  }
}
