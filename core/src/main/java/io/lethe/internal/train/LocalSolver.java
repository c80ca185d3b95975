package io.lethe.internal.train;

import io.lethe.internal.engine.LinearSpec;
import io.lethe.internal.engine.LocalFit;
import io.lethe.internal.engine.LocalLinear;
import io.lethe.types.StoreLayout;
import java.io.Serializable;
import java.util.Optional;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.classification.LinearSVC;
import org.apache.spark.ml.classification.LinearSVCModel;
import org.apache.spark.ml.classification.LogisticRegression;
import org.apache.spark.ml.classification.LogisticRegressionModel;
import org.apache.spark.ml.linalg.DenseMatrix;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.ml.param.Params;

/**
 * How the task engine fits a built-in estimator inside one Spark task: what the estimator's entry
 * in {@link Estimators} declares, so that the engine knows no estimator by name or class. An
 * estimator without one is fitted by spark.ml's own distributed fit (the jobs engine).
 *
 * <p>Either the task fits the shard's featurized rows ({@link #task} not null: a linear objective
 * minimized by the local solver, trees grown by {@link TreeSolver}) and the driver turns what it
 * returns into the estimator's spark.ml model ({@link #model}), or the sub-model is built from the
 * shard's sufficient statistics ({@link StatisticsModel}).
 */
public interface LocalSolver {
  /** Why this estimator, with these settings, cannot be fitted in a task; empty when it can. */
  Optional<String> unsupported(Estimator<?> estimator, StoreLayout layout, TrainSettings settings);

  /**
   * What the task runs on the shard's featurized rows (a linear objective, a tree learner), or null
   * when the model is built from the shard's statistics.
   */
  LocalFit task(Estimator<?> estimator, int classes);

  /** The spark.ml model of what {@link #task} returned, its parameters copied as spark.ml's fit does. */
  Transformer model(Estimator<?> estimator, Serializable fitted, int classes);

  /** Logistic regression (binomial or multinomial, L1/L2), as spark.ml's objective has it. */
  LocalSolver LOGISTIC = new LocalSolver() {
    @Override
    public Optional<String> unsupported(Estimator<?> estimator, StoreLayout layout, TrainSettings settings) {
      LogisticRegression lr = (LogisticRegression) estimator;
      if (weighted(lr) || lr.isSet(lr.lowerBoundsOnCoefficients()) || lr.isSet(lr.upperBoundsOnCoefficients())
          || lr.isSet(lr.lowerBoundsOnIntercepts()) || lr.isSet(lr.upperBoundsOnIntercepts())) {
        return Optional.of("logistic regression with a weight column or bounds has no local solver");
      }
      if (lr.getFamily().equals("binomial") && layout.labelClasses().size() > 2) {
        return Optional.of("binomial logistic regression of more than two classes (spark.ml refuses it)");
      }
      return Optional.empty();
    }

    @Override
    public LinearSpec task(Estimator<?> estimator, int classes) {
      LogisticRegression lr = (LogisticRegression) estimator;
      boolean multinomial = lr.getFamily().equals("multinomial") || (lr.getFamily().equals("auto") && classes > 2);
      return new LinearSpec(multinomial ? LinearSpec.Loss.MULTINOMIAL : LinearSpec.Loss.BINOMIAL, classes,
          lr.getRegParam(), lr.getElasticNetParam(), lr.getMaxIter(), lr.getTol(), lr.getFitIntercept(),
          lr.getStandardization());
    }

    @Override
    public Transformer model(Estimator<?> estimator, Serializable fitted, int classes) {
      LogisticRegression lr = (LogisticRegression) estimator;
      LocalLinear.Fit fit = (LocalLinear.Fit) fitted;
      return StatisticsModel.copyParams(lr, new LogisticRegressionModel(lr.uid(),
          new DenseMatrix(fit.sets(), fit.features(), fit.coefficients(), true).compressed(),
          Vectors.dense(fit.intercepts()).compressed(), classes, fit.multinomial()));
    }
  };

  /** Linear SVC (hinge loss, L2, two classes), as spark.ml's objective has it. */
  LocalSolver LINEAR_SVC = new LocalSolver() {
    @Override
    public Optional<String> unsupported(Estimator<?> estimator, StoreLayout layout, TrainSettings settings) {
      if (weighted((LinearSVC) estimator)) {
        return Optional.of("linear SVC with a weight column has no local solver");
      }
      return layout.labelClasses().size() == 2 ? Optional.empty()
          : Optional.of("linear SVC of more than two classes (spark.ml refuses it)");
    }

    @Override
    public LinearSpec task(Estimator<?> estimator, int classes) {
      LinearSVC svc = (LinearSVC) estimator;
      return new LinearSpec(LinearSpec.Loss.HINGE, classes, svc.getRegParam(), 0.0, svc.getMaxIter(), svc.getTol(),
          svc.getFitIntercept(), svc.getStandardization());
    }

    @Override
    public Transformer model(Estimator<?> estimator, Serializable fitted, int classes) {
      LinearSVC svc = (LinearSVC) estimator;
      LocalLinear.Fit fit = (LocalLinear.Fit) fitted;
      return StatisticsModel.copyParams(svc,
          new LinearSVCModel(svc.uid(), Vectors.dense(fit.coefficients()).compressed(), fit.intercepts()[0]));
    }
  };

  /** Built from the shard's sufficient statistics in the driver (naive Bayes, linear regression): no objective. */
  LocalSolver FROM_STATISTICS = new LocalSolver() {
    @Override
    public Optional<String> unsupported(Estimator<?> estimator, StoreLayout layout, TrainSettings settings) {
      return new StatisticsModel(layout, settings, null).unsupported();
    }

    @Override
    public LocalFit task(Estimator<?> estimator, int classes) {
      return null;
    }

    @Override
    public Transformer model(Estimator<?> estimator, Serializable fitted, int classes) {
      throw new IllegalStateException("A model built from statistics has no objective's solution");
    }
  };

  /** Whether the estimator weighs rows by a column (no local solver does). */
  static boolean weighted(Params p) {
    return p.hasParam("weightCol") && p.isDefined(p.getParam("weightCol"))
        && !((String) p.getOrDefault(p.getParam("weightCol"))).isEmpty();
  }
}
