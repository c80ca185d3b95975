package io.lethe.store;

import io.lethe.CommitConflictException;
import io.lethe.InvalidConfigException;
import io.lethe.LetheException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.IntConsumer;
import java.util.function.Supplier;
import org.apache.spark.sql.delta.DeltaConcurrentModificationException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a Delta commit again when a concurrent writer made it conflict (Delta's optimistic
 * concurrency), with bounded exponential backoff. Any other failure is not retried.
 */
public final class CommitRetry {
  private static final Logger LOG = LoggerFactory.getLogger(CommitRetry.class);
  private static final long FIRST_WAIT_MS = 250;
  private static final long MAX_WAIT_MS = 8000;

  private final int attempts;
  private final IntConsumer beforeAttempt;

  /**
   * @param attempts how many times to try in all (at least 1)
   * @param beforeAttempt called with the attempt number (1, 2, ...) before each try; a test hook
   */
  public CommitRetry(int attempts, IntConsumer beforeAttempt) {
    if (attempts < 1) {
      throw new InvalidConfigException("The number of commit attempts must be at least 1, got " + attempts);
    }
    this.attempts = attempts;
    this.beforeAttempt = beforeAttempt;
  }

  public CommitRetry(int attempts) {
    this(attempts, attempt -> { });
  }

  /** Runs {@code commit}; {@code what} names it in messages (no data values). */
  public <T> T run(String what, Supplier<T> commit) {
    for (int attempt = 1; ; attempt++) {
      try {
        beforeAttempt.accept(attempt);
        return commit.get();
      } catch (RuntimeException e) {
        DeltaConcurrentModificationException conflict = conflictIn(e);
        if (conflict == null) {
          throw e;
        }
        if (attempt >= attempts) {
          throw new CommitConflictException("The " + what + " conflicted with concurrent writers " + attempts
              + " times and was given up (" + conflict.getClass().getSimpleName() + ")", e);
        }
        long wait = Math.min(MAX_WAIT_MS, FIRST_WAIT_MS << (attempt - 1));
        wait += ThreadLocalRandom.current().nextLong(wait / 2 + 1);
        LOG.warn("The {} conflicted with a concurrent writer ({}); attempt {} of {} in {} ms", what,
            conflict.getClass().getSimpleName(), attempt + 1, attempts, wait);
        sleep(wait);
      }
    }
  }

  private static DeltaConcurrentModificationException conflictIn(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof DeltaConcurrentModificationException conflict) {
        return conflict;
      }
      if (t.getCause() == t) {
        break;
      }
    }
    return null;
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new LetheException("Interrupted while waiting to retry a Delta commit", e);
    }
  }
}
