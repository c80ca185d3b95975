package io.lethe;

/**
 * A configuration that cannot work: an unknown key, a value of the wrong kind, an estimator,
 * parameter, strategy, engine or pipeline ({@code train.pipeline}) that does not fit the store.
 * Change the configuration and run again.
 */
@Evolving
public class InvalidConfigException extends LetheException {
  public InvalidConfigException(String message) {
    super(message);
  }

  public InvalidConfigException(String message, Throwable cause) {
    super(message, cause);
  }
}
