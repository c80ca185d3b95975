package io.lethe.types;

import io.lethe.Evolving;
import java.util.Set;

/**
 * What a purge of the waiting requests would do, with no side effect: the open requests already gone from
 * the model, and the shards it would rewrite (REORG) for them before its VACUUM.
 */
@Evolving
public record PurgePlan(long requests, Set<Integer> shards, double retentionHours) {
  public PurgePlan {
    shards = Set.copyOf(shards);
  }
}
