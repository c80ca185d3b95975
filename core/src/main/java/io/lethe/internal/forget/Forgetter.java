package io.lethe.internal.forget;

import io.lethe.LetheException;
import io.lethe.RunStoppedException;
import io.lethe.internal.ledger.ForgetLedger;
import io.lethe.internal.ledger.LedgerKey;
import io.lethe.internal.registry.ModelRegistry;
import io.lethe.internal.run.Futures;
import io.lethe.internal.run.StepTimes;
import io.lethe.internal.store.CommitRetry;
import io.lethe.internal.store.ShardedStore;
import io.lethe.internal.train.Training;
import io.lethe.types.EnsembleManifest;
import io.lethe.types.ForgetHook;
import io.lethe.types.ForgetPlan;
import io.lethe.types.ForgetRequest;
import io.lethe.types.ForgetResult;
import io.lethe.types.ForgetStep.Phase;
import io.lethe.types.ForgetStep;
import io.lethe.types.LedgerEntry;
import io.lethe.types.PurgeReport;
import io.lethe.types.PurgeResult;
import io.lethe.types.Retirement;
import io.lethe.types.ShardUnlearning;
import io.lethe.types.TrainResult;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.FutureTask;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Exact unlearning by SISA, as a durable run. Plan first (no side effect), then, each step
 * recorded in the ledger before and after: delete the rows (a new store version), retrain the
 * shards that held them, publish, retire every artifact trained on them, purge the store, mark
 * the requests forgotten. Every step is idempotent and works from what storage says, not from
 * what the run remembers, so a run that stopped anywhere is finished by running the same batch
 * again. The retrain may be fitted while the delete runs, and is saved only once the delete has
 * committed and only if it is what a fit of the new version gives ({@link Training#adopt}).
 */
public final class Forgetter {
  private static final Logger LOG = LoggerFactory.getLogger(Forgetter.class);
  /** The log context key of the forget batch a thread works on (Log4j 2's ThreadContext through SLF4J). */
  public static final String BATCH_MDC = "lethe.batch";

  private final ShardedStore store;
  private final ModelRegistry registry;
  private final Training training;
  private final ForgetLedger ledger;
  private final LedgerKey key;
  private final ForgetSettings settings;
  private final ForgetHook hook;
  private final ForgetAudit audit;
  private final ForgetPlanner planner;

  public Forgetter(ShardedStore store, ModelRegistry registry, Training training, ForgetLedger ledger, LedgerKey key,
      ForgetSettings settings) {
    this(store, registry, training, ledger, key, settings, ForgetHook.NONE, ForgetAudit.NONE);
  }

  private Forgetter(ShardedStore store, ModelRegistry registry, Training training, ForgetLedger ledger, LedgerKey key,
      ForgetSettings settings, ForgetHook hook, ForgetAudit audit) {
    this.store = store;
    this.registry = registry;
    this.training = training;
    this.ledger = ledger;
    this.key = key;
    this.settings = settings;
    this.hook = hook;
    this.audit = audit;
    this.planner = new ForgetPlanner(store, registry, training, ledger, key, settings);
  }

  public ShardedStore store() {
    return store;
  }

  public ModelRegistry registry() {
    return registry;
  }

  public ForgetLedger ledger() {
    return ledger;
  }

  /** The same forgetter, calling {@code newHook} before each step (for fault-injection tests). */
  public Forgetter withHook(ForgetHook newHook) {
    return new Forgetter(store, registry, training, ledger, key, settings, newHook, audit);
  }

  /** The same forgetter, taking evidence with {@code newAudit} between publishing and retiring. */
  public Forgetter withAudit(ForgetAudit newAudit) {
    return new Forgetter(store, registry, training, ledger, key, settings, hook, newAudit);
  }

  /** Rows, shards, artifacts and cost of a batch, on the current store version. Changes nothing. */
  public ForgetPlan plan(ForgetRequest request) {
    return planner.prepare(request, new StepTimes()).plan();
  }

  /** For each shard, the last store version that removed rows from it, since the oldest sub-model. */
  private Map<Integer, Long> removals() {
    return Training.removalsSinceOldestSubModel(store, registry);
  }

  /**
   * Runs the batch to the end: every step in order, each recorded in the ledger. Ids whose
   * request is open (an earlier run stopped) are finished, not opened twice; ids of nobody are
   * recorded as not found. A step that fails is recorded as failed, and the run ends with a
   * {@link LetheException}; running the same batch again finishes it. After its last ledger commit,
   * a run writes a snapshot of the ledger's state when one is due ({@link ForgetLedger#compactStateIfDue}).
   */
  public ForgetResult execute(ForgetRequest request) {
    String outerBatch = MDC.get(BATCH_MDC);
    try {
      ForgetResult result = runBatch(request);
      ledger.compactStateIfDue();
      return result;
    } finally {
      if (outerBatch == null) {
        MDC.remove(BATCH_MDC);
      } else {
        MDC.put(BATCH_MDC, outerBatch);
      }
    }
  }

  private ForgetResult runBatch(ForgetRequest request) {
    StepTimes times = new StepTimes();
    ForgetPlanner.Prepared prepared = times.time("plan", () -> planner.prepare(request, times));
    ForgetPlan plan = prepared.plan();
    Run run = new Run(UUID.randomUUID().toString(), times);
    MDC.put(BATCH_MDC, run.batchId); // every log line of the run names its batch
    Instant now = Instant.now();
    List<LedgerEntry> first = new ArrayList<>();
    for (ForgetPlanner.Item item : prepared.items()) {
      if (item.alreadyForgotten()) {
        continue;
      }
      LedgerEntry entry = item.open();
      if (entry == null) {
        entry = LedgerEntry.received(UUID.randomUUID().toString(), run.batchId, item.hash(), request.kind(), now,
            ledger.deadlineFor(now));
        first.add(entry);
      }
      if (plan.held() > 0 && ForgetPlanner.holdable(item)) {
        if (item.open() == null) { // one held before waits on as it was
          first.add(withItsPlan(entry.then(run.batchId, ForgetStep.PLAN, Phase.PENDING, now), item, plan)
              .withDetail(plan.heldBecause()));
        }
        continue;
      }
      LedgerEntry planned = entry.then(run.batchId, ForgetStep.PLAN, Phase.DONE, now);
      if (item.found()) {
        planned = withItsPlan(planned, item, plan);
      } else if (item.open() == null) {
        planned = planned.withPlan(List.of(), 0, plan.storeVersion());
      }
      first.add(planned);
      if (planned.shards().isEmpty()) {
        first.add(planned.then(run.batchId, ForgetStep.COMPLETE, Phase.DONE, now).withDetail("no rows found"));
      } else {
        run.active.add(planned);
      }
    }
    run.active.replaceAll(e -> e.then(run.batchId, ForgetStep.DELETE, Phase.STARTED, now));
    first.addAll(run.active);
    times.time("ledger", () -> ledger.record(first));
    LOG.info("Forget batch {}: {} requests to work on ({} resumed), {} held, {} not found, {} already forgotten",
        run.batchId, run.active.size(), plan.resumed(), plan.held(), plan.notFound(), plan.alreadyForgotten());
    if (plan.held() > 0) {
      LOG.info("Forget batch {}: {}", run.batchId, plan.heldBecause());
    }
    if (run.active.isEmpty()) {
      return run.result(plan, plan.storeVersion(), plan.ensembleVersion(), List.of(), null, null, 0);
    }

    Set<Integer> hit = new TreeSet<>(plan.hitShards());
    List<String> toDelete = prepared.items().stream().filter(ForgetPlanner.Item::found).map(ForgetPlanner.Item::id).toList();
    CommitRetry deleteRetry = new CommitRetry(settings.commitAttempts(), attempt -> hook.before(ForgetStep.DELETE, attempt));
    Supplier<Long> delete = () -> toDelete.isEmpty() ? store.currentVersion()
        : store.deleteMatching(prepared.column(), prepared.idType(), toDelete, hit, deleteRetry,
            settings.rewriteFiles());
    // The fit runs beside the delete when it leaves the delete a core: with one task per shard on
    // every core, the delete's own small jobs would wait for the fit's tasks.
    int cores = store.spark().sparkContext().defaultParallelism();
    Deleted deleted = toDelete.isEmpty() || plan.shardsToRetrain().isEmpty() || plan.shardsToRetrain().size() >= cores
        ? new Deleted(run.step(ForgetStep.DELETE, false, delete), Optional.empty())
        : deleteWhileFitting(run, delete, () -> training.prefit(plan.shardsToRetrain(), plan.storeVersion(),
            prepared.column(), toDelete));
    long deletedAt = deleted.version();
    LOG.info("Forget batch {}: deleted {} rows from shards {} (store version {})", run.batchId, plan.rowsToDelete(),
        plan.rowsPerShard().keySet(), deletedAt);
    run.advance(ForgetStep.DELETE, e -> e.withStoreVersion(deletedAt), ForgetStep.RETRAIN);

    Optional<EnsembleManifest> base = registry.latest();
    List<Integer> retrain = base.map(m -> Training.shardsTrainedOnDeletedRows(store, m)).orElse(List.of());
    long fitVersion = store.currentVersion();
    Training.Unlearned unlearned = run.step(ForgetStep.RETRAIN, true, () -> deleted.prefit()
        .flatMap(p -> training.adopt(p, retrain, fitVersion)).orElseGet(() -> training.unlearn(retrain, fitVersion)));
    run.advance(ForgetStep.RETRAIN, e -> e, ForgetStep.PUBLISH);
    run.unlearning.addAll(unlearned.shards());

    TrainResult published = run.step(ForgetStep.PUBLISH, true,
        () -> retrain.isEmpty() ? null : training.publish(unlearned.entries(), retrain, fitVersion));
    Long ensembleVersion = published != null ? published.published().version()
        : base.map(EnsembleManifest::version).orElse(null);
    List<Integer> retrained = published == null ? List.of() : published.trainedShards();
    run.advance(ForgetStep.PUBLISH, e -> e.withEnsembleVersion(ensembleVersion), ForgetStep.RETIRE);
    // The model no longer holds the rows: on the ledger now, with the delete and retrain events.
    run.flush();
    new ForgetAuditRun(store, audit).run(run.batchId, prepared, deletedAt, hit,
        base.map(EnsembleManifest::version).orElse(null), ensembleVersion, times);

    Retirement retirement = run.step(ForgetStep.RETIRE, true, () -> {
      Map<Integer, Long> removals = removals();
      return registry.retire((shard, v) -> v < removals.getOrDefault(shard, -1L), run.batchId,
          "trained on store rows deleted since (forget batch " + run.batchId + ")");
    });
    LOG.info("Forget batch {}: retired {} ensemble versions and {} sub-models", run.batchId,
        retirement.ensembleVersions().size(), retirement.subModels().size());
    if (!settings.purge()) {
      run.advance(ForgetStep.RETIRE, e -> e, ForgetStep.PURGE, Phase.PENDING, "left to the purge job (forget.purge=false)");
      run.flush();
      return run.result(plan, deletedAt, ensembleVersion, retrained, retirement, null, 0);
    }
    run.advance(ForgetStep.RETIRE, e -> e, ForgetStep.PURGE);

    Purger purger = new Purger(store, settings.retentionHours(), new CommitRetry(settings.commitAttempts()));
    PurgeReport purge = run.step(ForgetStep.PURGE, true, () -> purger.purge(run.active, run.batchId));
    run.step(ForgetStep.COMPLETE, true, () -> {
      run.pending.addAll(purge.events());
      run.flush();
      return null;
    });
    LOG.info("Forget batch {}: {} requests forgotten, {} wait for a purge after the retention", run.batchId,
        purge.forgotten(), purge.pending());
    return run.result(plan, deletedAt, ensembleVersion, retrained, retirement, purge.store(), purge.forgotten());
  }

  /**
   * Runs the delete in a thread of its own while this one fits the shards it changes, on the
   * version it starts from without the rows it removes (Delta's DELETE is mostly driver work and
   * small jobs; the fit is one task per shard): the fit is timed as the retrain, and saved only
   * once the delete has committed, if it still holds then ({@link Training#adopt}). A failed fit
   * is left to the retrain after the delete.
   */
  private Deleted deleteWhileFitting(Run run, Supplier<Long> delete, Supplier<Optional<Training.Prefit>> fit) {
    FutureTask<Long> deleting = Futures.beside("lethe-delete", () -> {
      // Not inside the caller's SQL query (a procedure): this thread's queries are their own.
      store.spark().sparkContext().setLocalProperty("spark.sql.execution.id", null);
      return run.times.time(ForgetStep.DELETE.id(), delete);
    });
    Optional<Training.Prefit> prefit = Optional.empty();
    try {
      prefit = run.times.time(ForgetStep.RETRAIN.id(), fit);
    } catch (RuntimeException e) { // the class only: a message could quote a row
      LOG.warn("Forget batch {}: fitting while the delete ran failed ({}); the shards are fitted after it", run.batchId,
          e.getClass().getSimpleName());
    }
    return new Deleted(run.guarded(ForgetStep.DELETE, () -> Futures.join(deleting, "deleting the batch's rows")), prefit);
  }

  /** The store version after the delete, and the shards fitted while it ran, if they were. */
  private record Deleted(long version, Optional<Training.Prefit> prefit) {}

  /**
   * One forget run: its id, the requests it works on (their latest events), its step times. Step
   * events wait in {@code pending} and reach the ledger in one commit at the points that matter:
   * after the publish (the model no longer holds the rows), at the end, and with a failure. Every
   * step works from what storage says, so a run killed with events pending is finished by running
   * the batch again, as one killed between commits is.
   */
  private final class Run {
    final String batchId;
    final StepTimes times;
    final List<LedgerEntry> active = new ArrayList<>();
    final List<LedgerEntry> pending = new ArrayList<>();
    final List<ShardUnlearning> unlearning = new ArrayList<>();

    Run(String batchId, StepTimes times) {
      this.batchId = batchId;
      this.times = times;
    }

    <T> T step(ForgetStep step, boolean callHook, Supplier<T> work) {
      return guarded(step, () -> {
        if (callHook) {
          hook.before(step, 1);
        }
        return times.time(step.id(), work);
      });
    }

    /** Runs a step's work; a failure is recorded in the ledger and stops the run. */
    <T> T guarded(ForgetStep step, Supplier<T> work) {
      try {
        return work.get();
      } catch (Exception e) { // Spark and Delta throw checked exceptions through Scala
        Instant now = Instant.now();
        try {
          active.stream().map(a -> a.then(batchId, step, Phase.FAILED, now)
              .withDetail(e.getClass().getSimpleName())).forEach(pending::add);
          flush();
        } catch (RuntimeException ledgerDown) {
          LOG.warn("Could not record the failure of step {} in the ledger: {}", step.id(),
              ledgerDown.getClass().getSimpleName());
        }
        throw new RunStoppedException("The forget run stopped at step '" + step.id() + "' (" + LetheException.firstLine(e)
            + "). The ledger holds its " + active.size() + " request(s); run the same batch again to finish them", e);
      }
    }

    void advance(ForgetStep done, Function<LedgerEntry, LedgerEntry> facts, ForgetStep next) {
      advance(done, facts, next, Phase.STARTED, null);
    }

    void advance(ForgetStep done, Function<LedgerEntry, LedgerEntry> facts, ForgetStep next, Phase nextPhase,
        String detail) {
      Instant now = Instant.now();
      List<LedgerEntry> events = new ArrayList<>();
      List<LedgerEntry> started = new ArrayList<>();
      for (LedgerEntry e : active) {
        LedgerEntry finished = facts.apply(e.then(batchId, done, Phase.DONE, now));
        LedgerEntry following = finished.then(batchId, next, nextPhase, now).withDetail(detail);
        events.add(finished);
        events.add(following);
        started.add(following);
      }
      pending.addAll(events);
      active.clear();
      active.addAll(started);
    }

    /** Records the pending events in one ledger commit. */
    void flush() {
      List<LedgerEntry> events = List.copyOf(pending);
      pending.clear();
      times.time("ledger", () -> ledger.record(events));
    }

    ForgetResult result(ForgetPlan plan, long storeVersion, Long ensembleVersion, List<Integer> retrained,
        Retirement retirement, PurgeResult purge, long forgotten) {
      return new ForgetResult(plan, batchId, active.size(), storeVersion, ensembleVersion, retrained, unlearning,
          retirement, purge, forgotten, active.size() - forgotten, times.asMap(), times.costs());
    }
  }

  /** The event with what the plan found of its request: the shards holding its rows, their count, the store version. */
  private static LedgerEntry withItsPlan(LedgerEntry event, ForgetPlanner.Item item, ForgetPlan plan) {
    return event.withPlan(new ArrayList<>(item.rowsNow().keySet()),
        item.rowsNow().values().stream().mapToLong(Long::longValue).sum(), plan.storeVersion());
  }
}
