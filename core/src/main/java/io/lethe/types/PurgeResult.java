package io.lethe.types;

import io.lethe.Evolving;
import java.util.List;

/**
 * What a purge did.
 *
 * @param shards the shards purged
 * @param reorgVersion the store version of the REORG commit that rewrote their files with deletion
 *     vectors (null when none of their files had one, or no shard was given)
 * @param filesDeleted files VACUUM deleted (null when Delta did not log its VACUUM, or none ran)
 * @param retentionHours the VACUUM retention: versions newer than {@code vacuumedAt} minus this
 *     can still be read by time travel, and rows deleted within it may still be on storage
 * @param vacuumedAt when VACUUM started (ISO-8601), or null when none ran: no request's retention
 *     had passed since its REORG, so a VACUUM would have deleted none of their rows' files
 * @param timeTravelFrom the time-travel horizon left: versions committed before it can no longer
 *     be read, since VACUUM deleted the files they need (ISO-8601; vacuumedAt minus the
 *     retention), or null when no VACUUM ran
 */
@Evolving
public record PurgeResult(List<Integer> shards, Long reorgVersion, Long filesDeleted, double retentionHours,
    String vacuumedAt, String timeTravelFrom) {

  public PurgeResult {
    shards = List.copyOf(shards);
  }

  public PurgeResult(List<Integer> shards, Long reorgVersion, Long filesDeleted, double retentionHours,
      java.time.Instant vacuumedAt) {
    this(shards, reorgVersion, filesDeleted, retentionHours, vacuumedAt == null ? null : vacuumedAt.toString(),
        vacuumedAt == null ? null : vacuumedAt.minus(retention(retentionHours)).toString());
  }

  /** Whether a VACUUM ran. */
  public boolean vacuumed() {
    return vacuumedAt != null;
  }

  /** The retention as a duration. */
  public static java.time.Duration retention(double hours) {
    return java.time.Duration.ofMillis(Math.round(hours * 3_600_000));
  }
}
