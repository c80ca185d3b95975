package io.lethe;

/**
 * A failure Lethe can explain in one sentence: bad input, a missing or foreign store, a corrupt
 * registry entry. Jobs print the message and exit non-zero; nothing half-done is published.
 */
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
