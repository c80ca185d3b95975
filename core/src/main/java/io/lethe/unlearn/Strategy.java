package io.lethe.unlearn;

import io.lethe.InvalidConfigException;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

/**
 * How forgetting removes deleted rows from a shard's sub-model. Chosen per estimator
 * ({@code forget.strategy.<estimator>}) and reported per shard in every forget run.
 */
public enum Strategy {
  /** Refit the shard from scratch on its remaining rows (SISA). Exact; works for every estimator. */
  SHARD_RETRAIN("shard-retrain", true, List.of(),
      "exact: the sub-model is a fit of the shard's remaining rows"),
  /**
   * Keep sufficient statistics with each sub-model; subtract the deleted rows' statistics and
   * rebuild the model from them. Exact: equal to a refit of the shard up to floating-point order.
   */
  EXACT_STATISTICS("exact-statistics", true, List.of("naive_bayes", "linear_regression"),
      "exact: rebuilt from the statistics of the shard's remaining rows; equal to a fit of them up to"
          + " floating-point summation order"),
  /**
   * Lethe's own L2 logistic regression with a secret random linear term; a removal is a Newton step
   * on the remaining rows, certified while its gradient residual stays within the budget (Guo et
   * al., ICML 2020), else solved to the exact optimum. Approximate: never called exact.
   */
  CERTIFIED_REMOVAL("certified-removal", false, List.of("logistic_regression"),
      "approximate: (epsilon, delta)-certified removal (Guo et al., ICML 2020). The model's distribution is within"
          + " a factor e^epsilon (plus delta) of that of a retrain on the remaining rows, as long as the gradient"
          + " residual stays within the budget; it is not the model a retrain gives"),
  /**
   * SISA's slices with checkpoints, for the multilayer perceptron (which warm-starts from initial
   * weights): a forget retrains from the last checkpoint that saw no changed slice.
   */
  SLICED("sliced", true, List.of("multilayer_perceptron"),
      "exact: retrained from the last checkpoint before the earliest slice that held a deleted row; the same"
          + " sliced training, on the same rows with the same seeds, as one from scratch");

  private final String id;
  private final boolean exact;
  private final List<String> estimators;
  private final String guarantee;

  Strategy(String id, boolean exact, List<String> estimators, String guarantee) {
    this.id = id;
    this.exact = exact;
    this.estimators = estimators;
    this.guarantee = guarantee;
  }

  /** What a sub-model made by this strategy is, in words, for reports. */
  public String guarantee() {
    return guarantee;
  }

  /**
   * The strategy that made a sub-model, from the method its registry entry records: a fit is a
   * shard retrain (or the first training, which is the same thing).
   */
  public static Strategy ofMethod(String method) {
    return Arrays.stream(values()).filter(v -> v.id.equals(method)).findFirst().orElse(SHARD_RETRAIN);
  }

  public String id() {
    return id;
  }

  /** Whether the result is the model a refit of the shard gives (else a certified approximation). */
  public boolean exact() {
    return exact;
  }

  /** Whether this strategy applies to an estimator (shard retrain applies to all). */
  public boolean appliesTo(String estimator) {
    return estimators.isEmpty() || estimators.contains(estimator);
  }

  /** The strategy named {@code id} for an estimator; a clear error when it is unknown or does not apply. */
  public static Strategy parse(String id, String estimator) {
    Strategy s = Arrays.stream(values()).filter(v -> v.id.equals(id)).findFirst()
        .orElseThrow(() -> new InvalidConfigException("Unknown unlearning strategy '" + id + "' for " + estimator + ": use one of "
            + Arrays.stream(values()).map(Strategy::id).collect(Collectors.joining(", "))));
    if (!s.appliesTo(estimator)) {
      throw new InvalidConfigException("The unlearning strategy " + id + " does not apply to " + estimator + "; it applies to "
          + String.join(", ", s.estimators));
    }
    return s;
  }
}
