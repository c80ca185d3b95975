package io.lethe.internal.forget;

import io.lethe.InvalidConfigException;
import io.lethe.LetheConfig;
import java.time.Instant;

/**
 * How forget runs behave.
 *
 * @param recordColumn the store column that identifies a record, for forgetting by record
 * @param purge purge the store within the forget run (else the purge job does it later)
 * @param commitAttempts how often a Delta commit is tried when concurrent writers conflict
 * @param retentionHours the VACUUM retention of a purge
 * @param rewriteFiles the delete rewrites the files holding the rows (true) rather than hiding the
 *     rows behind deletion vectors until the purge
 * @param minBatch the fewest requests a run publishes an update for; fewer are held (1: none)
 * @param maxWaitHours the longest a request is held, from when it was received
 */
public record ForgetSettings(String recordColumn, boolean purge, int commitAttempts, double retentionHours,
    boolean rewriteFiles, int minBatch, double maxWaitHours) {

  public ForgetSettings {
    if (retentionHours < 0) {
      throw new InvalidConfigException(LetheConfig.PURGE_RETENTION_HOURS + " must not be negative, got " + retentionHours);
    }
    if (minBatch < 1) {
      throw new InvalidConfigException(LetheConfig.FORGET_MIN_BATCH + " must be at least 1, got " + minBatch);
    }
    if (maxWaitHours < 0) {
      throw new InvalidConfigException(LetheConfig.FORGET_MAX_WAIT_HOURS + " must not be negative, got " + maxWaitHours);
    }
  }

  /** Settings without holding requests for a batch. */
  public ForgetSettings(String recordColumn, boolean purge, int commitAttempts, double retentionHours,
      boolean rewriteFiles) {
    this(recordColumn, purge, commitAttempts, retentionHours, rewriteFiles, 1, 0);
  }

  public static ForgetSettings from(LetheConfig config) {
    double maxWait = config.getDouble(LetheConfig.FORGET_MAX_WAIT_HOURS);
    int deadlineDays = config.getInt(LetheConfig.LEDGER_DEADLINE_DAYS);
    int minBatch = config.getInt(LetheConfig.FORGET_MIN_BATCH);
    // A held request is released by its age alone a day before its deadline at the latest.
    if (minBatch > 1 && maxWait > 24.0 * deadlineDays - 24) {
      throw new InvalidConfigException(LetheConfig.FORGET_MAX_WAIT_HOURS + " (" + maxWait + ") must leave a day before a"
          + " request's deadline: at most " + (24 * deadlineDays - 24) + " hours with " + LetheConfig.LEDGER_DEADLINE_DAYS
          + " = " + deadlineDays);
    }
    return new ForgetSettings(config.get(LetheConfig.FORGET_RECORD_COLUMN), config.getBoolean(LetheConfig.FORGET_PURGE),
        config.getInt(LetheConfig.FORGET_COMMIT_ATTEMPTS), config.getDouble(LetheConfig.PURGE_RETENTION_HOURS),
        config.getBoolean(LetheConfig.FORGET_REWRITE_FILES), minBatch, maxWait);
  }

  /** When a request received at {@code receivedAt} is released at the latest. */
  public Instant releasedBy(Instant receivedAt) {
    return receivedAt.plusMillis(Math.round(maxWaitHours * 3_600_000));
  }
}
