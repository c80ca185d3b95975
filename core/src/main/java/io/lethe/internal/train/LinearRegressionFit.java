package io.lethe.internal.train;

import dev.ludovic.netlib.lapack.LAPACK;
import io.lethe.LetheException;
import io.lethe.internal.engine.Features;
import io.lethe.internal.engine.ShardStatistics;
import io.lethe.types.StoreLayout;
import java.util.Arrays;
import java.util.Optional;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.ml.regression.LinearRegression;
import org.apache.spark.ml.regression.LinearRegressionModel;
import org.netlib.util.intW;

/** Linear regression (squared error, L2 or none) from a shard's sums by the normal equations. */
final class LinearRegressionFit implements StatisticsFit {
  @Override
  public Optional<String> unsupported(Estimator<?> estimator) {
    LinearRegression lr = (LinearRegression) estimator;
    if (!lr.getLoss().equals("squaredError")) {
      return Optional.of("linear regression with loss " + lr.getLoss());
    }
    if (lr.getSolver().equals("l-bfgs")) {
      return Optional.of("linear regression with solver l-bfgs (the normal-equations solver is exact)");
    }
    if (lr.getElasticNetParam() != 0 && lr.getRegParam() != 0) {
      return Optional.of("linear regression with an L1 penalty (elasticNetParam > 0 is solved iteratively)");
    }
    if (lr.isDefined(lr.weightCol()) && !lr.getWeightCol().isEmpty()) {
      return Optional.of("linear regression with a weight column");
    }
    return Optional.empty();
  }

  /** The normal equations as Spark's WeightedLeastSquares (Cholesky) solves them. */
  @Override
  public LinearRegressionModel fit(Estimator<?> estimator, Features f, ShardStatistics s, StoreLayout layout) {
    LinearRegression lr = (LinearRegression) estimator;
    int d = f.width();
    if (d > 4096 && !lr.getSolver().equals("normal")) {
      throw new LetheException("More than 4096 features: Spark solves this linear regression iteratively");
    }
    // Sums over rows of the final features a = W z, a a' and a y.
    double wSum = s.totalRows();
    double[] aSum = new double[d];
    double[] abSum = new double[d];
    int tri = d * (d + 1) / 2;
    double[] aaSum = new double[tri];
    for (int r = 0; r < d; r++) {
      int[] ir = f.zIndex(r);
      double[] wr = f.zWeight(r);
      for (int a = 0; a < ir.length; a++) {
        double weight = wr[a] * f.scale(r);
        aSum[r] += weight * s.zz(0, ir[a]);
        abSum[r] += weight * s.zy(ir[a]);
      }
      for (int t = 0; t <= r; t++) {
        int[] it = f.zIndex(t);
        double[] wt = f.zWeight(t);
        double v = 0;
        for (int a = 0; a < ir.length; a++) {
          for (int b = 0; b < it.length; b++) {
            v += wr[a] * wt[b] * s.zz(ir[a], it[b]);
          }
        }
        aaSum[r * (r + 1) / 2 + t] = v * f.scale(r) * f.scale(t);
      }
    }
    double bSum = s.zy(0);
    double rawBBar = bSum / wSum;
    double rawBStd = Math.sqrt(Math.max(s.yy() / wSum - rawBBar * rawBBar, 0.0));
    boolean intercept = lr.getFitIntercept();
    double regParam = lr.getRegParam();
    double elasticNet = lr.getElasticNetParam();
    if (rawBStd == 0.0 && (intercept || rawBBar == 0.0)) {
      return new LinearRegressionModel(lr.uid(), Vectors.dense(new double[d]).compressed(), rawBBar, 1.0);
    }
    if (rawBStd == 0.0 && regParam > 0.0) {
      throw new LetheException("The standard deviation of the label is zero. Model cannot be regularized when labels"
          + " are standardized.");
    }
    double bStd = rawBStd == 0.0 ? Math.abs(rawBBar) : rawBStd;
    double bBar = rawBBar / bStd;
    double[] aStd = new double[d];
    for (int j = 0; j < d; j++) {
      double aw = aSum[j] / wSum;
      aStd[j] = Math.sqrt(Math.max(aaSum[j * (j + 1) / 2 + j] / wSum - aw * aw, 0.0));
    }
    double[] aBar = new double[d];
    double[] abBar = new double[d];
    for (int j = 0; j < d; j++) {
      aBar[j] = aStd[j] == 0.0 ? 0.0 : aSum[j] / wSum / aStd[j];
      abBar[j] = aStd[j] == 0.0 ? 0.0 : abSum[j] / wSum / (aStd[j] * bStd);
    }
    double[] aaBar = new double[tri];
    for (int j = 0, p = 0; j < d; j++) {
      for (int i = 0; i <= j; i++, p++) {
        aaBar[p] = aStd[i] == 0.0 || aStd[j] == 0.0 ? 0.0 : aaSum[p] / wSum / (aStd[i] * aStd[j]);
      }
    }
    double l2 = (1.0 - elasticNet) * regParam / bStd;
    for (int j = 0; j < d; j++) {
      double lambda = l2;
      if (!lr.getStandardization()) {
        lambda = aStd[j] != 0.0 ? lambda / (aStd[j] * aStd[j]) : 0.0;
      }
      aaBar[j * (j + 1) / 2 + j] += lambda;
    }
    int k = intercept ? d + 1 : d;
    double[] aa = intercept ? concat(aaBar, aBar, new double[] {1.0}) : aaBar.clone();
    double[] x = intercept ? concat(abBar, new double[] {bBar}) : abBar.clone();
    intW info = new intW(0);
    LAPACK.getInstance().dppsv("U", k, 1, aa, x, k, info);
    if (info.val != 0) {
      throw new StatisticsModel.SingularException("the normal equations are singular (LAPACK dppsv info " + info.val
          + "); Spark then solves them iteratively");
    }
    double[] coefficients = Arrays.copyOf(x, d);
    double interceptValue = intercept ? x[d] * bStd : 0.0;
    for (int j = 0; j < d; j++) {
      coefficients[j] *= aStd[j] != 0.0 ? bStd / aStd[j] : 0.0;
    }
    return new LinearRegressionModel(lr.uid(), Vectors.dense(coefficients).compressed(), interceptValue, 1.0);
  }

  private static double[] concat(double[]... parts) {
    double[] out = new double[Arrays.stream(parts).mapToInt(a -> a.length).sum()];
    int at = 0;
    for (double[] part : parts) {
      System.arraycopy(part, 0, out, at, part.length);
      at += part.length;
    }
    return out;
  }

}
