package io.lethe.internal.store;

import io.lethe.CommitConflictException;
import io.lethe.InvalidConfigException;
import io.lethe.LetheException;
import io.lethe.internal.run.CostMeter;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.IntConsumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a Delta commit again when a concurrent writer made it conflict (Delta's optimistic
 * concurrency), with bounded exponential backoff. Any other failure is not retried. Conflicts are
 * known by Delta's public exception classes ({@code io.delta.exceptions}, and Delta Kernel's), so
 * this works with any Delta build that has them, Databricks Runtime's included.
 */
public final class CommitRetry {
  private static final Logger LOG = LoggerFactory.getLogger(CommitRetry.class);
  private static final long FIRST_WAIT_MS = 250;
  private static final long MAX_WAIT_MS = 8000;
  /** delta-spark's public conflict classes and Delta Kernel's, by name: both are optional at run time. */
  private static final List<String> CONFLICTS = List.of(
      "io.delta.exceptions.ConcurrentWriteException",
      "io.delta.exceptions.MetadataChangedException",
      "io.delta.exceptions.ProtocolChangedException",
      "io.delta.exceptions.ConcurrentAppendException",
      "io.delta.exceptions.ConcurrentDeleteReadException",
      "io.delta.exceptions.ConcurrentDeleteDeleteException",
      "io.delta.exceptions.ConcurrentTransactionException",
      "io.delta.kernel.exceptions.ConcurrentWriteException",
      "io.delta.kernel.exceptions.ConcurrentTransactionException",
      "io.delta.kernel.exceptions.MetadataChangedException",
      "io.delta.kernel.exceptions.ProtocolChangedException",
      // Two writers creating the same table (two runs' first ledger append): the one that finds it
      // created by the other appends to it on its next try.
      "io.delta.kernel.exceptions.TableAlreadyExistsException");

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
        T result = commit.get();
        CostMeter.commit();
        return result;
      } catch (RuntimeException e) {
        Throwable conflict = conflictIn(e);
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

  /** The Delta conflict in a failure's causes, or null. */
  static Throwable conflictIn(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (isConflict(t.getClass())) {
        return t;
      }
      if (t.getCause() == t) {
        break;
      }
    }
    return null;
  }

  private static boolean isConflict(Class<?> type) {
    for (Class<?> c = type; c != null; c = c.getSuperclass()) {
      if (CONFLICTS.contains(c.getName())) {
        return true;
      }
    }
    return false;
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
