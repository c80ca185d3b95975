package io.lethe;

/**
 * No Lethe store where one is configured: the path holds no Delta table, or a Delta table
 * that is not a Lethe store. Nothing was read or written.
 */
@Evolving
public class StoreNotFoundException extends LetheException {
  public StoreNotFoundException(String message) {
    super(message);
  }

  public StoreNotFoundException(String message, Throwable cause) {
    super(message, cause);
  }
}
