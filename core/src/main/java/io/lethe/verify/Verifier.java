package io.lethe.verify;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;

import io.delta.tables.DeltaTable;
import io.lethe.InvalidRequestException;
import io.lethe.forget.ForgetRequest;
import io.lethe.ledger.ForgetLedger;
import io.lethe.ledger.ForgetStep;
import io.lethe.ledger.ForgetStep.Phase;
import io.lethe.ledger.IdKind;
import io.lethe.ledger.LedgerEntry;
import io.lethe.ledger.LedgerKey;
import io.lethe.model.Evaluation;
import io.lethe.model.ShardColumns;
import io.lethe.model.ShardEnsembleModel;
import io.lethe.registry.EnsembleManifest;
import io.lethe.registry.ModelRegistry;
import io.lethe.registry.Retirement;
import io.lethe.registry.SubModelEntry;
import io.lethe.run.HadoopFiles;
import io.lethe.store.ShardedStore;
import io.lethe.store.StoreLayout;
import io.lethe.train.ShardTrainer;
import io.lethe.train.Engine;
import io.lethe.train.TrainSettings;
import io.lethe.unlearn.CertifiedState;
import io.lethe.unlearn.Checkpoints;
import io.lethe.unlearn.Strategies;
import io.lethe.unlearn.Strategy;
import io.lethe.train.Training;
import io.lethe.verify.VerifyReport.Check;
import io.lethe.verify.VerifyReport.Refit;
import io.lethe.verify.VerifyReport.Request;
import io.lethe.verify.VerifyReport.Utility;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.hadoop.fs.Path;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.classification.LinearSVCModel;
import org.apache.spark.ml.classification.LogisticRegressionModel;
import org.apache.spark.ml.classification.NaiveBayesModel;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.ml.regression.LinearRegressionModel;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks, for one forget batch, that its rows are gone from the store (current version, every
 * version still readable, the change feed), that no model trained on them is published or left on
 * storage, that each retrained shard is what a from-scratch fit gives, and what the model's
 * utility is now. Rows of the batch are found by their keyed hash (the ledger's), so no id is
 * needed and none is printed.
 */
public final class Verifier {
  private static final Logger LOG = LoggerFactory.getLogger(Verifier.class);
  private static final String PUBLISHED = "__lethe_published_prediction";

  private final ShardedStore store;
  private final ModelRegistry registry;
  private final ForgetLedger ledger;
  private final LedgerKey key;
  private final TrainSettings settings;
  private final VerifySettings verify;
  private final String recordColumn;

  public Verifier(ShardedStore store, ModelRegistry registry, ForgetLedger ledger, LedgerKey key,
      TrainSettings settings, VerifySettings verify, String recordColumn) {
    this.store = store;
    this.registry = registry;
    this.ledger = ledger;
    this.key = key;
    this.settings = settings;
    this.verify = verify;
    this.recordColumn = recordColumn;
  }

  /** The batch of the most recent forget run in the ledger. */
  public String latestBatch() {
    List<Row> latest = ledger.events().where(col("step").equalTo(ForgetStep.PLAN.id()))
        .orderBy(col("at").desc()).select("batch_id").limit(1).collectAsList();
    if (latest.isEmpty()) {
      throw new InvalidRequestException("The ledger at " + ledger.path() + " holds no forget batch to verify");
    }
    return latest.get(0).getString(0);
  }

  /** What a report covers: a forget batch, or a set of ids asked about on demand. */
  private record Scope(String name, String kind, Integer idsChecked, List<LedgerEntry> current,
      Map<IdKind, List<String>> hashes, Set<Integer> hit, long unrequested) {}

  /**
   * Verifies a batch. The evaluation rows for retrain agreement and utility are the given
   * held-out rows (with the label column), else a sample of the store's current rows.
   */
  public VerifyReport verify(String batchId, Dataset<Row> heldOut) {
    ledger.requireKey(key); // with another key, no row would match and the data checks would pass for nothing
    List<Row> batchRequests = ledger.events()
        .where(col("batch_id").equalTo(batchId).and(col("step").equalTo(ForgetStep.PLAN.id())))
        .select("request_id").distinct().collectAsList();
    if (batchRequests.isEmpty()) {
      throw new InvalidRequestException("No forget batch " + batchId + " in the ledger at " + ledger.path());
    }
    Set<String> requestIds = new TreeSet<>();
    batchRequests.forEach(r -> requestIds.add(r.getString(0)));
    List<LedgerEntry> current = currentEntries(col("request_id").isin(requestIds.toArray()));
    List<LedgerEntry> found = current.stream().filter(e -> !e.shards().isEmpty()).toList();
    Set<Integer> hit = new TreeSet<>();
    found.forEach(e -> hit.addAll(e.shards()));
    Map<IdKind, List<String>> hashes = new TreeMap<>();
    found.forEach(e -> hashes.computeIfAbsent(IdKind.parse(e.kind()), k -> new ArrayList<>()).add(e.subjectHash()));
    return check(new Scope(batchId, "batch", null, current, hashes, hit, 0), heldOut,
        MembershipAudit.read(store.spark(), verify, batchId).orElse(null));
  }

  /**
   * Verifies a set of ids on demand, whatever batches forgot them: each must have a complete
   * request in the ledger, and no row of theirs may be in the store, its readable versions or its
   * change feed (looked for in the shards their subjects hash to, or in every shard for records);
   * the models must be trained after their deletes.
   */
  public VerifyReport verify(ForgetRequest ids, Dataset<Row> heldOut) {
    ledger.requireKey(key);
    List<String> wanted = ids.ids().stream().map(id -> key.hash(ids.kind(), id)).toList();
    List<LedgerEntry> current = wanted.isEmpty() ? List.of()
        : currentEntries(col("subject_hash").isin(wanted.toArray()));
    Set<String> requested = new TreeSet<>();
    current.forEach(e -> requested.add(e.subjectHash()));
    Set<Integer> hit = new TreeSet<>(ids.kind() == IdKind.SUBJECT ? store.shardsOf(ids.ids())
        : store.layout().allShards());
    current.forEach(e -> hit.addAll(e.shards()));
    return check(new Scope("ids-" + DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC)
        .format(Instant.now()), "ids", ids.size(), current, Map.of(ids.kind(), wanted), hit,
        wanted.stream().filter(h -> !requested.contains(h)).count()), heldOut, null);
  }

  private List<LedgerEntry> currentEntries(Column which) {
    return ledger.current().where(which).collectAsList().stream().map(ForgetLedger::entry)
        .sorted(Comparator.comparing(LedgerEntry::requestId)).toList();
  }

  private VerifyReport check(Scope scope, Dataset<Row> heldOut, ForgetEvidence evidence) {
    List<LedgerEntry> current = scope.current();
    Set<String> requestIds = new TreeSet<>();
    current.forEach(e -> requestIds.add(e.requestId()));
    Map<String, Map<String, String>> steps = new TreeMap<>();
    if (!requestIds.isEmpty()) {
      for (Row e : ledger.events().where(col("request_id").isin(requestIds.toArray())
          .and(col("phase").equalTo(Phase.DONE.id()))).orderBy("at").collectAsList()) {
        steps.computeIfAbsent(e.getAs("request_id"), k -> new LinkedHashMap<>())
            .put(e.getAs("step"), ForgetLedger.entry(e).at().toString());
      }
    }

    Instant now = Instant.now();
    List<Check> checks = new ArrayList<>();
    List<Request> requests = new ArrayList<>();
    Map<String, Long> byStatus = new TreeMap<>();
    long late = 0;
    for (LedgerEntry e : current) {
      byStatus.merge(e.status(), 1L, Long::sum);
      Instant completed = e.isComplete() ? e.at() : null;
      boolean inTime = completed != null ? !completed.isAfter(e.deadline()) : !now.isAfter(e.deadline());
      late += inTime ? 0 : 1;
      requests.add(new Request(e.requestId(), e.kind(), e.status(), e.receivedAt().toString(),
          e.deadline().toString(), completed == null ? null : completed.toString(), inTime,
          steps.getOrDefault(e.requestId(), Map.of())));
    }
    long incomplete = current.stream().filter(e -> !e.isComplete()).count();
    // A request the model has forgotten whose rows wait for the purge (the VACUUM retention has
    // not passed) is on plan, not a failure, as long as the purge is due before its deadline.
    List<LedgerEntry> waiting = current.stream().filter(e -> "purge-pending".equals(e.status())).toList();
    long atRisk = waiting.stream().filter(e -> purgeMissesDeadline(e, now)).count();
    Instant purgeDue = waiting.stream().map(LedgerEntry::purgeAfter).filter(Objects::nonNull)
        .max(Comparator.naturalOrder()).orElse(null);
    boolean purgePending = !waiting.isEmpty() && waiting.size() == incomplete && atRisk == 0
        && scope.unrequested() == 0;
    String dueAfter = purgeDue == null ? "the next purge" : "the purge due after " + purgeDue;
    if (scope.unrequested() > 0) {
      byStatus.put("not-requested", scope.unrequested());
    }
    boolean complete = incomplete == 0 && scope.unrequested() == 0;
    if (purgePending) {
      checks.add(Check.pending("ledger.complete", waiting.size() + " of " + current.size() + " requests are forgotten"
          + " by the model and wait for " + dueAfter + " (the VACUUM retention), within their deadlines",
          new TreeMap<>(byStatus)));
    } else {
      checks.add(new Check("ledger.complete", complete, complete
          ? "every request of the " + scope.kind() + " is complete"
          : (incomplete > 0 ? incomplete + " of " + current.size() + " requests are not complete" : "")
              + (atRisk > 0 ? " (" + atRisk + " wait for a purge due after their deadline)" : "")
              + (incomplete > 0 && scope.unrequested() > 0 ? "; " : "")
              + (scope.unrequested() > 0 ? scope.unrequested() + " id(s) have no forget request in the ledger" : ""),
          new TreeMap<>(byStatus)));
    }
    long lateOrAtRisk = late + waiting.stream().filter(e -> !now.isAfter(e.deadline()) && purgeMissesDeadline(e, now))
        .count();
    checks.add(new Check("ledger.deadline", lateOrAtRisk == 0, lateOrAtRisk == 0
        ? "every request completed (or is still) within its deadline"
            + (purgePending ? ", and its purge is due before it" : "")
        : lateOrAtRisk + " request(s) completed after their deadline, are overdue, or wait for a purge due after it",
        Map.of("late", late, "purgeAfterDeadline", atRisk)));

    Set<Integer> hit = scope.hit();
    Map<IdKind, List<String>> hashes = scope.hashes();
    Long deleteVersion = current.stream().filter(e -> !e.shards().isEmpty()).map(LedgerEntry::storeVersion)
        .filter(v -> v != null).max(Long::compare).orElse(null);
    long storeVersion = store.currentVersion();
    Map<Long, Long> readable = new TreeMap<>();
    long inCurrent = hit.isEmpty() ? 0 : matching(store.read(storeVersion), hit, hashes);
    readable.put(storeVersion, inCurrent);
    checks.add(dataCurrent(hit.size(), inCurrent, storeVersion));
    // Older versions and the change feed hold the batch's rows until the purge's VACUUM: on plan
    // while that purge is pending and due before the deadlines.
    String untilPurge = purgePending && inCurrent == 0 ? dueAfter : null;
    checks.add(awaitingPurge(dataRetained(hit, hashes, readable), untilPurge));
    checks.add(awaitingPurge(changeFeed(hit, hashes, readable.keySet()), untilPurge));

    Optional<EnsembleManifest> latest = registry.latest();
    checks.add(modelsPublished(latest, hit, deleteVersion));
    checks.add(modelsRetired(latest));

    Optional<ShardEnsembleModel> published = latest.map(m -> ShardEnsembleModel.load(registry, m.version()));
    Dataset<Row> evaluation = evaluationRows(heldOut).cache();
    try {
      List<Refit> refits = published.map(m -> refits(m, hit, evaluation)).orElse(List.of());
      long disagree = refits.stream().filter(r -> r.agreement() < verify.minAgreement()).count();
      checks.add(new Check("retrain.equivalence", disagree == 0, refits.isEmpty()
          ? "no hit shard has a published sub-model to compare"
          : disagree == 0 ? "each checked shard's published sub-model predicts like a from-scratch fit"
              + " on the same store version and seed"
              : disagree + " checked shard(s) predict differently from a from-scratch fit",
          Map.of("shardsChecked", refits.size(), "minAgreement", verify.minAgreement(), "disagreeing", disagree)));
      membership(evidence).ifPresent(checks::add);
      Utility utility = published.map(m -> utility(m, evaluation, heldOut != null)).orElse(null);
      boolean passed = checks.stream().allMatch(Check::passed);
      LOG.info("Verified {} {}: {} ({} of {} checks passed)", scope.kind(), scope.name(), passed ? "passed" : "FAILED",
          checks.stream().filter(Check::passed).count(), checks.size());
      List<VerifyReport.ShardStrategy> strategies = latest.map(m -> m.shards().stream()
          .filter(e -> hit.contains(e.shard())).map(e -> strategy(m, e)).toList()).orElse(List.of());
      return new VerifyReport(VerifyReport.FORMAT_VERSION, scope.name(), scope.kind(), scope.idsChecked(),
          now.toString(), passed, purgePending && purgeDue != null ? purgeDue.toString() : null, checks, requests,
          new ArrayList<>(hit), deleteVersion, storeVersion,
          latest.map(EnsembleManifest::version).orElse(null), strategies, refits, utility, evidence);
    } finally {
      evaluation.unpersist();
    }
  }

  /**
   * Whether the forgotten rows still look like members to the model after the forget: the
   * strongest attack recorded (reference, else threshold) must not tell them from never-seen rows
   * better than chance plus three standard errors of the AUC under no signal.
   */
  static Optional<Check> membership(ForgetEvidence evidence) {
    if (evidence == null) {
      return Optional.empty();
    }
    Optional<MembershipAttack.Result> after = strongest(evidence, "forgotten", "after");
    if (after.isEmpty()) {
      return Optional.empty();
    }
    MembershipAttack.Result r = after.get();
    double bound = Math.min(1.0,
        0.5 + 3 * Math.sqrt((r.members() + r.nonMembers() + 1.0) / (12.0 * r.members() * r.nonMembers())));
    boolean ok = !(r.auc() > bound);
    Map<String, Object> figures = new LinkedHashMap<>();
    figures.put("attack", r.attack());
    figures.put("forgottenRows", r.members());
    figures.put("unseenRows", r.nonMembers());
    figures.put("aucAfter", r.auc());
    figures.put("aucBound", bound);
    strongest(evidence, "forgotten", "before").ifPresent(b -> figures.put("aucBefore", b.auc()));
    strongest(evidence, "retained", "after").ifPresent(c -> figures.put("controlAucAfter", c.auc()));
    return Optional.of(new Check("membership.forgotten", ok, String.format(Locale.ROOT, ok
        ? "after the forget, the %s attack tells the forgotten rows from never-seen ones no better than chance"
            + " (AUC %.3f, bound %.3f)"
        : "after the forget, the %s attack still tells the forgotten rows from never-seen ones (AUC %.3f above"
            + " %.3f): the model still shows their influence", r.attack(), r.auc(), bound), figures));
  }

  private static Optional<MembershipAttack.Result> strongest(ForgetEvidence evidence, String population,
      String model) {
    List<MembershipAttack.Result> found = evidence.attacks().stream()
        .filter(m -> m.population().equals(population) && m.model().equals(model))
        .map(ForgetEvidence.Measurement::result).toList();
    return found.stream().filter(r -> r.attack().equals("reference")).findFirst()
        .or(() -> found.stream().findFirst());
  }

  /** Rows of the hit shards whose id hashes to one of the batch's hashes. */
  private long matching(Dataset<Row> rows, Set<Integer> hit, Map<IdKind, List<String>> hashes) {
    Dataset<Row> inShards = rows.where(col(StoreLayout.SHARD_COLUMN).isin(hit.toArray()));
    long n = 0;
    for (Map.Entry<IdKind, List<String>> kind : hashes.entrySet()) {
      String column = kind.getKey() == IdKind.SUBJECT ? store.layout().subjectColumn() : recordColumn;
      n += inShards.where(key.hashOf(kind.getKey(), col(column)).isin(kind.getValue().toArray())).count();
    }
    return n;
  }

  /** Whether a request's purge cannot finish by its deadline: overdue, or due only after it. */
  private static boolean purgeMissesDeadline(LedgerEntry e, Instant now) {
    return now.isAfter(e.deadline()) || (e.purgeAfter() != null && e.purgeAfter().isAfter(e.deadline()));
  }

  /** A data check that finds the batch's rows only where its pending purge removes them. */
  private static Check awaitingPurge(Check found, String dueAfter) {
    return found.passed() || dueAfter == null ? found
        : Check.pending(found.id(), found.finding() + ", until " + dueAfter, found.figures());
  }

  private static Check dataCurrent(int shardsScanned, long rows, long version) {
    return new Check("data.current", rows == 0, rows == 0
        ? "no row of the batch in the current store version " + version
        : rows + " row(s) of the batch are still in the current store version " + version,
        Map.of("rows", rows, "storeVersion", version, "shardsScanned", shardsScanned));
  }

  /**
   * Every version of the store's history that can still be read (time travel): none may hold a row.
   * {@code readable} comes in with the current version's count and goes out with every readable one.
   */
  private Check dataRetained(Set<Integer> hit, Map<IdKind, List<String>> hashes, Map<Long, Long> readable) {
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
  private Check changeFeed(Set<Integer> hit, Map<IdKind, List<String>> hashes, Set<Long> readableVersions) {
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

  private Check modelsPublished(Optional<EnsembleManifest> latest, Set<Integer> hit, Long deleteVersion) {
    if (latest.isEmpty()) {
      return new Check("models.published", true, "no ensemble is published", Map.of());
    }
    EnsembleManifest m = latest.get();
    List<Integer> before = m.shards().stream()
        .filter(e -> hit.contains(e.shard()) && deleteVersion != null && e.storeVersion() < deleteVersion)
        .map(SubModelEntry::shard).toList();
    List<Integer> stale = Training.shardsTrainedOnDeletedRows(store, m);
    Set<Integer> bad = new TreeSet<>(before);
    bad.addAll(stale);
    boolean ok = bad.isEmpty();
    Map<String, Object> figures = new LinkedHashMap<>();
    figures.put("ensembleVersion", m.version());
    figures.put("hitShardsTrainedBeforeTheDelete", before);
    figures.put("shardsTrainedOnDeletedRows", stale);
    return new Check("models.published", ok, ok
        ? "every sub-model of ensemble version " + m.version() + " was trained after the batch's delete"
        : "ensemble version " + m.version() + " holds sub-models trained before the delete of their rows: shards "
            + bad, figures);
  }

  /**
   * Nothing trained on deleted rows is left on storage, and everything recorded as retired is gone:
   * no published version of the log, and no file under its directory, found by listing the
   * registry's file system.
   */
  private Check modelsRetired(Optional<EnsembleManifest> latest) {
    Map<Integer, Long> removals = Training.removalsSinceOldestSubModel(store, registry);
    // The latest version is checked by models.published; here, everything else on storage.
    Retirement stale = registry.planRetirement((shard, v) -> v < removals.getOrDefault(shard, -1L)
        && latest.flatMap(m -> m.shard(shard)).map(e -> e.storeVersion() != v).orElse(true), "verify", "verify");
    HadoopFiles files = new HadoopFiles(store.spark().sparkContext().hadoopConfiguration());
    List<String> onStorage = files.filesUnder(registry.root()).stream().map(Path::toString).toList();
    Set<Long> published = Set.copyOf(registry.versions());
    List<String> present = new ArrayList<>();
    long recorded = 0;
    for (Retirement r : registry.retirements()) {
      for (long v : r.ensembleVersions()) {
        recorded++;
        if (published.contains(v) || holdsFiles(onStorage, registry.ensembleDir(v))) {
          present.add("ensembles v" + v);
        }
      }
      for (String dir : r.subModels()) {
        recorded++;
        if (holdsFiles(onStorage, new Path(registry.root(), dir))) {
          present.add(dir);
        }
      }
    }
    boolean ok = stale.isEmpty() && present.isEmpty();
    Map<String, Object> figures = new LinkedHashMap<>();
    figures.put("staleEnsembleVersions", stale.ensembleVersions());
    figures.put("staleSubModelDirectories", stale.subModels().size());
    figures.put("retiredArtifactsRecorded", recorded);
    figures.put("retiredArtifactsStillOnStorage", present.size());
    return new Check("models.retired", ok, ok
        ? "no ensemble version or sub-model trained on deleted rows is on storage; all " + recorded
            + " retired artifacts are gone"
        : stale.ensembleVersions().size() + " ensemble version(s) and " + stale.subModels().size()
            + " sub-model director(ies) trained on deleted rows remain; " + present.size()
            + " retired artifact(s) are still on storage", figures);
  }

  private static boolean holdsFiles(List<String> files, Path dir) {
    String prefix = dir.toString() + "/";
    return files.stream().anyMatch(f -> f.startsWith(prefix));
  }

  private Dataset<Row> evaluationRows(Dataset<Row> heldOut) {
    return heldOut != null ? heldOut
        : store.read(store.currentVersion()).drop(StoreLayout.SHARD_COLUMN).limit(verify.sampleRows());
  }

  /** Each hit shard (or the configured number of them) refitted from scratch and compared. */
  private List<Refit> refits(ShardEnsembleModel published, Set<Integer> hit, Dataset<Row> evaluation) {
    EnsembleManifest manifest = published.manifest();
    List<Refit> out = new ArrayList<>();
    for (SubModelEntry e : manifest.shards()) {
      if (!hit.contains(e.shard()) || (verify.retrainShards() > 0 && out.size() >= verify.retrainShards())) {
        continue;
      }
      // The seed the manifest records for this shard, through the settings' per-shard derivation; a
      // certified sub-model is refitted by the same certified trainer, with its own noise.
      // A sliced one by the same sliced training.
      Optional<CertifiedState> certified = registry.stateFile(manifest.version(), e, CertifiedState.FILE_NAME,
          CertifiedState.class);
      Optional<Checkpoints> checkpoints = registry.stateFile(manifest.version(), e, Checkpoints.FILE_NAME,
          Checkpoints.class);
      Strategy how = Strategies.trainedBy(file -> registry.hasStateFile(manifest.version(), e, file));
      TrainSettings recorded = settings.asRecorded(manifest.estimator(), manifest.estimatorParams());
      TrainSettings as = new TrainSettings(recorded.estimator(), recorded.params(),
          e.seed() - (settings.seedFor(e.shard()) - settings.seed()), 1, settings.impute(), settings.scale(), how,
          settings.certification(), checkpoints.map(Checkpoints::slices).orElse(settings.slices()),
          // The engine that fitted the published sub-model: the task engine's fit is deterministic, as is spark.ml's.
          Engine.parse(e.engine()), settings.taskMemoryMb(), recorded.pipeline());
      ShardTrainer trainer = new ShardTrainer(store, as).withNoise(
          certified.map(c -> Map.of(e.shard(), c)).orElse(Map.of()));
      // When the version's files were rewritten since (the purge's REORG) and vacuumed, its rows
      // are the current ones: REORG changes files, not rows.
      long version = store.filesPresent(e.storeVersion(), List.of(e.shard())) ? e.storeVersion()
          : store.currentVersion();
      ShardTrainer.FittedShard refit = trainer.fitShard(e.shard(), version);
      if (refit == null) {
        continue; // the shard has no rows left: nothing to refit
      }
      PipelineModel mine = published.subModel(e.shard());
      String prediction = ShardColumns.prediction(e.shard());
      // Both models score the same rows in one pass: the published one's prediction is kept as a
      // column and its other outputs dropped, so that the refit's pipeline can add its own.
      Dataset<Row> scored = mine.transform(evaluation);
      Set<String> inputs = Set.of(evaluation.columns());
      Dataset<Row> withPublished = scored.withColumn(PUBLISHED, col(prediction))
          .drop(Arrays.stream(scored.columns()).filter(c -> !inputs.contains(c)).toArray(String[]::new));
      Row counts = refit.model().transform(withPublished).agg(count(lit(1)),
          sum(when(col(PUBLISHED).equalTo(col(prediction)), 1).otherwise(0))).head();
      long total = counts.getLong(0);
      double agreement = total == 0 ? 1.0 : counts.getLong(1) / (double) total;
      out.add(new Refit(e.shard(), version, refit.seed(), refit.rows(), agreement,
          parameterDistance(ShardTrainer.estimatorModel(mine), ShardTrainer.estimatorModel(refit.model()))));
    }
    return out;
  }

  /** How a published sub-model was made, and what that guarantees. */
  private VerifyReport.ShardStrategy strategy(EnsembleManifest manifest, SubModelEntry entry) {
    Strategy s = Strategies.ofMethod(entry.method());
    Strategy.Guarantee g = s.guaranteeOf(registry, manifest, entry);
    return new VerifyReport.ShardStrategy(entry.shard(), s.id(), g.exact(), g.words(), g.certificate());
  }

  /**
   * L2 distance of coefficients and intercepts (naive Bayes: log priors, theta and sigma), for
   * models of the same shape; else null.
   */
  static Double parameterDistance(Transformer a, Transformer b) {
    double[] pa = parameters(a);
    double[] pb = parameters(b);
    if (pa == null || pb == null || pa.length != pb.length) {
      return null;
    }
    return Math.sqrt(Vectors.sqdist(Vectors.dense(pa), Vectors.dense(pb)));
  }

  private static double[] parameters(Transformer model) {
    if (model instanceof LogisticRegressionModel m) {
      return join(m.coefficientMatrix().toArray(), m.interceptVector().toArray());
    }
    if (model instanceof LinearRegressionModel m) {
      return join(m.coefficients().toArray(), new double[] {m.intercept()});
    }
    if (model instanceof LinearSVCModel m) {
      return join(m.coefficients().toArray(), new double[] {m.intercept()});
    }
    if (model instanceof NaiveBayesModel m) {
      return join(join(m.pi().toArray(), m.theta().toArray()), m.sigma().toArray());
    }
    return null;
  }

  private static double[] join(double[] a, double[] b) {
    double[] out = new double[a.length + b.length];
    System.arraycopy(a, 0, out, 0, a.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  private Utility utility(ShardEnsembleModel published, Dataset<Row> evaluation, boolean heldOut) {
    StoreLayout layout = store.layout();
    EnsembleManifest manifest = published.manifest();
    double ensemble = Evaluation.score(published, evaluation, layout);
    Map<Integer, Double> perShard = new TreeMap<>();
    for (SubModelEntry e : manifest.shards()) {
      ShardEnsembleModel one = new ShardEnsembleModel(manifest.withShards(List.of(e)),
          List.of(published.subModel(e.shard())));
      perShard.put(e.shard(), Evaluation.score(one, evaluation, layout));
    }
    return new Utility(Evaluation.metricName(layout), heldOut ? "held-out" : "store-sample", evaluation.count(),
        ensemble, perShard);
  }
}
