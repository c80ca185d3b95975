package io.lethe.internal.engine;

import java.io.Serializable;

/**
 * A spark.ml linear classifier's objective and optimizer settings, resolved on the driver from the
 * estimator's parameters, for a task to solve.
 *
 * @param loss the row loss
 * @param classes the classes of the label (its metadata, as spark.ml reads it)
 * @param regParam the penalty's weight
 * @param elasticNet the L1 share of the penalty (0 for pure L2)
 * @param maxIter the optimizer's iteration limit
 * @param tolerance the optimizer's convergence tolerance
 * @param fitIntercept whether the model has an intercept (never penalised)
 * @param standardization whether the penalty applies to coefficients of standardized features
 */
public record LinearSpec(Loss loss, int classes, double regParam, double elasticNet, int maxIter, double tolerance,
    boolean fitIntercept, boolean standardization) implements LocalFit {

  /** The row losses of spark.ml's linear classifiers. */
  public enum Loss {
    /** LogisticRegression, binomial: log(1 + exp(-m)) for the positive class, plus m for the other. */
    BINOMIAL,
    /** LogisticRegression, multinomial: -log softmax(m)[y], one coefficient set per class. */
    MULTINOMIAL,
    /** LinearSVC: max(0, 1 - (2y - 1) m), always solved by OWLQN. */
    HINGE
  }

  @Override
  public LocalLinear.Fit fit(ShardMatrix rows) {
    return LocalLinear.fit(rows, this);
  }

  @Override
  public String describe(Serializable fitted) {
    LocalLinear.Fit fit = (LocalLinear.Fit) fitted;
    return String.format(" (%d optimizer iterations%s)", fit.iterations(), fit.converged() ? "" : ", stopped at maxIter");
  }

  /** Coefficient sets: one per class for multinomial, else one. */
  public int sets() {
    return loss == Loss.MULTINOMIAL ? classes : 1;
  }
}
