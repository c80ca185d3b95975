package io.lethe;

/**
 * {@code status --fail-on-overdue} found forget requests past their deadline and not complete.
 * The store and the models are as they were; the run summary lists the requests.
 */
@Evolving
public class RequestsOverdueException extends LetheException {
  public RequestsOverdueException(String message) {
    super(message);
  }
}
