package io.lethe.internal.train;

import static org.apache.spark.sql.functions.col;

import io.lethe.internal.engine.ShardStatistics;
import io.lethe.internal.store.ShardedStore;
import io.lethe.types.StoreLayout;
import io.lethe.types.Task;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Exact unlearning by sufficient statistics: a shard's statistics at a later store version are
 * its statistics at the sub-model's version, minus those of the rows deleted since and plus those
 * of the rows added since, both read from the store's change data feed (only the changed rows,
 * never the shard). When that feed is no longer readable the statistics are recomputed from the
 * shard's rows, which is still exact and still needs no spark.ml fit.
 */
public final class ExactStatistics {
  private static final Logger LOG = LoggerFactory.getLogger(ExactStatistics.class);

  private ExactStatistics() {}

  /** How a shard's statistics were brought to a store version. */
  public record Update(ShardStatistics statistics, long rowsRemoved, long rowsAdded, boolean incremental) {}

  /** The statistics of the given rows (a shard's rows, store columns). */
  public static ShardStatistics compute(Dataset<Row> rows, StoreLayout layout) {
    return aggregate(rows, layout, layout.labelIndex());
  }

  /** The statistics of rows whose label is already the estimators' label ({@link StoreLayout#LABEL_INDEX_COLUMN}). */
  public static ShardStatistics computeIndexed(Dataset<Row> rows, StoreLayout layout) {
    return aggregate(rows, layout, col(StoreLayout.LABEL_INDEX_COLUMN));
  }

  /**
   * Numeric features as doubles and categorical ones as strings (as the imputer and the indexers
   * read them), then the label as the estimators read it, summed in one pass.
   */
  private static ShardStatistics aggregate(Dataset<Row> rows, StoreLayout layout, Column label) {
    return rows.select(columns(layout, label)).toJavaRDD()
        .treeAggregate(empty(layout), ShardStatistics::add, ShardStatistics::plus);
  }

  /** The store's columns as the statistics read them: numeric as doubles, categorical as strings, then the label. */
  public static Column[] columns(StoreLayout layout, Column label) {
    List<Column> columns = new ArrayList<>();
    layout.numericFeatures().forEach(c -> columns.add(col(c).cast("double")));
    layout.categoricalFeatures().forEach(c -> columns.add(col(c).cast("string")));
    columns.add(label.cast("double"));
    return columns.toArray(new Column[0]);
  }

  /** No rows' statistics, shaped for the store's columns and label. */
  public static ShardStatistics empty(StoreLayout layout) {
    return ShardStatistics.empty(layout.labelClasses().size(), layout.task() == Task.REGRESSION,
        layout.numericFeatures().size(), layout.categoricalFeatures().size());
  }

  /** The statistics of removed and of added rows, summed in one pass over the change feed. */
  private record Changes(ShardStatistics removed, ShardStatistics added) implements java.io.Serializable {
    Changes add(Row row) {
      (row.getBoolean(row.size() - 1) ? removed : added).add(row);
      return this;
    }

    Changes plus(Changes other) {
      removed.plus(other.removed);
      added.plus(other.added);
      return this;
    }
  }

  /**
   * The rows that changed in a shard after store version {@code from}, up to {@code to}, from the
   * change data feed, as the statistics read them ({@link #columns}), then whether the row left
   * the shard ({@link ShardedStore#removedByChange}), after the label, where the statistics do not read.
   */
  public static Dataset<Row> changedRows(ShardedStore store, int shard, long from, long to) {
    StoreLayout layout = store.layout();
    List<Column> columns = new ArrayList<>(List.of(columns(layout, layout.labelIndex())));
    columns.add(ShardedStore.removedByChange());
    return store.changes(from + 1, to, List.of(shard)).select(columns.toArray(new Column[0]));
  }

  /**
   * A shard's statistics at store version {@code to}, from its statistics {@code at} store version
   * {@code from}.
   */
  public static Update update(ShardedStore store, int shard, ShardStatistics at, long from, long to) {
    StoreLayout layout = store.layout();
    if (to <= from) {
      return new Update(at.copy(), 0, 0, true);
    }
    try {
      // One pass over the changed rows.
      ShardStatistics empty = empty(layout);
      Changes changed = changedRows(store, shard, from, to).toJavaRDD()
          .treeAggregate(new Changes(empty, empty.copy()), Changes::add, Changes::plus);
      ShardStatistics now = at.copy().minus(changed.removed).plus(changed.added);
      return new Update(now, changed.removed.totalRows(), changed.added.totalRows(), true);
    } catch (Exception unreadable) { // Spark and Delta throw checked exceptions through Scala
      // The class only: a message could quote row values.
      LOG.info("Shard {}: the change data of store versions {} to {} cannot be read ({}); recomputing its statistics"
          + " from its rows", shard, from + 1, to, unreadable.getClass().getSimpleName());
      ShardStatistics now = compute(store.readShard(shard, to), layout);
      long before = at.totalRows();
      long after = now.totalRows();
      return new Update(now, Math.max(0, before - after), Math.max(0, after - before), false);
    }
  }
}
