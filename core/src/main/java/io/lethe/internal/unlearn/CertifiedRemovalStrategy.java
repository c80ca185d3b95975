package io.lethe.internal.unlearn;

import io.lethe.LetheConfig;
import io.lethe.internal.engine.ShardStatistics;
import io.lethe.internal.registry.ModelRegistry;
import io.lethe.internal.train.ShardTrainer;
import io.lethe.internal.train.ShardUnlearn;
import io.lethe.internal.train.Strategy;
import io.lethe.internal.train.TrainSettings;
import io.lethe.types.EnsembleManifest;
import io.lethe.types.StoreLayout;
import io.lethe.types.SubModelEntry;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * Certified removal (Guo, Goldstein, Hannun and van der Maaten, ICML 2020) for two-class L2
 * logistic regression: training fits Lethe's own logistic regression with a secret random linear
 * term and keeps its state and the shard's statistics; a forget takes one Newton step on the
 * remaining rows, certified while the gradient residual stays within the budget, else solves to the
 * exact optimum. Approximate: never called exact unless it was solved to the optimum.
 */
final class CertifiedRemovalStrategy extends FromStatistics {
  private final Certification certification;

  CertifiedRemovalStrategy() {
    this(Certification.DEFAULT);
  }

  private CertifiedRemovalStrategy(Certification certification) {
    this.certification = certification;
  }

  /** Epsilon, delta and the noise of training, {@code forget.certified.*}. */
  @Override
  public Map<String, String> keys() {
    return Certification.KEYS;
  }

  @Override
  public Strategy configure(LetheConfig config) {
    return new CertifiedRemovalStrategy(Certification.from(config));
  }

  @Override
  public String id() {
    return "certified-removal";
  }

  @Override
  public boolean exact() {
    return false;
  }

  @Override
  public String guarantee() {
    return "approximate: (epsilon, delta)-certified removal (Guo et al., ICML 2020). The model's distribution is"
        + " within a factor e^epsilon (plus delta) of that of a retrain on the remaining rows, as long as the"
        + " gradient residual stays within the budget; it is not the model a retrain gives";
  }

  @Override
  public List<String> estimators() {
    return List.of("logistic_regression");
  }

  @Override
  public Optional<String> unsupported(StoreLayout layout, TrainSettings settings) {
    return CertifiedRemoval.unsupported(layout, settings);
  }

  @Override
  public Optional<String> ownSolver() {
    return Optional.of("the strategy " + id() + " trains with its own solver");
  }

  @Override
  public List<String> stateFiles() {
    return List.of(ModelRegistry.STATISTICS_FILE, CertifiedState.FILE_NAME);
  }

  @Override
  public Optional<EstimatorFit> fitEstimator(ShardTrainer trainer, int shard, PipelineModel features,
      Dataset<Row> featurized) {
    StoreLayout layout = trainer.store().layout();
    TrainSettings settings = trainer.settings();
    List<String> names = CertifiedRemoval.featureNames(features.stages(), layout);
    Optional<CertifiedState> prior = trainer.priorState(shard, CertifiedState.FILE_NAME, CertifiedState.class);
    double sigma = prior.map(CertifiedState::sigma).orElse(certification.noise());
    double[] noise = prior.isPresent() ? prior.get().noiseFor(names) : CertifiedState.freshNoise(names, sigma);
    JavaRDD<CertifiedLogistic.LabeledVector> rows = CertifiedRemoval.rows(featurized, shard);
    try {
      CertifiedRemoval.Fit fit = CertifiedRemoval.solve(rows, names, new double[names.size()], noise, sigma, layout,
          settings, certification, shard);
      return Optional.of(new EstimatorFit(fit.model(), Map.of(CertifiedState.FILE_NAME, fit.state())));
    } finally {
      CertifiedRemoval.release(rows);
    }
  }

  /** A retrain draws no noise: it reuses the sub-model's own, with its standard deviation. */
  @Override
  public ShardTrainer retraining(ShardTrainer trainer, int shard, KeptState kept) {
    return trainer.withPriorState(CertifiedState.FILE_NAME,
        kept.read(CertifiedState.FILE_NAME, CertifiedState.class).map(c -> Map.of(shard, c)).orElse(Map.of()));
  }

  @Override
  Optional<String> missingState(ShardUnlearn u) {
    return u.kept(CertifiedState.FILE_NAME, CertifiedState.class).isPresent() ? Optional.empty() : Optional.of("no certified state");
  }

  @Override
  Built build(ShardUnlearn u, ShardStatistics statistics, String defaultDetail) {
    int shard = u.shard();
    StoreLayout layout = u.store().layout();
    Transformer[] features = u.statisticsModel().get().features(statistics, shard);
    List<String> names = CertifiedRemoval.featureNames(features, layout);
    Dataset<Row> rows = u.store().readShard(shard, u.storeVersion())
        .select(layout.trainingColumns().toArray(new Column[0]));
    Dataset<Row> featurized = new PipelineModel(Identifiable.randomUID("pipeline"), features).transform(rows);
    JavaRDD<CertifiedLogistic.LabeledVector> labeled = CertifiedRemoval.rows(featurized, shard);
    CertifiedRemoval.Fit fit;
    try {
      fit = CertifiedRemoval.remove(labeled, names, u.kept(CertifiedState.FILE_NAME, CertifiedState.class).orElseThrow(), layout, u.settings(),
          certification, shard);
    } finally {
      CertifiedRemoval.release(labeled);
    }
    CertifiedState after = fit.state();
    List<Transformer> stages = new ArrayList<>(List.of(features));
    stages.add(fit.model());
    PipelineModel model = new PipelineModel(Identifiable.randomUID("pipeline"), stages.toArray(new Transformer[0]));
    String detail = after.exact()
        ? String.format("gradient residual of a Newton step over the budget %.3g: solved to the exact optimum",
            after.budget())
        : String.format("one Newton step; gradient residual %.3g within the budget %.3g (%d removal step(s)"
            + " since the last exact solve)", after.residual(), after.budget(), after.removals());
    return new Built(model, detail, Map.of(CertifiedState.FILE_NAME, after), after.exact(), after.certificate());
  }

  @Override
  public Guarantee guaranteeOf(ModelRegistry registry, EnsembleManifest manifest, SubModelEntry entry) {
    Optional<CertifiedState> certified = registry.stateFile(manifest.version(), entry, CertifiedState.FILE_NAME, CertifiedState.class);
    if (certified.isPresent() && certified.get().exact()) {
      return new Guarantee(true, "exact: the optimum of the certified model's objective on the shard's remaining"
          + " rows, as a retrain with its noise gives", certified.get().certificate());
    }
    return new Guarantee(false, guarantee(), certified.map(CertifiedState::certificate).orElse(null));
  }

  @Override
  public Optional<Example> example() {
    return Optional.of(new Example("logistic_regression", Map.of("regParam", "0.01")));
  }
}
