package io.lethe.internal.engine;

import java.util.function.Supplier;

/**
 * Deletes rows from a {@link DareForest}'s trees: the deleted rows walk their paths, their
 * statistics subtracted; a node whose drawn values are gone is recomputed from its remaining rows,
 * and a node whose split changed is grown again from them (see there). Counts what it did.
 */
final class DareDeleter {
  private final DareForest.Spec spec;
  private final TreeStats c;
  private final DareRows deleted;
  private final Supplier<DareRows> remaining;
  long visited;
  long recomputed;
  long rebuilt;
  long rebuiltNodes;
  boolean read;

  DareDeleter(DareForest.Spec spec, TreeStats c, DareRows deleted, Supplier<DareRows> remaining) {
    this.spec = spec;
    this.c = c;
    this.deleted = deleted;
    this.remaining = () -> {
      read = true;
      return remaining.get();
    };
  }

  Supplier<int[]> rootRows() {
    return memo(() -> {
      int[] all = new int[remaining.get().size()];
      for (int r = 0; r < all.length; r++) {
        all[r] = r;
      }
      return all;
    });
  }

  /** The node after deleting rows {@code del} of the deleted matrix from it; {@code here} gives its remaining rows. */
  DareNode delete(DareNode node, int[] del, int tree, Supplier<int[]> here) {
    if (del.length == 0) {
      return node;
    }
    visited++;
    for (int r : del) {
      c.add(node.stats, 0, deleted.label(r), -1);
    }
    if (node.kind == DareNode.LEAF) {
      return node; // a leaf for good (maxDepth, pure, one row, or every feature constant) stays one
    }
    if (DareGrower.terminal(node, spec, c)) {
      return node.leaf();
    }
    boolean moved = node.kind == DareNode.RANDOM ? deleteRandom(node, del) : deleteGreedy(node, del);
    if (moved) {
      // A drawn value is gone: the node's choices come again from its rows.
      recomputed++;
      DareNode fresh = new DareGrower(spec, c, remaining.get(), false).choose(here.get(), tree, node.id, node.depth);
      if (!sameSplit(node, fresh)) {
        return regrow(fresh, here, tree);
      }
      fresh.leftChild = node.leftChild;
      fresh.rightChild = node.rightChild;
      node = fresh;
    } else if (node.kind == DareNode.GREEDY) {
      int chosen = DareGrower.best(node, spec, c);
      if (chosen != node.chosen) {
        // Its drawn thresholds hold, but another one is now best, or none: the subtree changes.
        node.chosen = chosen;
        node.leftChild = chosen >= 0 ? DareNode.MARK : null;
        node.rightChild = node.leftChild;
        return regrow(node, here, tree);
      }
    }
    if (!node.splits()) {
      return node;
    }
    long f = node.splitFeature();
    double t = node.splitThreshold();
    int[][] sides = DareGrower.partition(deleted, del, f, t);
    Supplier<int[][]> split = memo(() -> DareGrower.partition(remaining.get(), here.get(), f, t));
    node.leftChild = delete(node.leftChild, sides[0], tree, () -> split.get()[0]);
    node.rightChild = delete(node.rightChild, sides[1], tree, () -> split.get()[1]);
    return node;
  }

  /** A node whose split changed, its subtree grown again from its rows. */
  private DareNode regrow(DareNode fresh, Supplier<int[]> here, int tree) {
    rebuilt++;
    if (fresh.splits()) {
      new DareGrower(spec, c, remaining.get(), false).growChildren(fresh, here.get(), tree);
    }
    rebuiltNodes += fresh.size();
    return fresh;
  }

  /** Subtracts the rows from a random node's counts; true when its smallest or largest value is gone. */
  private boolean deleteRandom(DareNode node, int[] del) {
    for (int r : del) {
      double x = deleted.valueOf(r, node.randomFeature);
      if (x == node.lo) {
        node.loCount--;
      }
      if (x == node.hi) {
        node.hiCount--;
      }
    }
    return node.loCount <= 0 || node.hiCount <= 0;
  }

  /** Subtracts the rows from a greedy node's drawn thresholds; true when one of their values is gone. */
  private boolean deleteGreedy(DareNode node, int[] del) {
    boolean moved = false;
    for (int r : del) {
      double y = deleted.label(r);
      double x = 0;
      for (int i = 0; i < node.feature.length; i++) {
        if (i == 0 || node.feature[i] != node.feature[i - 1]) {
          x = deleted.valueOf(r, node.feature[i]);
        }
        if (x == node.lower[i]) {
          moved |= --node.lowerCount[i] <= 0;
        }
        if (x == node.upper[i]) {
          moved |= --node.upperCount[i] <= 0;
        }
        if (x <= node.lower[i]) {
          c.add(node.left, i * c.length, y, -1);
        }
      }
    }
    return moved;
  }

  private static boolean sameSplit(DareNode a, DareNode b) {
    if (a.splits() != b.splits()) {
      return false;
    }
    return !a.splits() || a.splitFeature() == b.splitFeature() && a.splitThreshold() == b.splitThreshold();
  }

  private static <T> Supplier<T> memo(Supplier<T> make) {
    return new Supplier<>() {
      private T value;

      @Override
      public T get() {
        if (value == null) {
          value = make.get();
        }
        return value;
      }
    };
  }
}
