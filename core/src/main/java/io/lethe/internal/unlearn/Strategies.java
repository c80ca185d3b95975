package io.lethe.internal.unlearn;

import io.lethe.InvalidConfigException;
import io.lethe.LetheConfig;
import io.lethe.internal.train.ShardRetrainStrategy;
import io.lethe.internal.train.Strategy;
import io.lethe.internal.train.TrainSettings;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.stream.Collectors;

/**
 * The registry of unlearning strategies: the one place a strategy is registered. Training, forget,
 * verify, bench, the configuration's {@code forget.strategy.<estimator>} keys and their defaults
 * read it.
 */
public final class Strategies {
  /** Retrain the shard from scratch on its remaining rows (SISA): applies to every estimator. */
  public static final Strategy SHARD_RETRAIN = ShardRetrainStrategy.INSTANCE;
  /** Rebuild the sub-model from sufficient statistics, the deleted rows' subtracted. */
  public static final Strategy EXACT_STATISTICS = new ExactStatisticsStrategy();
  /** A Newton step on the remaining rows of a noisy L2 logistic regression, certified (Guo et al.). */
  public static final Strategy CERTIFIED_REMOVAL = new CertifiedRemovalStrategy();
  /** SISA's slices with checkpoints: retrain from the last checkpoint before the first changed slice. */
  public static final Strategy SLICED = new SlicedStrategy();

  /** DaRE: random forests and decision trees whose statistics let rows be deleted without regrowing them. */
  public static final Strategy DARE = new DareStrategy();

  private static final List<Strategy> ALL = List.of(SHARD_RETRAIN, EXACT_STATISTICS, CERTIFIED_REMOVAL, SLICED, DARE);

  private Strategies() {}

  /**
   * The strategies' own configuration keys ({@link Strategy#keys}), which the configuration finds
   * through {@link java.util.ServiceLoader} (META-INF/services) and accepts.
   */
  public static final class ConfigKeys implements LetheConfig.Keys {
    @Override
    public Map<String, String> defaults() {
      Map<String, String> keys = new java.util.TreeMap<>();
      ALL.forEach(s -> keys.putAll(s.keys()));
      return keys;
    }
  }

  /** The training settings of a configuration, with the strategy it configures for its estimator ({@link #configured}). */
  public static TrainSettings settings(LetheConfig config) {
    return TrainSettings.from(config, Strategies::configured);
  }

  /**
   * The configured strategy for an estimator ({@code forget.strategy.<estimator>}), else the
   * estimator's default (shard retrain for a name that is no estimator). Every
   * {@code forget.strategy.*} key given is checked: a strategy that does not exist, or does not
   * apply to the estimator the key names, is refused.
   */
  public static Strategy configured(LetheConfig config, String estimator) {
    config.withPrefix(LetheConfig.FORGET_STRATEGY_PREFIX).forEach((named, id) -> parse(id, named));
    String key = LetheConfig.FORGET_STRATEGY_PREFIX + estimator;
    return config.keys().contains(key) ? parse(config.get(key), estimator) : defaultFor(estimator);
  }

  /** Every registered strategy, shard retrain first. */
  public static List<Strategy> all() {
    return ALL;
  }

  /** The names of every registered strategy, for messages and help. */
  public static String ids() {
    return ALL.stream().map(Strategy::id).collect(Collectors.joining(", "));
  }

  /** The default strategy of an estimator: the one that names it in {@link Strategy#defaultFor}, else shard retrain. */
  public static Strategy defaultFor(String estimator) {
    return ALL.stream().filter(s -> s.defaultFor().contains(estimator)).findFirst().orElse(SHARD_RETRAIN);
  }

  /** The strategy named {@code id} for an estimator; a clear error when it is unknown or does not apply. */
  public static Strategy parse(String id, String estimator) {
    Strategy s = ALL.stream().filter(v -> v.id().equals(id)).findFirst()
        .orElseThrow(() -> new InvalidConfigException("Unknown unlearning strategy '" + id + "' for " + estimator
            + ": use one of " + ids()));
    if (!s.appliesTo(estimator)) {
      throw new InvalidConfigException("The unlearning strategy " + id + " does not apply to " + estimator
          + "; it applies to " + String.join(", ", s.estimators()));
    }
    return s;
  }

  /**
   * The strategy that made a sub-model, from the strategy its registry entry records (a fit is a
   * shard retrain, the first training included); shard retrain for an id no longer registered.
   */
  public static Strategy ofSubModel(String strategy) {
    return ALL.stream().filter(v -> v.id().equals(strategy)).findFirst().orElse(SHARD_RETRAIN);
  }

  /**
   * The strategy whose own solver trained a sub-model, known by the state it keeps beside it (a
   * retrain of the sub-model must use the same solver); shard retrain when it was a usual fit.
   */
  public static Strategy trainedBy(Predicate<String> hasStateFile) {
    Optional<Strategy> own = ALL.stream()
        .filter(s -> s.ownTraining() && s.stateFiles().stream().allMatch(hasStateFile)).findFirst();
    return own.orElse(SHARD_RETRAIN);
  }
}
