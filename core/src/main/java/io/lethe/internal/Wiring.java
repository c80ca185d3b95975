package io.lethe.internal;

import io.lethe.LetheConfig;
import io.lethe.internal.forget.ForgetSettings;
import io.lethe.internal.forget.Forgetter;
import io.lethe.internal.forget.Purger;
import io.lethe.internal.ledger.ForgetLedger;
import io.lethe.internal.ledger.LedgerKey;
import io.lethe.internal.model.Aggregation;
import io.lethe.internal.registry.ModelRegistry;
import io.lethe.internal.store.CommitRetry;
import io.lethe.internal.store.ShardedStore;
import io.lethe.internal.train.Training;
import io.lethe.internal.unlearn.Strategies;
import io.lethe.internal.verify.MembershipAudit;
import io.lethe.internal.verify.Verifier;
import io.lethe.internal.verify.VerifySettings;
import java.util.Optional;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * What one configuration is wired to: its store, model registry and ledger, each opened once on
 * first use, and the training, forgetter, verifier and purger over them. The public
 * {@link io.lethe.api.Lethe} holds one; Lethe's own jobs reach it through
 * {@code Lethe.internals()}.
 */
public final class Wiring {
  private final SparkSession spark;
  private final LetheConfig config;
  private ShardedStore store;
  private ModelRegistry registry;
  private ForgetLedger ledger;

  public Wiring(SparkSession spark, LetheConfig config) {
    this.spark = spark;
    this.config = config;
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
    return new MembershipAudit(store(), registry(), heldOut, VerifySettings.from(config), Strategies.settings(config));
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
}
