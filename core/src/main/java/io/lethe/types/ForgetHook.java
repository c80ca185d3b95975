package io.lethe.types;

import io.lethe.Evolving;

/**
 * Called by a forget run before each step's work starts (after the ledger records it started),
 * and before every attempt of the delete's Delta commit. Tests use it to stop a run at a chosen
 * step, the way a crash would, or to make a commit conflict.
 */
@FunctionalInterface
@Evolving
public interface ForgetHook {
  ForgetHook NONE = (step, attempt) -> { };

  void before(ForgetStep step, int attempt);
}
