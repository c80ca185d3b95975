package io.lethe;

/**
 * A failure Lethe can explain in one sentence. Nothing half-done is published. The named kinds say
 * what to do about it: {@link InvalidConfigException} and {@link InvalidRequestException} (change
 * the input), {@link StoreNotFoundException} and {@link CorruptRegistryException} (the data is not
 * where or what it should be), {@link CommitConflictException} and {@link RunStoppedException} (run
 * the same work again), {@link VerificationFailedException} (verify found a failed check),
 * {@link RequestsOverdueException} (status was asked to fail on overdue requests). The jobs
 * map each kind to an exit code in one place ({@code io.lethe.jobs.ExitCodes}).
 */
@Evolving
public class LetheException extends RuntimeException {
  public LetheException(String message) {
    super(message);
  }

  public LetheException(String message, Throwable cause) {
    super(message, cause);
  }

  /** The first line of a throwable's message: Spark's and Delta's carry plans and stack text after it. */
  public static String firstLine(Throwable e) {
    String m = String.valueOf(e.getMessage());
    int nl = m.indexOf('\n');
    return nl < 0 ? m : m.substring(0, nl);
  }
}
