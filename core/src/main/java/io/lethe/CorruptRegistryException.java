package io.lethe;

/**
 * The model registry holds something that cannot be read: a corrupt manifest in the publish
 * log, a sub-model directory that is gone or half-written, state beside a sub-model that does not
 * match it. Restore it, or retrain the shard it names.
 */
@Evolving
public class CorruptRegistryException extends LetheException {
  public CorruptRegistryException(String message) {
    super(message);
  }

  public CorruptRegistryException(String message, Throwable cause) {
    super(message, cause);
  }
}
