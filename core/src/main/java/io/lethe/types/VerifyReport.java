package io.lethe.types;

import io.lethe.Evolving;
import java.util.List;
import java.util.Map;

/**
 * Evidence that a forget batch's data and its influence are gone, and what it cost the model.
 * Counts, versions, request ids (random, not personal), shard numbers and aggregates only: no
 * subject id, no hash, no row. The JSON form is this record as written by Jackson; its fields are
 * documented in docs/verify-report.md.
 *
 * @param formatVersion the report format's version (1)
 * @param batchId the forget batch verified; for a set of ids, a name "ids-&lt;time&gt;"
 * @param scope "batch" (one forget batch) or "ids" (a set of ids, whatever batches forgot them)
 * @param idsChecked how many ids were checked (null for a batch)
 * @param verifiedAt when (ISO-8601)
 * @param passed no check failed (a check may be pending: see {@link Check})
 * @param purgeDueAfter when the batch's checks are pending: the time after which the purge can
 *     remove its rows from storage (the latest {@code purge_after} of its requests); null when
 *     nothing is pending, or the ledger records no such time
 * @param checks every check, in order: what was checked, whether it passed, and the figures
 * @param requests the batch's requests: their status, timestamps and deadline
 * @param hitShards the shards that held the batch's rows
 * @param deleteVersion the store version of the batch's delete
 * @param storeVersion the store's current version
 * @param ensembleVersion the published ensemble verified
 * @param unlearning for each hit shard in the published ensemble, the strategy that made its
 *     sub-model and what that strategy guarantees
 * @param retrain the from-scratch retrain of each hit shard checked, against the published sub-model
 * @param utility the published ensemble's and each sub-model's metric on the evaluation rows
 * @param evidence what the batch's forget run measured between publishing and retiring: utility
 *     and membership inference before and after (null when it recorded none)
 */
@Evolving
public record VerifyReport(int formatVersion, String batchId, String scope, Integer idsChecked, String verifiedAt,
    boolean passed, String purgeDueAfter, List<Check> checks, List<Request> requests, List<Integer> hitShards,
    Long deleteVersion,
    long storeVersion, Long ensembleVersion, List<ShardStrategy> unlearning, List<Retrain> retrain, Utility utility, ForgetEvidence evidence) {

  public static final int FORMAT_VERSION = 1;

  /**
   * One check.
   *
   * @param id a stable name: ledger.complete, ledger.deadline, data.current, data.retained-versions,
   *     data.change-feed, models.published, models.retired, retrain.equivalence and, when the
   *     forget run recorded membership evidence, membership.forgotten; with the difference attack,
   *     update.difference; for a shard unlearned by certified removal, certified.epsilon
   * @param passed whether it passed (a pending check has passed: nothing is wrong yet)
   * @param status {@value #PASSED}, {@value #PENDING} (the batch's purge is due within the
   *     retention and before every deadline: rows are still on storage, as planned) or
   *     {@value #FAILED}
   * @param finding what was found, in words
   * @param figures the counts behind it
   */
  public record Check(String id, boolean passed, String status, String finding, Map<String, Object> figures) {
    public static final String PASSED = "passed";
    public static final String PENDING = "pending";
    public static final String FAILED = "failed";
    public static final String WARNING = "warning";

    /** A check that passed or failed. */
    public Check(String id, boolean passed, String finding, Map<String, Object> figures) {
      this(id, passed, passed ? PASSED : FAILED, finding, figures);
    }

    /** A check that waits for the batch's purge, due within the retention and before every deadline. */
    public static Check pending(String id, String finding, Map<String, Object> figures) {
      return new Check(id, true, PENDING, finding, figures);
    }

    /**
     * A finding that does not fail the batch but that its reader should weigh: what the published
     * update gives away to an observer who holds the ensemble before and after it.
     */
    public static Check warning(String id, String finding, Map<String, Object> figures) {
      return new Check(id, true, WARNING, finding, figures);
    }

    /** Whether it is a warning. */
    public boolean warns() {
      return WARNING.equals(status);
    }

    /** Whether it is pending: waiting for the batch's purge. */
    public boolean awaitsPurge() {
      return PENDING.equals(status);
    }
  }

  /** One request of the batch: its random id, status, and when each step ended. */
  public record Request(String requestId, String kind, String status, String receivedAt, String deadline,
      String completedAt, boolean withinDeadline, Map<String, String> steps) {}

  /**
   * How a hit shard's published sub-model was made.
   *
   * @param strategy shard-retrain, exact-statistics, certified-removal or sliced
   * @param exact whether it is the model a fit of the shard's remaining rows gives
   * @param guarantee that, in words
   * @param certificate for certified removal: epsilon, delta, noise (sigma), budget and the
   *     gradient residual the sub-model has on its rows; null otherwise
   */
  public record ShardStrategy(int shard, String strategy, boolean exact, String guarantee,
      Map<String, Double> certificate) {}

  /**
   * A hit shard retrained from scratch on the store version and seed its published sub-model
   * records, compared with it on the evaluation rows.
   *
   * @param agreement share of evaluation rows both predict the same
   * @param parameterDistance L2 distance between their coefficients and intercepts (null for
   *     models without them)
   * @param sameTrees for a sub-model whose strategy claims the very trees of a training from
   *     scratch (DaRE): whether the retrain grew them, node for node (splits and statistics); null
   *     otherwise
   */
  public record Retrain(int shard, long storeVersion, long seed, long rows, double agreement, Double parameterDistance,
      Boolean sameTrees) {
    /** Whether the published sub-model is not what the retrain gives: predictions apart, or other trees. */
    public boolean differs(double minAgreement) {
      return agreement < minAgreement || Boolean.FALSE.equals(sameTrees);
    }
  }

  /**
   * The published ensemble's metric (accuracy, or RMSE for regression) on the evaluation rows, and
   * each sub-model's.
   *
   * @param rows the evaluation rows: the given held-out set, else a sample of the store
   * @param source "held-out" or "store-sample"
   */
  public record Utility(String metric, String source, long rows, double ensemble, Map<Integer, Double> perShard) {}
}
