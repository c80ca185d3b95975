package io.lethe.types;

import io.lethe.Evolving;
import io.lethe.types.ForgetStep.Phase;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * One event in a forget request's history: one row of the ledger. The latest event of a request
 * is its current state. No id is ever stored, only its keyed hash.
 *
 * @param requestId the request's id (random; stable across re-runs of its batch)
 * @param batchId the forget run that wrote this event
 * @param subjectHash HMAC-SHA256 of the id under the ledger key (see {@link LedgerKey})
 * @param kind subject or record
 * @param receivedAt when the request was first received
 * @param deadline when it must be complete
 * @param step the step this event is about
 * @param phase started, failed, pending or done
 * @param at when the event was written
 * @param shards the shards that held the request's rows (empty if none were found)
 * @param rows how many rows it had when planned
 * @param storeVersion the store version after the step, where it has one
 * @param ensembleVersion the ensemble version published for it, once published
 * @param reorgedAt when the request's shards were last rewritten to drop deleted rows (REORG)
 * @param purgeAfter for a pending purge: the earliest time a VACUUM can remove its rows' files
 * @param detail why a step failed or is pending (an exception class, a held request's reason; never data)
 */
@Evolving
public record LedgerEntry(
    String requestId,
    String batchId,
    String subjectHash,
    String kind,
    Instant receivedAt,
    Instant deadline,
    String step,
    String phase,
    Instant at,
    List<Integer> shards,
    Long rows,
    Long storeVersion,
    Long ensembleVersion,
    Instant reorgedAt,
    Instant purgeAfter,
    String detail) {

  public static final StructType SCHEMA = new StructType()
      .add("request_id", DataTypes.StringType, false)
      .add("batch_id", DataTypes.StringType, false)
      .add("subject_hash", DataTypes.StringType, false)
      .add("kind", DataTypes.StringType, false)
      .add("received_at", DataTypes.TimestampType, false)
      .add("deadline", DataTypes.TimestampType, false)
      .add("step", DataTypes.StringType, false)
      .add("phase", DataTypes.StringType, false)
      .add("rank", DataTypes.IntegerType, false)
      .add("at", DataTypes.TimestampType, false)
      .add("shards", DataTypes.createArrayType(DataTypes.IntegerType, false), false)
      .add("rows", DataTypes.LongType, true)
      .add("store_version", DataTypes.LongType, true)
      .add("ensemble_version", DataTypes.LongType, true)
      .add("reorged_at", DataTypes.TimestampType, true)
      .add("purge_after", DataTypes.TimestampType, true)
      .add("detail", DataTypes.StringType, true);

  public LedgerEntry {
    shards = List.copyOf(shards);
  }

  /** A new request, received now. */
  public static LedgerEntry received(String requestId, String batchId, String subjectHash, IdKind kind, Instant now,
      Instant deadline) {
    return new LedgerEntry(requestId, batchId, subjectHash, kind.id(), now, deadline, ForgetStep.RECEIVE.id(),
        Phase.DONE.id(), now, List.of(), null, null, null, null, null, null);
  }

  /** The next event of this request: the same request and facts, a new step, phase and time. */
  public LedgerEntry then(String batch, ForgetStep newStep, Phase newPhase, Instant when) {
    return new LedgerEntry(requestId, batch, subjectHash, kind, receivedAt, deadline, newStep.id(), newPhase.id(), when,
        shards, rows, storeVersion, ensembleVersion, reorgedAt, newPhase == Phase.PENDING ? purgeAfter : null, null);
  }

  public LedgerEntry withPlan(List<Integer> newShards, long newRows, long newStoreVersion) {
    return new LedgerEntry(requestId, batchId, subjectHash, kind, receivedAt, deadline, step, phase, at, newShards,
        newRows, newStoreVersion, ensembleVersion, reorgedAt, purgeAfter, detail);
  }

  public LedgerEntry withStoreVersion(long version) {
    return new LedgerEntry(requestId, batchId, subjectHash, kind, receivedAt, deadline, step, phase, at, shards, rows,
        version, ensembleVersion, reorgedAt, purgeAfter, detail);
  }

  public LedgerEntry withEnsembleVersion(Long version) {
    return new LedgerEntry(requestId, batchId, subjectHash, kind, receivedAt, deadline, step, phase, at, shards, rows,
        storeVersion, version, reorgedAt, purgeAfter, detail);
  }

  public LedgerEntry withPurge(Instant newReorgedAt, Instant newPurgeAfter) {
    return new LedgerEntry(requestId, batchId, subjectHash, kind, receivedAt, deadline, step, phase, at, shards, rows,
        storeVersion, ensembleVersion, newReorgedAt, newPurgeAfter, detail);
  }

  public LedgerEntry withDetail(String newDetail) {
    return new LedgerEntry(requestId, batchId, subjectHash, kind, receivedAt, deadline, step, phase, at, shards, rows,
        storeVersion, ensembleVersion, reorgedAt, purgeAfter, newDetail);
  }

  public ForgetStep forgetStep() {
    return ForgetStep.parse(step);
  }

  public Phase forgetPhase() {
    return Phase.parse(phase);
  }

  public boolean isComplete() {
    return forgetStep() == ForgetStep.COMPLETE && forgetPhase() == Phase.DONE;
  }

  /** The model no longer holds the request's rows: retired done, or a later step reached. */
  public boolean isForgottenByModel() {
    return forgetStep().compareTo(ForgetStep.RETIRE) > 0
        || (forgetStep() == ForgetStep.RETIRE && forgetPhase() == Phase.DONE);
  }

  /** Held for a larger batch (forget.min-batch): planned, nothing changed yet. */
  public boolean isHeld() {
    return forgetStep() == ForgetStep.PLAN && forgetPhase() == Phase.PENDING;
  }

  /**
   * forgotten, not-found (complete, but no row was ever found), purge-pending (gone from the
   * model, still on storage), held (waiting for a larger batch), failed or in-progress.
   */
  public String status() {
    if (isComplete()) {
      return shards.isEmpty() ? "not-found" : "forgotten";
    }
    if (forgetPhase() == Phase.FAILED) {
      return "failed";
    }
    if (isHeld()) {
      return "held";
    }
    return isForgottenByModel() ? "purge-pending" : "in-progress";
  }

  public boolean isOverdue(Instant now) {
    return !isComplete() && now.isAfter(deadline);
  }

  public Row toRow() {
    ForgetStep s = forgetStep();
    return RowFactory.create(requestId, batchId, subjectHash, kind, ts(receivedAt), ts(deadline), step, phase,
        s.rank(forgetPhase()), ts(at), new ArrayList<>(shards), rows, storeVersion,
        ensembleVersion, ts(reorgedAt), ts(purgeAfter), detail);
  }

  public static LedgerEntry fromRow(Row r) {
    List<Integer> shards = r.getList(r.fieldIndex("shards"));
    return new LedgerEntry(r.getAs("request_id"), r.getAs("batch_id"), r.getAs("subject_hash"), r.getAs("kind"),
        instant(r.getAs("received_at")), instant(r.getAs("deadline")), r.getAs("step"), r.getAs("phase"),
        instant(r.getAs("at")), shards, r.getAs("rows"), r.getAs("store_version"), r.getAs("ensemble_version"),
        instant(r.getAs("reorged_at")), instant(r.getAs("purge_after")), r.getAs("detail"));
  }

  private static Timestamp ts(Instant i) {
    return i == null ? null : Timestamp.from(i);
  }

  /** A timestamp column as an Instant, whichever Java type the session maps timestamps to. */
  private static Instant instant(Object v) {
    if (v == null) {
      return null;
    }
    return v instanceof Instant i ? i : ((Timestamp) v).toInstant();
  }
}
