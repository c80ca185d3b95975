package io.lethe.internal.verify;

import io.lethe.types.AttackResult;
import io.lethe.types.ForgetEvidence;
import io.lethe.types.UpdateEvidence;
import io.lethe.types.VerifyReport;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.sum;

import io.lethe.InvalidRequestException;
import io.lethe.internal.ledger.ForgetLedger;
import io.lethe.internal.ledger.LedgerKey;
import io.lethe.internal.model.ShardEnsembleModel;
import io.lethe.internal.registry.ModelRegistry;
import io.lethe.internal.store.ShardedStore;
import io.lethe.internal.train.TrainSettings;
import io.lethe.types.EnsembleManifest;
import io.lethe.types.ForgetRequest;
import io.lethe.types.ForgetStep.Phase;
import io.lethe.types.ForgetStep;
import io.lethe.types.IdKind;
import io.lethe.types.LedgerEntry;
import io.lethe.types.VerifyReport.Check;
import io.lethe.types.VerifyReport.Retrain;
import io.lethe.types.VerifyReport.Request;
import io.lethe.types.VerifyReport.Utility;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
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

  private final ShardedStore store;
  private final ModelRegistry registry;
  private final ForgetLedger ledger;
  private final LedgerKey key;
  private final VerifySettings verify;
  private final DataChecks data;
  private final ModelChecks models;
  private final RetrainChecks retrain;

  public Verifier(ShardedStore store, ModelRegistry registry, ForgetLedger ledger, LedgerKey key,
      TrainSettings settings, VerifySettings verify, String recordColumn) {
    this.store = store;
    this.registry = registry;
    this.ledger = ledger;
    this.key = key;
    this.verify = verify;
    this.data = new DataChecks(store, key, recordColumn);
    this.models = new ModelChecks(store, registry);
    this.retrain = new RetrainChecks(store, registry, settings, verify);
  }

  /** The batch of the most recent forget run in the ledger that worked on requests (not only held them). */
  public String latestBatch() {
    List<Row> latest = ledger.events().where(col("step").equalTo(ForgetStep.PLAN.id())
            .and(col("phase").equalTo(Phase.DONE.id())))
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
    long inCurrent = hit.isEmpty() ? 0 : data.matching(store.read(storeVersion), hit, hashes);
    readable.put(storeVersion, inCurrent);
    checks.add(DataChecks.dataCurrent(hit.size(), inCurrent, storeVersion));
    // Older versions and the change feed hold the batch's rows until the purge's VACUUM: on plan
    // while that purge is pending and due before the deadlines.
    String untilPurge = purgePending && inCurrent == 0 ? dueAfter : null;
    checks.add(awaitingPurge(data.dataRetained(hit, hashes, readable), untilPurge));
    checks.add(awaitingPurge(data.changeFeed(hit, hashes, readable.keySet()), untilPurge));

    Optional<EnsembleManifest> latest = registry.latest();
    checks.add(models.modelsPublished(latest, hit, deleteVersion));
    checks.add(models.modelsRetired(latest));

    Optional<ShardEnsembleModel> published = latest.map(m -> ShardEnsembleModel.load(registry, m.version()));
    Dataset<Row> evaluation = retrain.evaluationRows(heldOut).cache();
    try {
      RetrainChecks.Retrains done = published.map(m -> retrain.retrains(m, hit, evaluation))
          .orElse(new RetrainChecks.Retrains(List.of(), List.of()));
      List<Retrain> retrains = done.retrains();
      long disagree = retrains.stream().filter(r -> r.differs(verify.minAgreement())).count();
      String unreadable = done.unreadable().isEmpty() ? "" : "; not retrained: shard(s) " + done.unreadable()
          + ", whose training rows are vacuumed and changed since";
      checks.add(new Check("retrain.equivalence", disagree == 0, (retrains.isEmpty()
          ? "no hit shard has a published sub-model to compare"
          : disagree == 0 ? "each checked shard's published sub-model predicts like a from-scratch fit"
              + " on the same store version and seed"
              : disagree + " checked shard(s) predict differently from a from-scratch fit") + unreadable,
          Map.of("shardsChecked", retrains.size(), "minAgreement", verify.minAgreement(), "disagreeing", disagree,
              "shardsNotReadable", done.unreadable().size())));
      membership(evidence).ifPresent(checks::add);
      perExample(evidence).ifPresent(checks::add);
      difference(evidence).ifPresent(checks::add);
      if (latest.isPresent() && published.isPresent()) {
        EpsilonCheck.check(store, registry, latest.get(), published.get(), hit, verify.epsilonRepetitions())
            .ifPresent(checks::add);
      }
      Utility utility = published.map(m -> retrain.utility(m, evaluation, heldOut != null)).orElse(null);
      boolean passed = checks.stream().allMatch(Check::passed);
      LOG.info("Verified {} {}: {} ({} of {} checks passed)", scope.kind(), scope.name(), passed ? "passed" : "FAILED",
          checks.stream().filter(Check::passed).count(), checks.size());
      List<VerifyReport.ShardStrategy> strategies = latest.map(m -> m.shards().stream()
          .filter(e -> hit.contains(e.shard())).map(e -> models.strategy(m, e)).toList()).orElse(List.of());
      return new VerifyReport(VerifyReport.FORMAT_VERSION, scope.name(), scope.kind(), scope.idsChecked(),
          now.toString(), passed, purgePending && purgeDue != null ? purgeDue.toString() : null, checks, requests,
          new ArrayList<>(hit), deleteVersion, storeVersion,
          latest.map(EnsembleManifest::version).orElse(null), strategies, retrains, utility, evidence);
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
    Optional<AttackResult> after = strongest(evidence, "forgotten", "after");
    if (after.isEmpty()) {
      return Optional.empty();
    }
    AttackResult r = after.get();
    double bound = aucBound(r);
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

  /**
   * What the published update gives away: the strongest feature of the difference attack on the
   * forgotten rows among kept rows of their shards, against what chance exceeds once in a hundred
   * for these counts ({@link DifferenceAttack#aucBound}). Above it, the check warns (the forget did
   * what it must; an observer holding the ensemble before and after can still tell who left). Its
   * control says whether the attack has power on these models at all.
   */
  public static Optional<Check> difference(ForgetEvidence evidence) {
    UpdateEvidence update = evidence == null ? null : evidence.update();
    AttackResult r = update == null ? null : DifferenceAttack.strongest(update.forgotten());
    if (r == null) {
      return Optional.empty();
    }
    double bound = DifferenceAttack.aucBound(r.members(), r.nonMembers());
    AttackResult c = DifferenceAttack.strongest(update.control());
    Map<String, Object> figures = new LinkedHashMap<>();
    figures.put("feature", r.attack());
    figures.put("forgottenRows", r.members());
    figures.put("keptRows", r.nonMembers());
    figures.put("auc", r.auc());
    figures.put("aucBound", bound);
    String control = "";
    if (c != null) {
      figures.put("controlFeature", c.attack());
      figures.put("controlRemovedRows", c.members());
      double controlBound = DifferenceAttack.aucBound(c.members(), c.nonMembers());
      figures.put("controlAuc", c.auc());
      figures.put("controlAucBound", controlBound);
      control = c.auc() > controlBound
          ? String.format(Locale.ROOT, "; its control singles out random removed people at AUC %.3f", c.auc())
          : String.format(Locale.ROOT, "; its control does not single out random removed people either (AUC %.3f"
              + " within %.3f), so the attack has little power on these models", c.auc(), controlBound);
    }
    if (r.auc() > bound) {
      return Optional.of(Check.warning("update.difference", String.format(Locale.ROOT, "an observer holding the"
          + " ensemble before and after this update can single out the forgotten rows among the kept rows of their"
          + " shards (%s, AUC %.3f above %.3f)%s; forgetting people in larger batches blurs them (forget.min-batch)",
          r.attack(), r.auc(), bound, control), figures));
    }
    return Optional.of(new Check("update.difference", true, String.format(Locale.ROOT, "comparing the ensemble"
        + " before and after this update does not single out the forgotten rows among the kept rows of their shards"
        + " (%s, AUC %.3f within %.3f)%s", r.attack(), r.auc(), bound, control), figures));
  }

  /** The per-example test's check ({@link PerExampleAttack#check}): empty when the run recorded no test. */
  public static Optional<Check> perExample(ForgetEvidence evidence) {
    return PerExampleAttack.check(evidence);
  }

  /** Chance plus three standard errors of the AUC under no signal, for these counts (at most 1). */
  static double aucBound(AttackResult r) {
    return Math.min(1.0,
        0.5 + 3 * Math.sqrt((r.members() + r.nonMembers() + 1.0) / (12.0 * r.members() * r.nonMembers())));
  }

  private static Optional<AttackResult> strongest(ForgetEvidence evidence, String population,
      String model) {
    List<AttackResult> found = evidence.attacks().stream()
        .filter(m -> m.population().equals(population) && m.model().equals(model))
        .map(ForgetEvidence.Measurement::result).toList();
    return found.stream().filter(r -> r.attack().equals("reference")).findFirst()
        .or(() -> found.stream().findFirst());
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

}
