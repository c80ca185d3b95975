package io.lethe.api;

import io.lethe.Evolving;
import io.lethe.internal.forget.Forgetter;
import io.lethe.internal.verify.MembershipAudit;
import io.lethe.types.ForgetHook;
import io.lethe.types.ForgetPlan;
import io.lethe.types.ForgetRequest;
import io.lethe.types.ForgetResult;
import java.util.Optional;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * Forgets a batch durably: ledger, delete, unlearn or retrain the hit shards, publish, retire,
 * purge, each step recorded; running the same batch again finishes a run that stopped.
 */
@Evolving
public final class Forget {
  private final Lethe lethe;
  private final ForgetRequest request;
  private boolean audit = true;
  private Dataset<Row> auditRows;
  private ForgetHook hook;
  /** The audit, once worked out: reading the configured held-out rows may run a Spark job. */
  private Optional<MembershipAudit> resolvedAudit;

  Forget(Lethe lethe, ForgetRequest request) {
    this.lethe = lethe;
    this.request = request;
  }

  /**
   * Whether the run records membership evidence on the configured held-out rows (verify.test),
   * when there are any; on by default.
   */
  public Forget membershipAudit(boolean on) {
    this.audit = on;
    this.resolvedAudit = null;
    return this;
  }

  /** Record membership evidence on these held-out rows (people never in the store), whatever verify.test says. */
  public Forget membershipAudit(Dataset<Row> heldOut) {
    this.audit = true;
    this.auditRows = heldOut;
    this.resolvedAudit = null;
    return this;
  }

  /** Called before each step: how tests stop a run at a given step. */
  public Forget hook(ForgetHook before) {
    this.hook = before;
    return this;
  }

  public ForgetRequest request() {
    return request;
  }

  /** Whether the run will record membership evidence (an audit is on and held-out rows are configured). */
  public boolean recordsMembershipEvidence() {
    return audit().isPresent();
  }

  private Optional<MembershipAudit> audit() {
    if (resolvedAudit == null) {
      resolvedAudit = !audit ? Optional.empty()
          : auditRows != null ? Optional.of(lethe.internals().membershipAudit(auditRows))
          : lethe.internals().membershipAudit();
    }
    return resolvedAudit;
  }

  /** Rows, shards, versions to retire and the cost, on the store as it is; changes nothing. */
  public ForgetPlan plan() {
    return lethe.internals().forgetter().plan(request);
  }

  public ForgetResult execute() {
    Forgetter forgetter = lethe.internals().forgetter();
    forgetter = audit().map(forgetter::withAudit).orElse(forgetter);
    if (hook != null) {
      forgetter = forgetter.withHook(hook);
    }
    return forgetter.execute(request);
  }
}
