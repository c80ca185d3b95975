package io.lethe.internal.forget;

import io.lethe.InvalidConfigException;
import io.lethe.LetheConfig;

/**
 * How forget runs behave.
 *
 * @param recordColumn the store column that identifies a record, for forgetting by record
 * @param purge purge the store within the forget run (else the purge job does it later)
 * @param commitAttempts how often a Delta commit is tried when concurrent writers conflict
 * @param retentionHours the VACUUM retention of a purge
 * @param rewriteFiles the delete rewrites the files holding the rows (true) rather than hiding the
 *     rows behind deletion vectors until the purge
 */
public record ForgetSettings(String recordColumn, boolean purge, int commitAttempts, double retentionHours,
    boolean rewriteFiles) {

  public ForgetSettings {
    if (retentionHours < 0) {
      throw new InvalidConfigException(LetheConfig.PURGE_RETENTION_HOURS + " must not be negative, got " + retentionHours);
    }
  }

  public static ForgetSettings from(LetheConfig config) {
    return new ForgetSettings(config.get(LetheConfig.FORGET_RECORD_COLUMN), config.getBoolean(LetheConfig.FORGET_PURGE),
        config.getInt(LetheConfig.FORGET_COMMIT_ATTEMPTS), config.getDouble(LetheConfig.PURGE_RETENTION_HOURS),
        config.getBoolean(LetheConfig.FORGET_REWRITE_FILES));
  }
}
