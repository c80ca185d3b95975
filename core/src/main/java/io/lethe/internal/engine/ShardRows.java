package io.lethe.internal.engine;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;

/**
 * One shard's rows as a task holds them: numeric values as doubles (NaN for missing), categorical
 * values as strings (null for missing), the label as the estimators read it, and the shard's
 * {@link ShardStatistics}, summed in the same pass. Rows come as {@code numeric..., categorical...,
 * label}, the order the statistics read.
 */
public final class ShardRows {
  private final int numeric;
  private final int categorical;
  private int size;
  private double[] values;
  private String[] categories;
  private double[] labels;
  private final ShardStatistics statistics;

  private ShardRows(int numeric, int categorical, ShardStatistics statistics) {
    this.numeric = numeric;
    this.categorical = categorical;
    this.statistics = statistics;
    values = new double[numeric * 1024];
    categories = new String[categorical * 1024];
    labels = new double[1024];
  }

  /** Reads every row of the iterator; equal strings are kept once. */
  public static ShardRows read(Iterator<Row> rows, ShardStatistics empty) {
    ShardRows out = new ShardRows(empty.numericColumns(), empty.categoricalColumns(), empty);
    Map<String, String> interned = new HashMap<>();
    while (rows.hasNext()) {
      out.add(rows.next(), interned);
    }
    return out;
  }

  private void add(Row row, Map<String, String> interned) {
    statistics.add(row);
    if (size == labels.length) {
      int capacity = size * 2;
      values = Arrays.copyOf(values, numeric * capacity);
      categories = Arrays.copyOf(categories, categorical * capacity);
      labels = Arrays.copyOf(labels, capacity);
    }
    for (int i = 0; i < numeric; i++) {
      values[size * numeric + i] = row.isNullAt(i) ? Double.NaN : row.getDouble(i);
    }
    for (int j = 0; j < categorical; j++) {
      String v = row.isNullAt(numeric + j) ? null : row.getString(numeric + j);
      categories[size * categorical + j] = v == null ? null : interned.computeIfAbsent(v, x -> x);
    }
    labels[size] = row.getDouble(numeric + categorical);
    size++;
  }

  public int size() {
    return size;
  }

  /**
   * The rows held, in the order read, as {@link #read} takes them ({@code numeric..., categorical...,
   * label}; a missing number as NaN, which the statistics and the features treat as missing): so a
   * shard read once can be read again, in part, for another fit.
   */
  public Iterator<Row> rows() {
    return new Iterator<>() {
      private int next;

      @Override
      public boolean hasNext() {
        return next < size;
      }

      @Override
      public Row next() {
        if (next >= size) {
          throw new java.util.NoSuchElementException();
        }
        Object[] row = new Object[numeric + categorical + 1];
        for (int i = 0; i < numeric; i++) {
          row[i] = values[next * numeric + i];
        }
        for (int j = 0; j < categorical; j++) {
          row[numeric + j] = categories[next * categorical + j];
        }
        row[numeric + categorical] = labels[next];
        next++;
        return RowFactory.create(row);
      }
    };
  }

  public ShardStatistics statistics() {
    return statistics;
  }

  /**
   * The rows as the fitted feature stages make them (imputer, indexers, one-hot with the last,
   * invalid category dropped, assembler, scaler): the vector the estimator sees.
   */
  public ShardMatrix featurize(Features f) {
    int width = f.width();
    int[] offset = new int[categorical];
    Map<String, Integer>[] index = indexes(f, offset);
    int perRow = numeric + categorical;
    int[] rowStart = new int[size + 1];
    int[] column = new int[size * perRow];
    double[] value = new double[size * perRow];
    int at = 0;
    for (int r = 0; r < size; r++) {
      rowStart[r] = at;
      for (int i = 0; i < numeric; i++) {
        double x = values[r * numeric + i];
        double v = (Double.isNaN(x) ? f.fill(i) : x) * f.scale(i);
        if (v != 0.0) {
          column[at] = i;
          value[at++] = v;
        }
      }
      for (int j = 0; j < categorical; j++) {
        String c = categories[r * categorical + j];
        Integer k = c == null ? null : index[j].get(c);
        if (k != null) {
          int col = offset[j] + k;
          double v = f.scale(col);
          if (v != 0.0) {
            column[at] = col;
            value[at++] = v;
          }
        }
      }
    }
    rowStart[size] = at;
    // A shard's arrays are large (a few MB at 15,000 rows): copied only when a zero was left out.
    return new ShardMatrix(size, width, rowStart, trimmed(column, at), trimmed(value, at),
        Arrays.copyOf(labels, size));
  }

  private static int[] trimmed(int[] a, int length) {
    return a.length == length ? a : Arrays.copyOf(a, length);
  }

  private static double[] trimmed(double[] a, int length) {
    return a.length == length ? a : Arrays.copyOf(a, length);
  }

  @SuppressWarnings("unchecked")
  private Map<String, Integer>[] indexes(Features f, int[] offset) {
    Map<String, Integer>[] index = new Map[categorical];
    int at = numeric;
    for (int j = 0; j < categorical; j++) {
      offset[j] = at;
      String[] labels = f.labels(j);
      index[j] = new HashMap<>();
      for (int k = 0; k < labels.length; k++) {
        index[j].put(labels[k], k);
      }
      at += labels.length;
    }
    return index;
  }
}
