package io.lethe.internal.engine;

/**
 * A differentiable objective over the rows one task holds: the plain Java face of breeze's
 * {@code DiffFunction}, which Java cannot implement (its {@code apply} has two erasures).
 */
@FunctionalInterface
public interface Objective {
  /** The objective's value at {@code x}; its gradient at {@code x} is written into {@code gradient}. */
  double evaluate(double[] x, double[] gradient);
}
