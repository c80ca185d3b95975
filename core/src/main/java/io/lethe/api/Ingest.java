package io.lethe.api;

import io.lethe.Evolving;
import io.lethe.LetheConfig;
import io.lethe.internal.store.ShardedStore;
import io.lethe.types.IngestPlan;
import io.lethe.types.IngestResult;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * Creates the store at {@code store.path} from a source (its layout from the configuration), or
 * appends rows to it with its own shard function. A bad source writes nothing.
 */
@Evolving
public final class Ingest {
  private final Lethe lethe;
  private final Dataset<Row> source;
  private boolean append;
  private boolean once;

  Ingest(Lethe lethe, Dataset<Row> source) {
    this.lethe = lethe;
    this.source = source;
  }

  /** Append to the existing store instead of creating one. */
  public Ingest append(boolean on) {
    this.append = on;
    return this;
  }

  /**
   * The source is read whole (every file of a path, a table's snapshot): an append of it is named
   * by its files, so the same append run again, after a crash or not, adds nothing the second time.
   * The command line's {@code ingest --append} sets it.
   */
  public Ingest once(boolean on) {
    this.once = on;
    return this;
  }

  /** The store it creates (with its layout) or appends to, the source validated; writes nothing. */
  public IngestPlan plan() {
    return ShardedStore.planIngest(lethe.spark(), lethe.config().get(LetheConfig.STORE_PATH), source, lethe.config(),
        append);
  }

  public IngestResult execute() {
    return ShardedStore.ingest(lethe.spark(), lethe.config().get(LetheConfig.STORE_PATH), source, lethe.config(),
        append, once);
  }
}
