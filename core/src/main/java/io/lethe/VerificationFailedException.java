package io.lethe;

/**
 * Verify ran to the end and at least one of its checks failed: the report (JSON and HTML) is
 * written and names them. Not a failure to run, but evidence that a forget is incomplete.
 */
@Evolving
public class VerificationFailedException extends LetheException {
  public VerificationFailedException(String message) {
    super(message);
  }
}
