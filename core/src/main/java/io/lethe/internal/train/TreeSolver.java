package io.lethe.internal.train;

import io.lethe.internal.engine.LocalFit;
import io.lethe.internal.engine.LocalTrees;
import io.lethe.types.StoreLayout;
import java.io.Serializable;
import java.util.Optional;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.classification.Classifier;
import org.apache.spark.ml.classification.DecisionTreeClassificationModel;
import org.apache.spark.ml.classification.GBTClassificationModel;
import org.apache.spark.ml.classification.RandomForestClassificationModel;
import org.apache.spark.ml.param.Params;
import org.apache.spark.ml.regression.DecisionTreeRegressionModel;
import org.apache.spark.ml.regression.GBTRegressionModel;
import org.apache.spark.ml.regression.RandomForestRegressionModel;
import org.apache.spark.ml.tree.Node;

/**
 * Decision trees, random forests and gradient-boosted trees, classification and regression, grown
 * inside the shard's task by {@link LocalTrees} with the estimator's spark.ml parameters (maxDepth,
 * maxBins, minInstancesPerNode, minWeightFractionPerNode, minInfoGain, impurity, seed; for a forest
 * also numTrees, subsamplingRate, featureSubsetStrategy and bootstrap; for boosting maxIter,
 * stepSize, subsamplingRate, featureSubsetStrategy and lossType), into spark.ml's own tree models.
 */
final class TreeSolver implements LocalSolver {
  /** What the estimator grows. */
  enum Kind { TREE, FOREST, BOOSTED }

  /** Trees store a row's bin in 16 bits. */
  private static final int MOST_BINS = 65_535;

  private final Kind kind;

  TreeSolver(Kind kind) {
    this.kind = kind;
  }

  @Override
  public Optional<String> unsupported(Estimator<?> estimator, StoreLayout layout, TrainSettings settings) {
    if (LocalSolver.weighted(estimator)) {
      return Optional.of("trees with a weight column have no local solver");
    }
    if ((Integer) param(estimator, "maxBins") > MOST_BINS) {
      return Optional.of("trees of more than " + MOST_BINS + " bins have no local solver");
    }
    if (kind == Kind.BOOSTED && estimator.isDefined(estimator.getParam("validationIndicatorCol"))
        && !((String) param(estimator, "validationIndicatorCol")).isEmpty()) {
      return Optional.of("boosting with a validation column has no local solver");
    }
    return Optional.empty();
  }

  @Override
  public LocalFit task(Estimator<?> estimator, int classes) {
    boolean classifier = estimator instanceof Classifier<?, ?, ?>;
    boolean forest = kind == Kind.FOREST;
    boolean boosted = kind == Kind.BOOSTED;
    return new LocalTrees.Spec(classifier ? classes : 0, boosted ? "variance" : (String) param(estimator, "impurity"),
        (Integer) param(estimator, "maxDepth"), (Integer) param(estimator, "maxBins"),
        (Integer) param(estimator, "minInstancesPerNode"), (Double) param(estimator, "minWeightFractionPerNode"),
        (Double) param(estimator, "minInfoGain"), forest ? (Integer) param(estimator, "numTrees") : 1,
        kind == Kind.TREE ? 1.0 : (Double) param(estimator, "subsamplingRate"),
        forest && (Boolean) param(estimator, "bootstrap"),
        kind == Kind.TREE ? "all" : (String) param(estimator, "featureSubsetStrategy"), (Long) param(estimator, "seed"),
        boosted ? (Integer) param(estimator, "maxIter") : 0, boosted ? (Double) param(estimator, "stepSize") : 0.0,
        boosted ? (String) param(estimator, "lossType") : "");
  }

  @Override
  public Transformer model(Estimator<?> estimator, Serializable fitted, int classes) {
    LocalTrees.Forest grown = (LocalTrees.Forest) fitted;
    Node[] roots = grown.trees();
    int width = grown.width();
    String uid = estimator.uid();
    boolean classifier = estimator instanceof Classifier<?, ?, ?>;
    if (classifier && kind != Kind.BOOSTED) {
      DecisionTreeClassificationModel[] trees = new DecisionTreeClassificationModel[roots.length];
      for (int t = 0; t < roots.length; t++) {
        trees[t] = StatisticsModel.copyParams(estimator, new DecisionTreeClassificationModel(uid, roots[t], width, classes));
      }
      return kind == Kind.FOREST
          ? StatisticsModel.copyParams(estimator, new RandomForestClassificationModel(uid, trees, width, classes))
          : trees[0];
    }
    DecisionTreeRegressionModel[] trees = new DecisionTreeRegressionModel[roots.length];
    for (int t = 0; t < roots.length; t++) {
      trees[t] = new DecisionTreeRegressionModel(uid, roots[t], width);
      if (kind != Kind.BOOSTED) {
        StatisticsModel.copyParams(estimator, trees[t]);
      }
    }
    return switch (kind) {
      case TREE -> trees[0];
      case FOREST -> StatisticsModel.copyParams(estimator, new RandomForestRegressionModel(uid, trees, width));
      case BOOSTED -> StatisticsModel.copyParams(estimator, classifier
          ? new GBTClassificationModel(uid, trees, grown.weights(), width, 2)
          : new GBTRegressionModel(uid, trees, grown.weights(), width));
    };
  }

  private static Object param(Params p, String name) {
    return p.getOrDefault(p.getParam(name));
  }
}
