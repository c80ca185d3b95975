package io.lethe.bench;

import java.util.List;
import java.util.Map;

/**
 * What a bench run measured, all in one process on one machine. Times are wall seconds; a section
 * that was not run is null (or empty).
 *
 * @param environment the machine and the training settings
 * @param workload the synthetic store the forget, concurrency and scoring sections share
 * @param training all shards trained concurrently versus one after the other
 * @param forget one row per batch size k
 * @param retrain what the forget rows are compared with, measured on the trained store before any forget
 * @param scoring ensemble versus single-model scoring of the same rows
 * @param strategies one row per unlearning strategy: its model update against a shard retrain
 * @param trees one row per tree estimator: a shard fitted in a task against spark.ml's fit of it
 * @param accuracy ensemble versus single model on Adult as the shard count grows
 * @param scale cost as the store grows
 * @param targets the performance targets and whether this run met them
 * @param warnings advice for batch sizes that hit most shards
 */
public record BenchReport(String startedAt, Environment environment, Workload workload, Training training,
    List<ForgetPoint> forget, Retrain retrain, Scoring scoring, List<StrategyPoint> strategies, List<TreePoint> trees,
    Dare dare, List<UpdatePoint> update, List<AccuracyPoint> accuracy, List<ScalePoint> scale, List<LedgerPoint> ledger,
    List<Target> targets, List<String> warnings, double seconds) {

  /** The machine, Spark and the training settings of the run. */
  public record Environment(int cores, double maxHeapGib, String sparkVersion, String javaVersion, String master,
      String estimator, Map<String, String> params, int parallelism) {}

  /** The synthetic store: its shape and what ingesting it cost. */
  public record Workload(long rows, long subjects, int shards, int numericFeatures, int categoricalFeatures,
      int rowsPerSubject, long seed, double ingestSeconds, double ingestRowsPerSecond, long storeFiles) {}

  /**
   * Training every shard on the jobs engine (a spark.ml fit per shard), {@code parallelism} at a
   * time versus one at a time, on the same store version. cpuUse is the process's CPU time over wall time times cores (1.0 = every core busy).
   */
  public record Training(int shards, int parallelism, double concurrentSeconds, double concurrentCpuUse,
      double sequentialSeconds, double sequentialCpuUse, double speedup) {}

  /**
   * One forget batch of k subjects, request to published ensemble (plan, ledger, delete, retrain,
   * publish); retiring old artifacts and purging the store are timed on their own.
   *
   * @param overheadSeconds the fixed cost: forget minus the retrain of the hit shards (plan, ledger,
   *     delete, publish)
   * @param sparkJobs Spark jobs of the forget run (request to published ensemble, no retire)
   * @param retrainJobs of those, the jobs of the retrain step
   * @param deltaCommits Delta commits of the forget run (store, ledger, publish log)
   * @param cost by step: wall time, Spark jobs, Delta commits
   * @param idealSpeedup S / expected shards hit
   * @param efficiency measured speed-up over a full retrain divided by the ideal
   * @param runSeconds every run's forget time, in the order they ran; the others are the median run's
   */
  public record ForgetPoint(int subjects, long rowsDeleted, int shardsHit, double expectedShardsHit,
      double forgetSeconds, double retrainSeconds, double overheadSeconds, double retireSeconds, double purgeSeconds,
      double speedupVsFullRetrain, double speedupVsSingleModel, double idealSpeedup, double efficiency,
      Map<String, Double> steps, long sparkJobs, long retrainJobs, long jobsOutsideRetrain, long deltaCommits,
      Map<String, io.lethe.types.StepCost> cost, List<Double> runSeconds, Double auditSeconds) {}

  /**
   * The references: every shard retrained and published, and one model fitted on all remaining
   * rows by spark.ml's own distributed fit (what a user does without Lethe).
   *
   * @param fullRetrainSeconds the median run of the full retrain
   * @param fullRetrainRuns every run's time, in the order they ran
   * @param engine the engine that fitted the shards
   * @param saveSeconds saving one shard's sub-model (the median of three saves)
   * @param firstForgetSeconds the first forget of one subject in the JVM, after the references and
   *     before the measured runs: the code only the forget path runs (Delta's DELETE, the ledger)
   *     loaded and compiled, as spark.ml's first fit is before the single model is timed
   * @param firstAuditSeconds that forget's membership audit, which loads and compiles the audit's
   *     code as a command-line run does (a 1-subject point's {@code auditSeconds} are its warm runs')
   */
  public record Retrain(long storeVersion, long rows, double fullRetrainSeconds, List<Double> fullRetrainRuns,
      double singleModelSeconds,
      String engine, double saveSeconds, double firstForgetSeconds, double firstAuditSeconds) {}

  /**
   * Scoring the same cached rows with the S-shard ensemble and with the single model (best of two
   * runs), and the accuracy of each on those held-out rows (classification; NaN for regression).
   */
  public record Scoring(long rows, int shards, double ensembleSeconds, double singleModelSeconds, double ratio,
      double ensembleAccuracy, double singleModelAccuracy) {}

  /**
   * One unlearning strategy on the synthetic store: one subject forgotten with it, against a
   * from-scratch retrain of the same shard on the same store version with the same settings (what
   * the strategy falls back to: for slicing, every step; for certified removal, Lethe's trainer
   * from zero). Both times cover making the shard's new sub-model and saving it, the step a forget
   * run calls retrain.
   *
   * @param detail how the strategy updated the shard (e.g. statistics updated from the changed rows)
   * @param trainSeconds training every shard with the strategy's estimator (statistics included)
   * @param forgetSeconds the whole forget run, request to published ensemble (retiring excluded)
   * @param updateSeconds the strategy's model update of the hit shard
   * @param shardRetrainSeconds a retrain of that shard
   * @param speedup shardRetrainSeconds / updateSeconds
   * @param certificate for certified removal: epsilon, delta, noise, budget and the residual left
   */
  /**
   * What an update gives away for a batch size: the difference attack (Chen et al., CCS 2021) on the
   * published ensemble before and after removing that many random people, over several draws.
   *
   * @param meanAuc the strongest feature's AUC, averaged over the draws (0.5: the update gives nothing away)
   * @param aucBound what chance exceeds once in a hundred for the last draw's counts
   * @param seconds the attack's time per draw, its two fits in tasks included
   */
  public record UpdatePoint(int subjects, int draws, double rowsRemoved, double shardsHit, double meanAuc,
      double minAuc, double maxAuc, double aucBound, double seconds) {}

  public record StrategyPoint(String estimator, Map<String, String> params, String strategy, boolean exact,
      String detail, long rowsDeleted, int shard, long shardRows, double trainSeconds, double forgetSeconds,
      double updateSeconds, double shardRetrainSeconds, double speedup, Map<String, Double> certificate) {}

  /**
   * One tree estimator: the same shard on the same store version fitted in a task (the task
   * engine) and by spark.ml's distributed fit (the jobs engine), each fit saved, and each
   * sub-model's accuracy on the same held-out rows.
   */
  public record TreePoint(String estimator, Map<String, String> params, int shard, long shardRows,
      double tasksSeconds, double jobsSeconds, double speedup, double tasksAccuracy, double jobsAccuracy,
      double gapPoints) {}

  /**
   * DaRE (section dare): a random forest trained with the dare strategy on every shard; one shard's
   * rows held in memory, a subject's worth of them deleted from its forest against its training
   * from scratch (what a task-engine retrain computes) and spark.ml's fit of the shard; then forget
   * runs of growing batches against one spark.ml forest on all rows.
   *
   * @param updateSeconds the deletion from the shard's forest, its rows in memory (as DaRE keeps
   *     them): the median of five deletions of a subject's worth of random rows
   * @param retrainSeconds DaRE's training of the shard's remaining rows, in memory: the task's fit
   * @param sparkFitSeconds spark.ml's fit of the shard with the same parameters, saved
   * @param shareRebuilt the share of the forest's nodes grown again by that deletion
   * @param accuracy the shard's DaRE forest on held-out rows; {@code sparkAccuracy} spark.ml's fit of it
   * @param singleModelSeconds one spark.ml random forest on all the store's rows
   */
  public record Dare(Map<String, String> params, double trainSeconds, int shard, long shardRows, int rowsDeleted,
      double updateSeconds, double shareRebuilt, double retrainSeconds, double sparkFitSeconds,
      double speedupVsRetrain, double speedupVsSparkFit, double accuracy, double sparkAccuracy,
      double singleModelSeconds, List<DareBatch> batches) {}

  /**
   * One forget run under dare: {@code forgetSeconds} request to published ensemble (the retire of old
   * versions apart); {@code updateSeconds} the deletions from the hit shards' forests, summed, and
   * per deleted row; {@code readSeconds} reading hit shards' remaining rows where a node needed
   * them; {@code shareRebuilt} the mean share of a hit shard's forest grown again;
   * {@code shardsByDare} the hit shards DaRE updated (the others fell back to a retrain).
   */
  public record DareBatch(int subjects, long rowsDeleted, int shardsHit, int shardsByDare, double forgetSeconds,
      double updateSeconds, double updateSecondsPerRow, double readSeconds, double shareRebuilt,
      double speedupVsSingleModel) {}

  /** Adult at one shard count: held-out accuracy of the ensemble and of one model on all rows. */
  public record AccuracyPoint(int shards, double ensembleAccuracy, double singleModelAccuracy, double gapPoints,
      double trainSeconds, long smallestShardRows) {}

  /** One store size: ingest, train all shards, forget one subject. */
  public record ScalePoint(long rows, int shards, double ingestSeconds, double ingestRowsPerSecond,
      double trainSeconds, double forgetSeconds, double singleModelSeconds, double speedupVsSingleModel) {}

  /**
   * The ledger as it grows (section ledger): after {@code days} simulated days, what a new process
   * pays to read it. {@code planSeconds}: the forget plan's look-up of 100 ids' requests (50 known,
   * 50 new); {@code statusSeconds}: the status job's summary (requests by status, the open ones).
   * {@code stateCommits}: commits after the newest state snapshot, which the readers read.
   */
  public record LedgerPoint(int days, long requests, long events, long commits, long stateCommits,
      double planSeconds, double statusSeconds, long openRequests, double recordSeconds, double compactSeconds) {}

  /** A performance target, the figure this run measured for it, and whether it was met. */
  public record Target(String name, String goal, double measured, String unit, boolean met) {}
}
