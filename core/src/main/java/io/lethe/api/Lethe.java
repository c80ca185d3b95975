package io.lethe.api;

import io.lethe.LetheConfig;
import io.lethe.forget.ForgetRequest;
import io.lethe.forget.ForgetSettings;
import io.lethe.forget.Forgetter;
import io.lethe.forget.Purger;
import io.lethe.ledger.ForgetLedger;
import io.lethe.ledger.LedgerKey;
import io.lethe.model.Aggregation;
import io.lethe.registry.ModelRegistry;
import io.lethe.run.CostMeter;
import io.lethe.store.CommitRetry;
import io.lethe.store.ShardedStore;
import io.lethe.train.Training;
import io.lethe.unlearn.Strategies;
import io.lethe.verify.MembershipAudit;
import io.lethe.verify.Verifier;
import io.lethe.verify.VerifySettings;
import java.util.Optional;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * The entry point for library users: one configuration, wired once to its store, model registry
 * and ledger, handing out verb-named operations: ingest, train, forget, purge, verify, score,
 * status. Each has fluent setters, a {@code plan()} that changes nothing (status, which only reads,
 * is its own plan), and an {@code execute()} that returns an immutable result (score: a lazy
 * Dataset); failures are the named {@link io.lethe.LetheException}s.
 *
 * <pre>{@code
 * Lethe lethe = Lethe.get(spark, LetheConfig.load("conf/lethe.properties", Map.of()));
 * ForgetPlan plan = lethe.forget(ForgetRequest.ofSubjects(ids)).plan();     // what it would do
 * ForgetResult forgot = lethe.forget(ForgetRequest.ofSubjects(ids)).execute();
 * VerifyReport report = lethe.verify().batch(forgot.batchId()).execute();
 * }</pre>
 *
 * <p>The store is opened on first use, so {@code get} on a configuration whose store does not
 * exist yet is fine; the first operation that reads it fails with a {@link io.lethe.StoreNotFoundException}.
 */
public final class Lethe {
  private final SparkSession spark;
  private final LetheConfig config;
  private ShardedStore store;
  private ModelRegistry registry;
  private ForgetLedger ledger;

  private Lethe(SparkSession spark, LetheConfig config) {
    this.spark = spark;
    this.config = config;
  }

  /** Lethe on a session, for a configuration (see conf/lethe.properties). */
  public static Lethe get(SparkSession spark, LetheConfig config) {
    CostMeter.install(spark);
    return new Lethe(spark, config);
  }

  public SparkSession spark() {
    return spark;
  }

  public LetheConfig config() {
    return config;
  }

  /** The sharded store at {@code store.path}, opened once. */
  public synchronized ShardedStore store() {
    if (store == null) {
      store = ShardedStore.open(spark, config.get(LetheConfig.STORE_PATH));
    }
    return store;
  }

  /** The model registry at {@code models.path}. */
  public synchronized ModelRegistry registry() {
    if (registry == null) {
      registry = new ModelRegistry(spark, config.get(LetheConfig.MODELS_PATH), config.get(LetheConfig.MODELS_PUBLISH_LOG),
          config.get(LetheConfig.TABLES_LOCATION), config.get(LetheConfig.MODELS_SECRETS_PATH));
    }
    return registry;
  }

  /** The forget ledger at {@code ledger.path}. */
  public synchronized ForgetLedger ledger() {
    if (ledger == null) {
      ledger = ForgetLedger.from(spark, config);
    }
    return ledger;
  }

  /** Training of this configuration's estimator (or pipeline) on the store, publishing to the registry. */
  public Training training() {
    return new Training(store(), registry(), Strategies.settings(config),
        Aggregation.parse(config.get(LetheConfig.ENSEMBLE_AGGREGATION)));
  }

  /** The forgetter of this configuration: store, registry, training, ledger and its key, forget settings. */
  public Forgetter forgetter() {
    return new Forgetter(store(), registry(), training(), ledger(), LedgerKey.from(config), ForgetSettings.from(config));
  }

  /** The membership audit on the configured held-out rows (verify.test), if any are configured. */
  public Optional<MembershipAudit> membershipAudit() {
    return VerifySettings.from(config).testSource().map(source -> membershipAudit(source.read(spark)));
  }

  /** The membership audit on the given held-out rows, with the configured verify settings. */
  public MembershipAudit membershipAudit(Dataset<Row> heldOut) {
    return new MembershipAudit(store(), registry(), heldOut, VerifySettings.from(config));
  }

  /** The verifier of this configuration. */
  public Verifier verifier() {
    return new Verifier(store(), registry(), ledger(), LedgerKey.from(config), Strategies.settings(config),
        VerifySettings.from(config), config.get(LetheConfig.FORGET_RECORD_COLUMN));
  }

  /** The purger of this configuration ({@code purge.retention-hours}, {@code forget.commit-attempts}). */
  public Purger purger() {
    ForgetSettings settings = ForgetSettings.from(config);
    return new Purger(store(), settings.retentionHours(), new CommitRetry(settings.commitAttempts()));
  }

  /** Creates the store from a source, or appends to it. */
  public Ingest ingest(Dataset<Row> source) {
    return new Ingest(this, source);
  }

  /** Trains shards (all by default) and publishes an ensemble version. */
  public Train train() {
    return new Train(this);
  }

  /** Forgets a batch of subjects or records. */
  public Forget forget(ForgetRequest request) {
    return new Forget(this, request);
  }

  /** Purges the store for requests already gone from the model. */
  public Purge purge() {
    return new Purge(this);
  }

  /** Verifies a forget batch (the latest by default) or a set of ids. */
  public Verify verify() {
    return new Verify(this);
  }

  /** Scores rows with a published ensemble (the latest by default). */
  public Score score(Dataset<Row> rows) {
    return new Score(this, rows);
  }

  /** The store, registry, published ensemble and ledger at a glance. */
  public Status status() {
    return new Status(this);
  }
}
