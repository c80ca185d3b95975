package io.lethe.internal.verify;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;

import io.delta.tables.DeltaTable;
import io.lethe.internal.ledger.LedgerKey;
import io.lethe.internal.store.ShardedStore;
import io.lethe.types.IdKind;
import io.lethe.types.StoreLayout;
import io.lethe.types.VerifyReport.Check;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Verify's checks of the data: the batch's rows in no current, retained or change-feed version of the store. */
final class DataChecks {
  private static final Logger LOG = LoggerFactory.getLogger(DataChecks.class);
  private final ShardedStore store;
  private final LedgerKey key;
  private final String recordColumn;

  DataChecks(ShardedStore store, LedgerKey key, String recordColumn) {
    this.store = store;
    this.key = key;
    this.recordColumn = recordColumn;
  }

  /** Rows of the hit shards whose id hashes to one of the batch's hashes. */
  long matching(Dataset<Row> rows, Set<Integer> hit, Map<IdKind, List<String>> hashes) {
    Dataset<Row> inShards = rows.where(col(StoreLayout.SHARD_COLUMN).isin(hit.toArray()));
    long n = 0;
    for (Map.Entry<IdKind, List<String>> kind : hashes.entrySet()) {
      String column = kind.getKey() == IdKind.SUBJECT ? store.layout().subjectColumn() : recordColumn;
      n += inShards.where(key.hashOf(kind.getKey(), col(column)).isin(kind.getValue().toArray())).count();
    }
    return n;
  }

  static Check dataCurrent(int shardsScanned, long rows, long version) {
    return new Check("data.current", rows == 0, rows == 0
        ? "no row of the batch in the current store version " + version
        : rows + " row(s) of the batch are still in the current store version " + version,
        Map.of("rows", rows, "storeVersion", version, "shardsScanned", shardsScanned));
  }

  /**
   * Every version of the store's history that can still be read (time travel): none may hold a row.
   * {@code readable} comes in with the current version's count and goes out with every readable one.
   */
  Check dataRetained(Set<Integer> hit, Map<IdKind, List<String>> hashes, Map<Long, Long> readable) {
    List<Long> versions = new ArrayList<>();
    DeltaTable.forPath(store.spark(), store.path()).history().select("version").collectAsList()
        .forEach(r -> versions.add(r.getLong(0)));
    versions.sort(Long::compare);
    List<Long> holding = new ArrayList<>();
    long unreadable = 0;
    // Versions whose hit shards hold the same files (and deletion vectors) read the same rows: one
    // scan per distinct state, the others answered from the log (most commits touch other shards,
    // or none: VACUUM's, the ledger's neighbours).
    Map<List<String>, Long> bySignature = new HashMap<>();
    long scanned = 0;
    for (Map.Entry<Long, Long> known : readable.entrySet()) {
      store.readableRows(known.getKey(), hit).ifPresent(state -> bySignature.put(state, known.getValue()));
    }
    for (long v : versions) {
      long rows;
      if (readable.containsKey(v)) {
        rows = readable.get(v); // the current version, scanned already (data.current)
      } else {
        Optional<List<String>> state = store.readableRows(v, hit);
        if (state.isEmpty()) { // VACUUM removed files it needs
          unreadable++;
          continue;
        }
        Long known = hit.isEmpty() ? Long.valueOf(0) : bySignature.get(state.get());
        if (known != null) {
          rows = known;
        } else {
          try {
            rows = matching(store.read(v), hit, hashes);
          } catch (Exception filesGone) { // VACUUM removed the version's files: nothing of it can be read
            unreadable++;
            continue;
          }
          scanned++;
          bySignature.put(state.get(), rows);
        }
        readable.put(v, rows);
      }
      if (rows > 0) {
        holding.add(v);
      }
    }
    Map<String, Object> figures = new LinkedHashMap<>();
    figures.put("versionsInHistory", versions.size());
    figures.put("versionsReadable", readable.size());
    figures.put("versionsUnreadable", unreadable);
    figures.put("versionsHoldingRows", holding);
    figures.put("versionsScanned", scanned);
    return new Check("data.retained-versions", holding.isEmpty(), holding.isEmpty()
        ? "no readable store version (" + readable.size() + " of " + versions.size() + ") holds a row of the batch"
        : holding.size() + " readable store version(s) still hold rows of the batch (time travel): " + holding,
        figures);
  }

  /** The change data feed of every readable version: no change row may carry a row of the batch. */
  Check changeFeed(Set<Integer> hit, Map<IdKind, List<String>> hashes, Set<Long> readableVersions) {
    List<Long> holding = new ArrayList<>();
    long read = 0;
    for (long v : readableVersions) {
      if (!store.changeFilesPresent(v, hit)) { // no change in these shards, or its files are vacuumed
        continue;
      }
      try {
        Dataset<Row> changes = store.changes(v, v, null);
        long rows = hit.isEmpty() ? 0 : matching(changes, hit, hashes);
        read++;
        if (rows > 0) {
          holding.add(v);
        }
      } catch (Exception gone) { // change files vacuumed, or the version wrote none
        LOG.debug("Change data of store version {} cannot be read: {}", v, gone.getClass().getSimpleName());
      }
    }
    return new Check("data.change-feed", holding.isEmpty(), holding.isEmpty()
        ? "no readable change data (" + read + " version(s)) holds a row of the batch"
        : "the change data of store version(s) " + holding + " still holds rows of the batch",
        Map.of("versionsRead", read, "versionsHoldingRows", holding));
  }
}
