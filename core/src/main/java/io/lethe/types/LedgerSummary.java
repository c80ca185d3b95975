package io.lethe.types;

import io.lethe.Evolving;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * The ledger at a glance: requests by status, and every open request with its state and deadline
 * (request ids and hashes only).
 *
 * @param requestsByStatus forgotten, not-found, purge-pending, failed, in-progress
 * @param overdue open requests past their deadline
 * @param open the open requests' current states, oldest first
 */
@Evolving
public record LedgerSummary(String path, Map<String, Long> requestsByStatus, long overdue, List<OpenRequest> open) {

  /** An open request: where it stands and by when it must be done. */
  public record OpenRequest(String requestId, String subjectHash, String status, String step, String phase,
      Instant receivedAt, Instant deadline, boolean overdue, Instant purgeAfter) {
  }

  public LedgerSummary {
    requestsByStatus = Map.copyOf(requestsByStatus);
    open = List.copyOf(open);
  }

  public static LedgerSummary of(String path, Map<String, Long> byStatus, List<LedgerEntry> open, Instant now) {
    List<OpenRequest> rows = open.stream().map(e -> new OpenRequest(e.requestId(), e.subjectHash(), e.status(),
        e.step(), e.phase(), e.receivedAt(), e.deadline(), e.isOverdue(now), e.purgeAfter())).toList();
    return new LedgerSummary(path, byStatus, rows.stream().filter(OpenRequest::overdue).count(), rows);
  }
}
