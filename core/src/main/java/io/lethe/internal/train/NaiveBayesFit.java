package io.lethe.internal.train;

import io.lethe.LetheException;
import io.lethe.internal.engine.Features;
import io.lethe.internal.engine.ShardStatistics;
import io.lethe.types.StoreLayout;
import java.util.Optional;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.classification.NaiveBayes;
import org.apache.spark.ml.classification.NaiveBayesModel;
import org.apache.spark.ml.linalg.DenseMatrix;
import org.apache.spark.ml.linalg.Matrices;
import org.apache.spark.ml.linalg.Vectors;

/** Naive Bayes (multinomial or gaussian) from a shard's per-class sums, as spark.ml's fit computes it. */
final class NaiveBayesFit implements StatisticsFit {
  @Override
  public Optional<String> unsupported(Estimator<?> estimator) {
    NaiveBayes nb = (NaiveBayes) estimator;
    if (nb.isDefined(nb.weightCol()) && !nb.getWeightCol().isEmpty()) {
      return Optional.of("naive Bayes with a weight column");
    }
    String type = nb.getModelType();
    return type.equals("multinomial") || type.equals("gaussian") ? Optional.empty()
        : Optional.of("naive Bayes of model type " + type + " (multinomial and gaussian are supported)");
  }

  @Override
  public NaiveBayesModel fit(Estimator<?> estimator, Features f, ShardStatistics s, StoreLayout layout) {
    NaiveBayes nb = (NaiveBayes) estimator;
    if (nb.getModelType().equals("multinomial")) {
      for (int i = 0; i < s.numericColumns(); i++) {
        if (s.negative(i) > 0) {
          throw new LetheException("Naive Bayes requires nonnegative feature values, and "
              + layout.numericFeatures().get(i) + " has negative ones");
        }
      }
    }
    // Spark's naive Bayes has one class per label present in the shard, in label order.
    int[] present = java.util.stream.IntStream.range(0, s.classes()).filter(c -> s.rows(c) > 0).toArray();
    int labels = present.length;
    int d = f.width();
    double[] pi = new double[labels];
    double[] theta = new double[labels * d];
    double[] sigma = new double[labels * d];
    double n = s.totalRows();
    if (nb.getModelType().equals("multinomial")) {
      double lambda = nb.getSmoothing();
      double piLogDenom = Math.log(n + labels * lambda);
      for (int i = 0; i < labels; i++) {
        int c = present[i];
        pi[i] = Math.log(s.rows(c) + lambda) - piLogDenom;
        double[] terms = new double[d];
        double termTotal = 0;
        for (int k = 0; k < d; k++) {
          terms[k] = f.classSum()[c][k] * f.scale(k);
          termTotal += terms[k];
        }
        double thetaLogDenom = Math.log(termTotal + d * lambda);
        for (int k = 0; k < d; k++) {
          theta[i * d + k] = Math.log(terms[k] + lambda) - thetaLogDenom;
        }
      }
      return new NaiveBayesModel(nb.uid(), Vectors.dense(pi).compressed(),
          new DenseMatrix(labels, d, theta, true).compressed(), Matrices.zeros(0, 0));
    }
    double epsilon = 0;
    for (int k = 0; k < d; k++) {
      double total = 0;
      double squares = 0;
      for (int c : present) {
        total += f.classSum()[c][k] * f.scale(k);
        squares += f.classSquares()[c][k] * f.scale(k) * f.scale(k);
      }
      epsilon = Math.max(epsilon, squares / n - total * total / n / n);
    }
    epsilon *= 1e-9;
    for (int i = 0; i < labels; i++) {
      int c = present[i];
      double rows = s.rows(c);
      pi[i] = Math.log(rows) - Math.log(n);
      for (int k = 0; k < d; k++) {
        double m = f.classSum()[c][k] * f.scale(k) / rows;
        theta[i * d + k] = m;
        sigma[i * d + k] = epsilon + f.classSquares()[c][k] * f.scale(k) * f.scale(k) / rows - m * m;
      }
    }
    return new NaiveBayesModel(nb.uid(), Vectors.dense(pi).compressed(),
        new DenseMatrix(labels, d, theta, true).compressed(), new DenseMatrix(labels, d, sigma, true).compressed());
  }

}
