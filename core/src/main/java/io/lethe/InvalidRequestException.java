package io.lethe;

/**
 * A request that cannot be carried out as given: an id file that is missing or malformed, ids
 * of the wrong type, an ingest source that does not match the store, an unknown forget batch.
 * Change the request and run again.
 */
@Evolving
public class InvalidRequestException extends LetheException {
  public InvalidRequestException(String message) {
    super(message);
  }

  public InvalidRequestException(String message, Throwable cause) {
    super(message, cause);
  }
}
