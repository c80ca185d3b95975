package io.lethe.types;

import io.lethe.Evolving;
import java.util.List;

/**
 * Which shards a training run fits: all of them, the listed ones, or the stale ones (whose rows
 * changed since the published sub-model was trained).
 */
@Evolving
public record ShardSelection(Kind kind, List<Integer> shards) {
  public enum Kind { ALL, LISTED, STALE }

  public ShardSelection {
    shards = List.copyOf(shards);
  }

  public static ShardSelection all() {
    return new ShardSelection(Kind.ALL, List.of());
  }

  public static ShardSelection of(List<Integer> shards) {
    return new ShardSelection(Kind.LISTED, shards);
  }

  public static ShardSelection stale() {
    return new ShardSelection(Kind.STALE, List.of());
  }
}
