package io.lethe.train;

import dev.ludovic.netlib.lapack.LAPACK;
import io.lethe.LetheException;
import io.lethe.engine.FeatureSpec;
import io.lethe.engine.Features;
import io.lethe.engine.ShardStatistics;
import io.lethe.store.StoreLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.classification.NaiveBayes;
import org.apache.spark.ml.classification.NaiveBayesModel;
import org.apache.spark.ml.feature.Imputer;
import org.apache.spark.ml.feature.ImputerModel;
import org.apache.spark.ml.feature.OneHotEncoder;
import org.apache.spark.ml.feature.OneHotEncoderModel;
import org.apache.spark.ml.feature.StandardScaler;
import org.apache.spark.ml.feature.StandardScalerModel;
import org.apache.spark.ml.feature.StringIndexer;
import org.apache.spark.ml.feature.StringIndexerModel;
import org.apache.spark.ml.feature.VectorAssembler;
import org.apache.spark.ml.linalg.DenseMatrix;
import org.apache.spark.ml.linalg.Matrices;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.Params;
import org.apache.spark.ml.regression.LinearRegression;
import org.apache.spark.ml.regression.LinearRegressionModel;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.sql.types.StructType;
import org.netlib.util.intW;

/**
 * Rebuilds a shard's fitted pipeline from its {@link ShardStatistics}, with no pass over its rows:
 * the same stages, parameters and fitted values that spark.ml's fit of the shard gives (the
 * imputer's means, the indexers' frequency order, the one-hot sizes, the scaler's sample
 * deviations, then naive Bayes or linear regression by the normal equations as Spark's
 * WeightedLeastSquares solves them).
 */
public final class StatisticsModel {
  private final StoreLayout layout;
  private final TrainSettings settings;
  private final StructType schema;

  /**
   * @param schema the store's schema: the imputer writes its mean back in the column's own type
   *     (a whole-number column gets the mean truncated), and the features see that value
   */
  public StatisticsModel(StoreLayout layout, TrainSettings settings, StructType schema) {
    this.layout = layout;
    this.settings = settings;
    this.schema = schema;
  }

  /** The feature spec of this store and these settings. */
  public FeatureSpec featureSpec() {
    return new FeatureSpec(settings.impute(), settings.scale(), layout.numericFeatures(),
        layout.numericFeatures().stream().map(c -> schema.apply(c).dataType()).toList());
  }

  /** The fitted values of the feature stages on the rows these statistics sum. */
  public static Features features(ShardStatistics stats, FeatureSpec spec) {
    return new Features(stats, spec);
  }

  /**
   * Why these settings cannot be unlearned by statistics (the model is not a function of sums of
   * the rows), or empty when they can.
   */
  public Optional<String> unsupported() {
    if (!Estimators.builtIn(settings.estimator())) {
      return Optional.of("the estimator " + settings.estimator() + " is the user's own class");
    }
    Estimator<?> e = ShardPipeline.estimator(layout, settings, 0);
    if (e instanceof NaiveBayes nb) {
      if (nb.isDefined(nb.weightCol()) && !nb.getWeightCol().isEmpty()) {
        return Optional.of("naive Bayes with a weight column");
      }
      String type = nb.getModelType();
      return type.equals("multinomial") || type.equals("gaussian") ? Optional.empty()
          : Optional.of("naive Bayes of model type " + type + " (multinomial and gaussian are supported)");
    }
    if (e instanceof LinearRegression lr) {
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
    return Optional.of("the estimator " + settings.estimator() + " is not a function of sums of its rows");
  }

  /** The shard's pipeline as a fit on the rows these statistics sum would give. */
  public PipelineModel build(ShardStatistics stats, int shard) {
    Features f = new Features(stats, featureSpec());
    List<Transformer> stages = new ArrayList<>(List.of(features(f, shard)));
    Estimator<?> estimator = ShardPipeline.estimator(layout, settings, shard);
    if (estimator instanceof NaiveBayes nb) {
      stages.add(copyParams(nb, naiveBayes(nb, f, stats)));
    } else if (estimator instanceof LinearRegression lr) {
      stages.add(copyParams(lr, linearRegression(lr, f, stats)));
    } else {
      throw new LetheException(unsupported().orElse(settings.estimator() + " has no statistics model"));
    }
    return new PipelineModel(Identifiable.randomUID("pipeline"), stages.toArray(new Transformer[0]));
  }

  /** The shard's fitted feature stages (imputer to scaler) as a fit on these statistics' rows would give. */
  public Transformer[] features(ShardStatistics stats, int shard) {
    return features(new Features(stats, featureSpec()), shard);
  }

  /** The feature stages (imputer to scaler) with the given fitted values. */
  public Transformer[] features(Features f, int shard) {
    List<Transformer> stages = new ArrayList<>();
    for (PipelineStage stage : ShardPipeline.features(layout, settings, shard).getStages()) {
      if (stage instanceof Imputer imputer) {
        stages.add(copyParams(imputer, new ImputerModel(imputer.uid(), imputer.getInputCols(), f.imputed())));
      } else if (stage instanceof StringIndexer indexer) {
        stages.add(copyParams(indexer, new StringIndexerModel(indexer.uid(), f.labels())));
      } else if (stage instanceof OneHotEncoder encoder) {
        // The indexers keep invalid values, which adds one category after the labels.
        int[] sizes = Arrays.stream(f.labels()).mapToInt(l -> l.length + 1).toArray();
        stages.add(copyParams(encoder, new OneHotEncoderModel(encoder.uid(), sizes)));
      } else if (stage instanceof VectorAssembler assembler) {
        stages.add(assembler);
      } else if (stage instanceof StandardScaler scaler) {
        stages.add(copyParams(scaler,
            new StandardScalerModel(scaler.uid(), Vectors.dense(f.std()), Vectors.dense(f.mean()))));
      } else {
        throw new IllegalStateException("No statistics model for the stage " + stage);
      }
    }
    return stages.toArray(new Transformer[0]);
  }

  /** Copies the parameters set on an unfitted stage to its model, as fit() does. */
  public static <T extends Params> T copyParams(Params from, T to) {
    for (Param<?> p : from.params()) {
      if (from.isSet(p) && to.hasParam(p.name())) {
        to.set(to.getParam(p.name()), from.getOrDefault(p));
      }
    }
    return to;
  }

  private NaiveBayesModel naiveBayes(NaiveBayes nb, Features f, ShardStatistics s) {
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

  /** The normal equations as Spark's WeightedLeastSquares (Cholesky) solves them. */
  private LinearRegressionModel linearRegression(LinearRegression lr, Features f, ShardStatistics s) {
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
      throw new SingularException("the normal equations are singular (LAPACK dppsv info " + info.val
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

  /** The statistics cannot give Spark's model here; the shard is retrained instead. */
  public static final class SingularException extends LetheException {
    public SingularException(String message) {
      super(message);
    }
  }
}
