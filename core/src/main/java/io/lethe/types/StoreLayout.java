package io.lethe.types;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.pmod;
import static org.apache.spark.sql.functions.when;
import static org.apache.spark.sql.functions.xxhash64;

import io.lethe.Evolving;
import io.lethe.InvalidConfigException;
import io.lethe.LetheException;
import io.lethe.StoreNotFoundException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.ml.attribute.NominalAttribute;
import org.apache.spark.sql.Column;

/**
 * How a store is sharded and what its columns mean. Fixed when the store is created and kept in
 * the Delta table's properties, so rows appended later land in the same shards and every job reads
 * the same meaning.
 *
 * @param labelClasses for classification, the label values in index order (class i is label i)
 */
@Evolving
public record StoreLayout(
    int shards,
    String subjectColumn,
    String salt,
    String labelColumn,
    Task task,
    List<String> labelClasses,
    List<String> numericFeatures,
    List<String> categoricalFeatures) {

  /** The shard column of the store's Delta table: the partition column. */
  public static final String SHARD_COLUMN = "_shard";
  /** The label as a double (class index or the number), added at training and evaluation time. */
  public static final String LABEL_INDEX_COLUMN = "_label";

  static final String PREFIX = "lethe.";
  private static final String SEP = "\u001f";
  /** The seed of Spark's xxhash64 function. */
  private static final long SPARK_HASH_SEED = 42L;

  public StoreLayout {
    if (shards < 1) {
      throw new InvalidConfigException("The number of shards must be at least 1, got " + shards);
    }
    labelClasses = List.copyOf(labelClasses);
    numericFeatures = List.copyOf(numericFeatures);
    categoricalFeatures = List.copyOf(categoricalFeatures);
  }

  /** pmod(xxhash64(salt, subject as string), S): stable across runs, appends and clusters. */
  public Column shardOf(Column subject) {
    return pmod(xxhash64(lit(salt), subject.cast("string")), lit(shards)).cast("int");
  }

  /**
   * The shard of one subject id, computed in the driver exactly as {@link #shardOf(Column)} does
   * in Spark (Spark's xxhash64 with its seed, 42, over the salt then the id's string form), so
   * that finding a request's shards costs no Spark job.
   */
  public int shardOf(String subject) {
    long hash = org.apache.spark.sql.catalyst.expressions.XXH64.hashUTF8String(
        org.apache.spark.unsafe.types.UTF8String.fromString(salt), SPARK_HASH_SEED);
    hash = org.apache.spark.sql.catalyst.expressions.XXH64.hashUTF8String(
        org.apache.spark.unsafe.types.UTF8String.fromString(subject), hash);
    return (int) Math.floorMod(hash, (long) shards);
  }

  /**
   * The slice (0 to slices - 1) of a subject within its shard: another stable hash of the
   * subject, so all of a person's rows share one slice as they share one shard.
   */
  public Column sliceOf(Column subject, int slices) {
    return pmod(xxhash64(lit(salt + "/slice"), subject.cast("string")), lit(slices)).cast("int");
  }

  public Column subject() {
    return col(subjectColumn);
  }

  /**
   * The label as the double that spark.ml estimators take. For classification it carries nominal
   * metadata with every class, so a shard that lacks a class still yields probability vectors of
   * the full width.
   */
  public Column labelIndex() {
    Column label = col(labelColumn);
    if (task == Task.REGRESSION) {
      return label.cast("double").as(LABEL_INDEX_COLUMN);
    }
    Column index = null;
    Column asString = label.cast("string");
    for (int i = 0; i < labelClasses.size(); i++) {
      index = index == null
          ? when(asString.equalTo(lit(labelClasses.get(i))), lit((double) i))
          : index.when(asString.equalTo(lit(labelClasses.get(i))), lit((double) i));
    }
    NominalAttribute attr = NominalAttribute.defaultAttr()
        .withName(LABEL_INDEX_COLUMN)
        .withValues(labelClasses.toArray(new String[0]));
    return index.as(LABEL_INDEX_COLUMN, attr.toMetadata());
  }

  /** Shard numbers 0 to S-1. */
  public List<Integer> allShards() {
    return java.util.stream.IntStream.range(0, shards).boxed().toList();
  }

  /** What a sub-model is fitted on: the feature columns, then the label as the estimators take it. */
  public List<Column> trainingColumns() {
    List<Column> columns = new ArrayList<>();
    featureColumns().forEach(c -> columns.add(col(c)));
    columns.add(labelIndex());
    return columns;
  }

  public List<String> featureColumns() {
    List<String> all = new ArrayList<>(numericFeatures);
    all.addAll(categoricalFeatures);
    return all;
  }

  public Map<String, String> toProperties() {
    Map<String, String> p = new LinkedHashMap<>();
    p.put(PREFIX + "shards", Integer.toString(shards));
    p.put(PREFIX + "subjectColumn", subjectColumn);
    p.put(PREFIX + "salt", salt);
    p.put(PREFIX + "labelColumn", labelColumn);
    p.put(PREFIX + "task", task.id());
    p.put(PREFIX + "labelClasses", String.join(SEP, labelClasses));
    p.put(PREFIX + "numericFeatures", String.join(",", numericFeatures));
    p.put(PREFIX + "categoricalFeatures", String.join(",", categoricalFeatures));
    return p;
  }

  public static StoreLayout fromProperties(Map<String, String> p, String where) {
    String shards = p.get(PREFIX + "shards");
    if (shards == null) {
      throw new StoreNotFoundException("The Delta table at " + where + " is not a Lethe store (no " + PREFIX
          + "shards property); create stores with the ingest job");
    }
    try {
      return new StoreLayout(
          Integer.parseInt(shards),
          p.get(PREFIX + "subjectColumn"),
          p.get(PREFIX + "salt"),
          p.get(PREFIX + "labelColumn"),
          Task.parse(p.get(PREFIX + "task")),
          split(p.get(PREFIX + "labelClasses"), SEP),
          split(p.get(PREFIX + "numericFeatures"), ","),
          split(p.get(PREFIX + "categoricalFeatures"), ","));
    } catch (Exception e) {
      throw new LetheException("The Lethe properties of the store at " + where + " are corrupt: " + e.getMessage(), e);
    }
  }

  private static List<String> split(String value, String sep) {
    if (value == null || value.isEmpty()) {
      return List.of();
    }
    return List.of(value.split(java.util.regex.Pattern.quote(sep)));
  }
}
