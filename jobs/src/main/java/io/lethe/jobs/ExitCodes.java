package io.lethe.jobs;

import io.lethe.CommitConflictException;
import io.lethe.CorruptRegistryException;
import io.lethe.InvalidConfigException;
import io.lethe.InvalidRequestException;
import io.lethe.LetheException;
import io.lethe.RequestsOverdueException;
import io.lethe.RunStoppedException;
import io.lethe.StoreNotFoundException;
import io.lethe.VerificationFailedException;

/**
 * The exit code of every job, by what went wrong, in one place. A scheduler can act on it: retry
 * on {@link #RUN_AGAIN}, page someone on {@link #MISSING_OR_CORRUPT}, fix the input on
 * {@link #INVALID}.
 */
public final class ExitCodes {
  /** The job did what it was asked. */
  public static final int OK = 0;
  /** The input must change: a configuration, a request, an id file, a source, a pipeline. */
  public static final int INVALID = 1;
  /** An unexpected failure: a bug, or the platform (the message and stack trace are logged). */
  public static final int CRASHED = 2;
  /** The store or the model registry is missing or corrupt. */
  public static final int MISSING_OR_CORRUPT = 3;
  /** Run the same job again: a commit lost to concurrent writers, a forget run stopped part-way. */
  public static final int RUN_AGAIN = 4;
  /** Verify ran and a check failed: the report says which. */
  public static final int VERIFICATION_FAILED = 5;
  /** {@code status --fail-on-overdue}: forget requests are past their deadline and not complete. */
  public static final int OVERDUE = 6;

  private ExitCodes() {}

  /**
   * The exit code of a job that failed with this throwable. An {@link Error} (a class missing from
   * the classpath, out of memory) is {@link #CRASHED}: nothing about the input is known to be wrong.
   */
  public static int of(Throwable failure) {
    if (failure instanceof RunStoppedException) {
      // A run stopped by bad input or corrupt data does not finish by running again; one stopped by
      // a conflict, a lost executor or a killed process does.
      Throwable cause = failure.getCause();
      boolean inputOrData = cause instanceof InvalidConfigException || cause instanceof InvalidRequestException
          || cause instanceof StoreNotFoundException || cause instanceof CorruptRegistryException;
      return inputOrData ? of(cause) : RUN_AGAIN;
    }
    if (failure instanceof CommitConflictException) {
      return RUN_AGAIN;
    }
    if (failure instanceof StoreNotFoundException || failure instanceof CorruptRegistryException) {
      return MISSING_OR_CORRUPT;
    }
    if (failure instanceof VerificationFailedException) {
      return VERIFICATION_FAILED;
    }
    if (failure instanceof RequestsOverdueException) {
      return OVERDUE;
    }
    return failure instanceof LetheException ? INVALID : CRASHED;
  }
}
