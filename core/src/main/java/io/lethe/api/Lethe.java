package io.lethe.api;

import io.lethe.Evolving;
import io.lethe.Internal;
import io.lethe.LetheConfig;
import io.lethe.internal.Wiring;
import io.lethe.internal.run.CostMeter;
import io.lethe.types.ForgetRequest;
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
@Evolving
public final class Lethe {
  private final Wiring wiring;

  private Lethe(Wiring wiring) {
    this.wiring = wiring;
  }

  /** Lethe on a session, for a configuration (see conf/lethe.properties). */
  public static Lethe get(SparkSession spark, LetheConfig config) {
    CostMeter.install(spark);
    return new Lethe(new Wiring(spark, config));
  }

  public SparkSession spark() {
    return wiring.spark();
  }

  public LetheConfig config() {
    return wiring.config();
  }

  /**
   * The store, registry, ledger and the rest this configuration is wired to: for Lethe's own jobs
   * and tests. Internal: no compatibility from one version to the next.
   */
  @Internal
  public Wiring internals() {
    return wiring;
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
