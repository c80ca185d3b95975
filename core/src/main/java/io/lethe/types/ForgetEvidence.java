package io.lethe.types;

import io.lethe.Evolving;
import java.util.List;

/**
 * What a forget run measured between publishing and retiring (see {@link MembershipAudit}):
 * utility before and after on held-out rows, and membership inference on the forgotten rows and,
 * as a control, on retained ones, each against never-seen rows, with the model before and after.
 * Aggregates only: counts, AUCs, rates and ROC points; no row, id or per-row score.
 *
 * @param versionBefore the store version the forgotten rows were read from (time travel)
 * @param deleteVersion the store version of the delete
 * @param forgottenRows forgotten rows sampled (members of the model before, not of the one after)
 * @param retainedRows retained rows of the hit shards sampled (members of both models)
 * @param unseenRows held-out rows sampled (members of neither)
 * @param metric accuracy or rmse
 * @param heldOutRows held-out rows the utility is measured on
 * @param utilityBefore the ensemble before the forget on the held-out rows (null if it was gone)
 * @param utilityAfter the ensemble after the forget on the same rows
 * @param attacks one entry per attack, population and model
 * @param note why attacks are missing, if they are (null when all ran)
 * @param update the difference attack on the update (ensemble before against after), with its control;
 *     null when it did not run (evidence recorded before it existed, a regression store, no ensemble before)
 * @param perExample the per-example test (LiRA with shadow shards) on the forgotten rows; null when
 *     it was not asked for (evidence recorded before it existed, a batch above verify.per-example-rows,
 *     a regression store)
 */
@Evolving
public record ForgetEvidence(int formatVersion, String batchId, String recordedAt, long versionBefore,
    long deleteVersion, Long ensembleBefore, Long ensembleAfter, long forgottenRows, long retainedRows,
    long unseenRows, String metric, long heldOutRows, Double utilityBefore, Double utilityAfter,
    List<Measurement> attacks, String note, UpdateEvidence update, PerExampleEvidence perExample) {

  public static final int FORMAT_VERSION = 1;

  /**
   * One attack's result.
   *
   * @param population "forgotten" or "retained": the members the attack tries to tell from unseen rows
   * @param model "before" or "after" the forget
   */
  public record Measurement(String population, String model, AttackResult result) {}
}
