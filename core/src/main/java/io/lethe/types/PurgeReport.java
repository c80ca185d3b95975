package io.lethe.types;

import io.lethe.Evolving;
import java.util.List;

/**
 * What a purge did, and the ledger events it leads to: complete for requests whose rows are now
 * gone from storage, purge pending (with the time after which a purge will finish them) for the
 * others.
 */
@Evolving
public record PurgeReport(PurgeResult store, long forgotten, long pending, List<LedgerEntry> events) {
  public PurgeReport {
    events = List.copyOf(events);
  }
}
