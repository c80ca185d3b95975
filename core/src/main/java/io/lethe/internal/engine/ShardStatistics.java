package io.lethe.internal.engine;

import com.fasterxml.jackson.annotation.JsonAutoDetect;
import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.lethe.CorruptRegistryException;
import io.lethe.LetheException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.sql.Row;

/**
 * Sufficient statistics of one shard's rows: enough to rebuild, with no pass over the rows, every
 * data-fitted stage of the shard's pipeline (imputer means, string indexer frequencies, one-hot
 * sizes, scaler deviations) and a naive Bayes or normal-equations linear regression model.
 * Statistics are sums, so the statistics of a shard minus those of its deleted rows are the
 * statistics of the rows that remain, exactly for the counts and up to floating-point summation
 * order for the sums.
 *
 * <p>Rows come as {@code numeric..., categorical..., label}: numeric values as doubles (null or NaN
 * is missing, as the imputer treats them), categorical values as strings (null is missing), the
 * label as the class index or, for regression, the number.
 *
 * <p>For regression the statistics also hold the Gram matrix of the raw row vector z = [1,
 * numeric value (0 when missing), missing indicator per numeric column, one indicator per
 * categorical value] and z times the label: every feature the pipeline makes is a linear function
 * of z once the shard's means, deviations and category order are known, so X'X and X'y of the
 * final features follow from it.
 */
@JsonAutoDetect(fieldVisibility = JsonAutoDetect.Visibility.ANY, getterVisibility = JsonAutoDetect.Visibility.NONE,
    isGetterVisibility = JsonAutoDetect.Visibility.NONE)
public final class ShardStatistics implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Label slots: the classes for classification, one for regression. */
  private final int classes;
  private final boolean regression;
  private final int numericColumns;
  private final int categoricalColumns;
  /** Rows per class. */
  private final long[] rows;
  /** Per numeric column and class: values present, their sum and sum of squares. */
  private final long[][] present;
  private final double[][] sum;
  private final double[][] sumSquares;
  /** Per numeric column: values below zero (multinomial naive Bayes refuses them). */
  private final long[] negative;
  /**
   * Per categorical column: rows per value and class, in a hash map (a row's value is looked up
   * per row, where a sorted map's string comparisons were a fifth of a task's time); sorted by
   * value only when read ({@link #categories(int)}) or written ({@link #categoriesByValue}).
   */
  @JsonIgnore
  private final List<Map<String, long[]>> categories;
  /** Regression only: names of the entries of z, the packed upper triangle of z'z, z'y and y'y. */
  private final List<String> keys;
  private double[] zz;
  private double[] zy;
  private double yy;
  @JsonIgnore
  private transient Map<String, Integer> keyIndex;

  private ShardStatistics(int classes, boolean regression, int numericColumns, int categoricalColumns) {
    this.classes = classes;
    this.regression = regression;
    this.numericColumns = numericColumns;
    this.categoricalColumns = categoricalColumns;
    rows = new long[classes];
    present = new long[numericColumns][classes];
    sum = new double[numericColumns][classes];
    sumSquares = new double[numericColumns][classes];
    negative = new long[numericColumns];
    categories = new ArrayList<>();
    for (int j = 0; j < categoricalColumns; j++) {
      categories.add(new HashMap<>());
    }
    keys = new ArrayList<>();
    zz = new double[0];
    zy = new double[0];
    if (regression) {
      key("1");
      for (int i = 0; i < numericColumns; i++) {
        key(numericKey(i));
      }
      for (int i = 0; i < numericColumns; i++) {
        key(missingKey(i));
      }
    }
  }

  @JsonCreator
  ShardStatistics(@JsonProperty("classes") int classes, @JsonProperty("regression") boolean regression,
      @JsonProperty("numericColumns") int numericColumns, @JsonProperty("categoricalColumns") int categoricalColumns,
      @JsonProperty("rows") long[] rows, @JsonProperty("present") long[][] present, @JsonProperty("sum") double[][] sum,
      @JsonProperty("sumSquares") double[][] sumSquares, @JsonProperty("negative") long[] negative,
      @JsonProperty("categories") List<TreeMap<String, long[]>> categories, @JsonProperty("keys") List<String> keys,
      @JsonProperty("zz") double[] zz, @JsonProperty("zy") double[] zy, @JsonProperty("yy") double yy) {
    this.classes = classes;
    this.regression = regression;
    this.numericColumns = numericColumns;
    this.categoricalColumns = categoricalColumns;
    this.rows = rows;
    this.present = present;
    this.sum = sum;
    this.sumSquares = sumSquares;
    this.negative = negative;
    this.categories = new ArrayList<>();
    categories.forEach(sorted -> this.categories.add(new HashMap<>(sorted)));
    this.keys = new ArrayList<>(keys);
    this.zz = zz;
    this.zy = zy;
    this.yy = yy;
    boolean consistent = rows.length == classes && present.length == numericColumns && sum.length == numericColumns
        && sumSquares.length == numericColumns && negative.length == numericColumns
        && categories.size() == categoricalColumns && zz.length == packedSize(keys.size()) && zy.length == keys.size();
    if (!consistent) {
      throw new CorruptRegistryException("Corrupt shard statistics: their parts do not have matching sizes");
    }
  }

  /** Empty statistics for rows of this shape. */
  public static ShardStatistics empty(int classes, boolean regression, int numericColumns, int categoricalColumns) {
    return new ShardStatistics(regression ? 1 : classes, regression, numericColumns, categoricalColumns);
  }

  public int classes() {
    return classes;
  }

  public boolean regression() {
    return regression;
  }

  public int numericColumns() {
    return numericColumns;
  }

  public int categoricalColumns() {
    return categoricalColumns;
  }

  /** Rows of one class (regression: of all rows). */
  public long rows(int label) {
    return rows[label];
  }

  public long totalRows() {
    return Arrays.stream(rows).sum();
  }

  public long present(int column, int label) {
    return present[column][label];
  }

  public double sum(int column, int label) {
    return sum[column][label];
  }

  public double sumSquares(int column, int label) {
    return sumSquares[column][label];
  }

  public long negative(int column) {
    return negative[column];
  }

  /** The categorical counts as the JSON holds them: each column's values in order. */
  @JsonProperty("categories")
  private List<TreeMap<String, long[]>> categoriesByValue() {
    return categories.stream().map(TreeMap::new).toList();
  }

  /** Rows per value of a categorical column (values of no remaining row left out), per class. */
  public Map<String, long[]> categories(int column) {
    Map<String, long[]> out = new TreeMap<>();
    categories.get(column).forEach((value, counts) -> {
      if (Arrays.stream(counts).sum() > 0) {
        out.put(value, counts);
      }
    });
    return out;
  }

  /** Entries of z (regression), in index order. */
  public List<String> keys() {
    return List.copyOf(keys);
  }

  /** Index of an entry of z, or -1. */
  public int indexOf(String key) {
    return keyIndex().getOrDefault(key, -1);
  }

  /** Sum over rows of z_a * z_b. */
  public double zz(int a, int b) {
    return zz[packed(Math.min(a, b), Math.max(a, b))];
  }

  /** Sum over rows of z_a * y. */
  public double zy(int a) {
    return zy[a];
  }

  public double yy() {
    return yy;
  }

  static String numericKey(int column) {
    return "n" + column;
  }

  static String missingKey(int column) {
    return "m" + column;
  }

  static String categoryKey(int column, String value) {
    return "c" + column + "=" + value;
  }

  /** Adds one row (numeric..., categorical..., label). */
  public ShardStatistics add(Row row) {
    if (row.isNullAt(numericColumns + categoricalColumns)) {
      throw new LetheException("A row of the shard has no label (or a label outside the store's classes)");
    }
    double y = row.getDouble(numericColumns + categoricalColumns);
    int label = regression ? 0 : (int) y;
    rows[label]++;
    int[] active = regression ? new int[1 + numericColumns + categoricalColumns] : null;
    double[] values = regression ? new double[active.length] : null;
    int n = 0;
    if (regression) {
      active[n] = 0;
      values[n++] = 1.0;
    }
    for (int i = 0; i < numericColumns; i++) {
      boolean missing = row.isNullAt(i) || Double.isNaN(row.getDouble(i));
      if (!missing) {
        double x = row.getDouble(i);
        present[i][label]++;
        sum[i][label] += x;
        sumSquares[i][label] += x * x;
        if (x < 0) {
          negative[i]++;
        }
        if (regression) {
          active[n] = 1 + i;
          values[n++] = x;
        }
      } else if (regression) {
        active[n] = 1 + numericColumns + i;
        values[n++] = 1.0;
      }
    }
    for (int j = 0; j < categoricalColumns; j++) {
      int at = numericColumns + j;
      if (row.isNullAt(at)) {
        continue;
      }
      String value = row.getString(at);
      categories.get(j).computeIfAbsent(value, v -> new long[classes])[label]++;
      if (regression) {
        active[n] = key(categoryKey(j, value));
        values[n++] = 1.0;
      }
    }
    if (regression) {
      for (int p = 0; p < n; p++) {
        zy[active[p]] += values[p] * y;
        for (int q = p; q < n; q++) {
          int a = Math.min(active[p], active[q]);
          int b = Math.max(active[p], active[q]);
          zz[packed(a, b)] += values[p] * values[q];
        }
      }
      yy += y * y;
    }
    return this;
  }

  /** These statistics plus {@code other}'s (rows added). */
  public ShardStatistics plus(ShardStatistics other) {
    return combine(other, 1);
  }

  /** These statistics minus {@code other}'s (rows removed): other's rows must be among these. */
  public ShardStatistics minus(ShardStatistics other) {
    return combine(other, -1);
  }

  private ShardStatistics combine(ShardStatistics other, int sign) {
    if (other.classes != classes || other.regression != regression || other.numericColumns != numericColumns
        || other.categoricalColumns != categoricalColumns) {
      throw new LetheException("Shard statistics of different shapes cannot be combined");
    }
    for (int c = 0; c < classes; c++) {
      rows[c] += sign * other.rows[c];
      if (rows[c] < 0) {
        throw new LetheException("Removing rows that the statistics never held: the statistics do not match the store");
      }
    }
    for (int i = 0; i < numericColumns; i++) {
      for (int c = 0; c < classes; c++) {
        present[i][c] += sign * other.present[i][c];
        sum[i][c] += sign * other.sum[i][c];
        sumSquares[i][c] += sign * other.sumSquares[i][c];
      }
      negative[i] += sign * other.negative[i];
    }
    for (int j = 0; j < categoricalColumns; j++) {
      Map<String, long[]> mine = categories.get(j);
      other.categories.get(j).forEach((value, counts) -> {
        long[] into = mine.computeIfAbsent(value, v -> new long[classes]);
        for (int c = 0; c < classes; c++) {
          into[c] += sign * counts[c];
        }
        if (Arrays.stream(into).allMatch(x -> x == 0)) {
          // A value no remaining row holds leaves the statistics, as it leaves a retrained indexer.
          mine.remove(value);
        }
      });
    }
    if (regression) {
      int[] map = new int[other.keys.size()];
      for (int a = 0; a < map.length; a++) {
        map[a] = key(other.keys.get(a));
      }
      for (int b = 0; b < map.length; b++) {
        zy[map[b]] += sign * other.zy[b];
        for (int a = 0; a <= b; a++) {
          zz[packed(Math.min(map[a], map[b]), Math.max(map[a], map[b]))] += sign * other.zz[packed(a, b)];
        }
      }
      yy += sign * other.yy;
    }
    return this;
  }

  /** A deep copy. */
  public ShardStatistics copy() {
    ShardStatistics out = new ShardStatistics(classes, regression, numericColumns, categoricalColumns);
    return out.plus(this);
  }

  private Map<String, Integer> keyIndex() {
    if (keyIndex == null) {
      keyIndex = new HashMap<>();
      for (int i = 0; i < keys.size(); i++) {
        keyIndex.put(keys.get(i), i);
      }
    }
    return keyIndex;
  }

  /** The index of a key of z, added (with zero sums) when new. */
  private int key(String name) {
    Integer at = keyIndex().get(name);
    if (at != null) {
      return at;
    }
    int index = keys.size();
    keys.add(name);
    keyIndex.put(name, index);
    // Column `index` of a packed upper triangle is appended at its end.
    zz = Arrays.copyOf(zz, packedSize(index + 1));
    zy = Arrays.copyOf(zy, index + 1);
    return index;
  }

  private static int packedSize(int n) {
    return n * (n + 1) / 2;
  }

  private static int packed(int a, int b) {
    return b * (b + 1) / 2 + a;
  }
}
