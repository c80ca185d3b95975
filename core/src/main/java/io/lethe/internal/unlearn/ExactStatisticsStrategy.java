package io.lethe.internal.unlearn;

import io.lethe.internal.engine.ShardStatistics;
import io.lethe.internal.registry.ModelRegistry;
import io.lethe.internal.train.ShardUnlearn;
import io.lethe.internal.train.StatisticsModel;
import io.lethe.internal.train.TrainSettings;
import io.lethe.types.StoreLayout;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Keeps, beside each sub-model, the sufficient statistics its whole pipeline is a function of;
 * forgetting subtracts the deleted rows' statistics and rebuilds the sub-model from them, with no
 * fit. Exact: equal to a retrain of the shard up to floating-point summation order.
 */
final class ExactStatisticsStrategy extends FromStatistics {
  private static final List<String> ESTIMATORS = List.of("naive_bayes", "linear_regression");

  @Override
  public String id() {
    return "exact-statistics";
  }

  @Override
  public boolean exact() {
    return true;
  }

  @Override
  public String guarantee() {
    return "exact: rebuilt from the statistics of the shard's remaining rows; equal to a fit of them up to"
        + " floating-point summation order";
  }

  @Override
  public List<String> estimators() {
    return ESTIMATORS;
  }

  @Override
  public List<String> defaultFor() {
    return ESTIMATORS;
  }

  @Override
  public Optional<String> unsupported(StoreLayout layout, TrainSettings settings) {
    return new StatisticsModel(layout, settings, null).unsupported();
  }

  @Override
  public List<String> stateFiles() {
    return List.of(ModelRegistry.STATISTICS_FILE);
  }

  @Override
  Built build(ShardUnlearn shard, ShardStatistics statistics, String detail) throws StatisticsModel.SingularException {
    return new Built(shard.statisticsModel().get().build(statistics, shard.shard()), detail, Map.of(), true, null);
  }

  @Override
  public Optional<Example> example() {
    // Gaussian: bench's synthetic features are normal, and multinomial naive Bayes refuses negative values.
    return Optional.of(new Example("naive_bayes", Map.of("modelType", "gaussian")));
  }
}
