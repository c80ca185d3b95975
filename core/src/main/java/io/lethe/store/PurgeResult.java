package io.lethe.store;

import java.util.List;

/**
 * What a purge did.
 *
 * @param shards the shards purged
 * @param reorgVersion the store version of the REORG commit that rewrote their files with deletion
 *     vectors (null when none of their files had one, or no shard was given)
 * @param filesDeleted files VACUUM deleted (null when Delta did not log its VACUUM)
 * @param retentionHours the VACUUM retention: versions newer than {@code vacuumedAt} minus this
 *     can still be read by time travel, and rows deleted within it may still be on storage
 * @param vacuumedAt when VACUUM started (ISO-8601)
 * @param timeTravelFrom the time-travel horizon left: versions committed before it can no longer
 *     be read, since VACUUM deleted the files they need (ISO-8601; vacuumedAt minus the retention)
 */
public record PurgeResult(List<Integer> shards, Long reorgVersion, Long filesDeleted, double retentionHours,
    String vacuumedAt, String timeTravelFrom) {

  public PurgeResult {
    shards = List.copyOf(shards);
  }

  public PurgeResult(List<Integer> shards, Long reorgVersion, Long filesDeleted, double retentionHours,
      java.time.Instant vacuumedAt) {
    this(shards, reorgVersion, filesDeleted, retentionHours, vacuumedAt.toString(),
        vacuumedAt.minus(retention(retentionHours)).toString());
  }

  /** The retention as a duration. */
  public static java.time.Duration retention(double hours) {
    return java.time.Duration.ofMillis(Math.round(hours * 3_600_000));
  }
}
