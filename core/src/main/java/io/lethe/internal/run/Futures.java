package io.lethe.internal.run;

import io.lethe.LetheException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;

/** Waiting for work handed to another thread, with its failure thrown as it was thrown there. */
public final class Futures {
  private Futures() {}

  /**
   * The result of {@code future}; an unchecked exception or error thrown by its work is rethrown as
   * is, a checked one wrapped. {@code doing} names the work in the messages ("training shards").
   */
  public static <T> T join(Future<T> future, String doing) {
    try {
      return future.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new LetheException("Interrupted while " + doing, e);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof RuntimeException re) {
        throw re;
      }
      if (cause instanceof Error error) {
        throw error;
      }
      throw new LetheException("Failed while " + doing + ": " + cause, cause);
    }
  }
}
