package io.lethe.internal.forget;

import io.lethe.InvalidConfigException;
import io.lethe.InvalidRequestException;
import io.lethe.internal.ledger.ForgetLedger;
import io.lethe.internal.ledger.LedgerKey;
import io.lethe.internal.registry.ModelRegistry;
import io.lethe.internal.run.StepTimes;
import io.lethe.internal.store.ShardedStore;
import io.lethe.internal.train.Training;
import io.lethe.types.EnsembleManifest;
import io.lethe.types.ForgetPlan;
import io.lethe.types.ForgetRequest;
import io.lethe.types.IdKind;
import io.lethe.types.LedgerEntry;
import io.lethe.types.Retirement;
import io.lethe.types.ShardMath;
import io.lethe.types.SubModelEntry;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.IntegralType;
import org.apache.spark.sql.types.StructType;

/**
 * A forget batch's plan, with no side effect: each id's rows by shard on the current store version
 * (matched without writing an id into a query), its open or completed request in the ledger (by
 * keyed hash), the shards to retrain and the artifacts to retire, and what that costs.
 */
final class ForgetPlanner {
  private final ShardedStore store;
  private final ModelRegistry registry;
  private final Training training;
  private final ForgetLedger ledger;
  private final LedgerKey key;
  private final ForgetSettings settings;

  ForgetPlanner(ShardedStore store, ModelRegistry registry, Training training, ForgetLedger ledger, LedgerKey key,
      ForgetSettings settings) {
    this.store = store;
    this.registry = registry;
    this.training = training;
    this.ledger = ledger;
    this.key = key;
    this.settings = settings;
  }

  /** One id of the batch: its hash, its open request if any, its rows by shard now. */
  record Item(String id, String hash, LedgerEntry open, Map<Integer, Long> rowsNow, boolean alreadyForgotten) {
    boolean found() {
      return !rowsNow.isEmpty();
    }
  }

  /** The plan, its ids, and the id column with its type in the store (as the plan read it). */
  record Prepared(ForgetPlan plan, List<Item> items, String column, DataType idType) {
  }

  /** The plan and what executing it needs; its parts are timed as sub-steps of {@code times}' "plan". */
  Prepared prepare(ForgetRequest request, StepTimes times) {
    ledger.requireKey(key); // a ledger written under another key would match none of this key's hashes
    long version = store.currentVersion();
    Optional<EnsembleManifest> latest = times.time("plan.registry", () -> {
      Optional<EnsembleManifest> published = registry.latest();
      published.ifPresent(registry::requireSubModels);
      return published;
    });
    StructType schema = times.time("plan.schema", () -> {
      // A user's pipeline that no longer fits the store stops the run here, before any row is deleted.
      training.checkPipeline(version);
      return store.read(version).schema();
    });
    String column = idColumn(request.kind(), schema);
    DataType idType = schema.apply(column).dataType();
    requireIdType(request, idType, column);
    Collection<Integer> candidates = request.kind() == IdKind.SUBJECT ? store.shardsOf(request.ids()) : null;
    Map<String, Map<Integer, Long>> matches = times.time("plan.match",
        () -> store.match(column, request.ids(), candidates, version));
    Map<String, String> hashes = new LinkedHashMap<>();
    request.ids().forEach(id -> hashes.put(id, key.hash(request.kind(), id)));
    // Each id's open request (the oldest, were there two) and whether one of its requests completed.
    Map<String, LedgerEntry> open = new LinkedHashMap<>();
    Set<String> completed = new HashSet<>();
    times.time("plan.ledger", () -> ledger.currentOf(hashes.values())).stream()
        .sorted(Comparator.comparing(LedgerEntry::receivedAt)).forEach(e -> {
      if (e.isComplete()) {
        completed.add(e.subjectHash());
      } else {
        open.putIfAbsent(e.subjectHash(), e);
      }
    });

    List<Item> items = new ArrayList<>();
    Map<Integer, Long> rowsPerShard = new TreeMap<>();
    Set<Integer> hit = new TreeSet<>();
    long found = 0;
    long notFound = 0;
    long alreadyForgotten = 0;
    for (String id : request.ids()) {
      String hash = hashes.get(id);
      Map<Integer, Long> rows = matches.getOrDefault(id, Map.of());
      rows.forEach((shard, n) -> rowsPerShard.merge(shard, n, Long::sum));
      hit.addAll(rows.keySet());
      LedgerEntry openEntry = open.get(hash);
      if (openEntry != null) {
        hit.addAll(openEntry.shards());
      }
      boolean done = openEntry == null && rows.isEmpty() && completed.contains(hash);
      items.add(new Item(id, hash, openEntry, rows, done));
      if (!rows.isEmpty()) {
        found++;
      } else if (done) {
        alreadyForgotten++;
      } else if (openEntry == null) {
        notFound++;
      }
    }
    // Shards with rows to delete now: every artifact of theirs is trained on those rows. Shards of
    // resumed requests whose rows are gone already need only what the store's log says is stale.
    Set<Integer> deleting = rowsPerShard.keySet();
    Set<Integer> retrain = new TreeSet<>();
    Retirement toRetire = times.time("plan.artifacts", () -> {
      latest.ifPresent(m -> {
        m.shards().stream().map(SubModelEntry::shard).filter(deleting::contains).forEach(retrain::add);
        retrain.addAll(Training.shardsTrainedOnDeletedRows(store, m));
      });
      Map<Integer, Long> removals = Training.removalsSinceOldestSubModel(store, registry);
      return registry.planRetirement(
          (shard, v) -> deleting.contains(shard) || v < removals.getOrDefault(shard, -1L), "plan", "plan");
    });
    double estimated = latest.map(m -> m.shards().stream().filter(e -> retrain.contains(e.shard()))
        .mapToDouble(SubModelEntry::fitSeconds).sum()).orElse(0.0);
    double full = latest.map(m -> m.shards().stream().mapToDouble(SubModelEntry::fitSeconds).sum()).orElse(0.0);
    long rowsToDelete = rowsPerShard.values().stream().mapToLong(Long::longValue).sum();
    int shards = store.layout().shards();
    Hold hold = hold(items, Instant.now());
    ForgetPlan plan = new ForgetPlan(version, latest.map(EnsembleManifest::version).orElse(null), request.kind().id(),
        request.size(), found, notFound, open.size(), alreadyForgotten, rowsToDelete, rowsPerShard,
        new ArrayList<>(hit), new ArrayList<>(retrain), toRetire.ensembleVersions(), toRetire.subModels().size(), shards,
        ShardMath.expectedShardsHit(shards, found), estimated, full, hold.requests(), hold.because());
    return new Prepared(plan, items, column, idType);
  }

  /** Whether an item's request may wait for a larger batch: rows found now, and new or held before. */
  static boolean holdable(Item item) {
    return item.found() && (item.open() == null || item.open().isHeld());
  }

  private record Hold(long requests, String because) {}

  /**
   * Whether the run holds its requests for a larger batch (forget.min-batch): it does while the
   * requests it would work on (with rows now, new or held before) are fewer than the minimum, none
   * has waited forget.max-wait-hours, and no request an earlier run started is to be finished (that
   * run publishes an update anyway, and the held ones join it).
   */
  private Hold hold(List<Item> items, Instant now) {
    List<Item> waiting = items.stream().filter(ForgetPlanner::holdable).toList();
    boolean resuming = items.stream().anyMatch(i -> i.open() != null && !i.open().isHeld());
    if (settings.minBatch() <= 1 || waiting.isEmpty() || resuming || waiting.size() >= settings.minBatch()) {
      return new Hold(0, null);
    }
    // A held request goes by its age, and a day before its deadline at the latest (were the deadline
    // nearer than its age limit: the configuration changed since it was held).
    Instant releasedBy = waiting.stream().map(i -> i.open() == null ? settings.releasedBy(now)
        : Collections.min(List.of(settings.releasedBy(i.open().receivedAt()), i.open().deadline().minus(Duration.ofDays(1)))))
        .min(Comparator.naturalOrder()).orElseThrow();
    if (!now.isBefore(releasedBy)) {
      return new Hold(0, null);
    }
    return new Hold(waiting.size(), waiting.size() + " request(s) held for a batch of " + settings.minBatch()
        + " (forget.min-batch): an update for fewer singles out who left; released by " + releasedBy
        + " at the latest (forget.max-wait-hours = " + settings.maxWaitHours() + "), a day or more before any deadline");
  }

  private String idColumn(IdKind kind, StructType schema) {
    if (kind == IdKind.SUBJECT) {
      return store.layout().subjectColumn();
    }
    String column = settings.recordColumn();
    if (column.isEmpty()) {
      throw new InvalidConfigException("Forgetting by record needs forget.record-column: the store column that names a record");
    }
    if (!List.of(schema.fieldNames()).contains(column)) {
      throw new InvalidConfigException("The record column '" + column + "' (forget.record-column) is not in the store");
    }
    return column;
  }

  private void requireIdType(ForgetRequest request, DataType type, String column) {
    if (!(type instanceof IntegralType)) {
      return;
    }
    long bad = request.ids().stream().filter(id -> !id.matches("[+-]?\\d{1,19}")).count();
    if (bad > 0) {
      throw new InvalidRequestException("Wrong id type: the store's column '" + column + "' holds whole numbers, and " + bad
          + " id(s) of the batch are not whole numbers");
    }
  }
}
