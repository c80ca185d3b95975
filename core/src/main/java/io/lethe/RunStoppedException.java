package io.lethe;

/**
 * A forget run that stopped part-way, at the step it names. Every step before it is recorded in
 * the ledger, and running the same batch again resumes from there; the cause (a conflict, a lost
 * executor) is kept.
 */
@Evolving
public class RunStoppedException extends LetheException {
  public RunStoppedException(String message) {
    super(message);
  }

  public RunStoppedException(String message, Throwable cause) {
    super(message, cause);
  }
}
