package io.lethe;

/**
 * A Delta commit that conflicted with concurrent writers on every attempt
 * ({@code forget.commit-attempts}). Nothing of it was committed; running the same work again,
 * when the other writers are done, finishes it.
 */
@Evolving
public class CommitConflictException extends LetheException {
  public CommitConflictException(String message) {
    super(message);
  }

  public CommitConflictException(String message, Throwable cause) {
    super(message, cause);
  }
}
