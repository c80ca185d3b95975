package io.lethe.internal.run;

import io.lethe.LetheException;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.FutureTask;
import org.slf4j.MDC;

/**
 * Work handed to a thread of its own, and waiting for it, with its failure thrown as it was thrown
 * there.
 */
public final class Futures {
  private Futures() {}

  /**
   * Starts {@code work} in a daemon thread named {@code name}, with this thread's log context (its
   * batch) and, as every thread Spark's context sees, this thread's Spark properties.
   */
  public static <T> FutureTask<T> beside(String name, Callable<T> work) {
    FutureTask<T> task = new FutureTask<>(withLogContext(work));
    Thread thread = new Thread(task, name);
    thread.setDaemon(true);
    thread.start();
    return task;
  }

  /**
   * {@code work}, run with this thread's log context (its batch) in whichever thread runs it: a
   * thread of its own or a pool's.
   */
  public static <T> Callable<T> withLogContext(Callable<T> work) {
    Map<String, String> logContext = MDC.getCopyOfContextMap();
    return () -> {
      if (logContext != null) {
        MDC.setContextMap(logContext);
      }
      return work.call();
    };
  }

  /** Waits for {@code future} to end, whatever its outcome: where another failure is the one to report. */
  public static void await(Future<?> future) {
    try {
      future.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException e) {
      // its failure is not the one reported
    }
  }

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
