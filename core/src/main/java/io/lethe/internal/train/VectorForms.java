package io.lethe.internal.train;

import static io.lethe.internal.registry.ModelForm.StageData.field;
import static io.lethe.internal.registry.ModelForm.StageData.schema;

import io.lethe.internal.registry.ModelForm;
import java.util.Arrays;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.classification.LinearSVCModel;
import org.apache.spark.ml.classification.LogisticRegressionModel;
import org.apache.spark.ml.classification.MultilayerPerceptronClassificationModel;
import org.apache.spark.ml.classification.NaiveBayesModel;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.regression.LinearRegressionModel;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;

/**
 * The forms of the built-in estimators' models that are a few vectors and matrices (the linear
 * models, naive Bayes, the perceptron's weights), as their entries in {@link Estimators} declare
 * them: the data row spark.ml's own writer saves for each (the same schema and values), and their
 * parameters as one vector.
 */
enum VectorForms implements ModelForm {
  LOGISTIC_REGRESSION(LogisticRegressionModel.class) {
    @Override
    public StageData data(Transformer model) {
      LogisticRegressionModel m = (LogisticRegressionModel) model;
      // isMultinomial is private[ml] in Scala: its accessor carries the Scala compiler's expanded name.
      return new StageData(schema(field("numClasses", DataTypes.IntegerType, false),
          field("numFeatures", DataTypes.IntegerType, false), field("interceptVector", SQLDataTypes.VectorType(), true),
          field("coefficientMatrix", SQLDataTypes.MatrixType(), true), field("isMultinomial", DataTypes.BooleanType,
              false)),
          RowFactory.create(m.numClasses(), m.numFeatures(), m.interceptVector(), m.coefficientMatrix(),
              m.org$apache$spark$ml$classification$LogisticRegressionModel$$isMultinomial()));
    }

    @Override
    public double[] parameters(Transformer model) {
      LogisticRegressionModel m = (LogisticRegressionModel) model;
      return join(m.coefficientMatrix().toArray(), m.interceptVector().toArray());
    }

    /** A binomial model's one row of coefficients, then its intercept. */
    @Override
    public double[] logisticMargin(Transformer model, int width) {
      LogisticRegressionModel m = (LogisticRegressionModel) model;
      return m.coefficientMatrix().numRows() == 1 && m.coefficientMatrix().numCols() == width
          ? join(m.coefficientMatrix().toArray(), new double[] {m.interceptVector().apply(0)}) : null;
    }
  },

  LINEAR_SVC(LinearSVCModel.class) {
    @Override
    public StageData data(Transformer model) {
      LinearSVCModel m = (LinearSVCModel) model;
      return new StageData(schema(field("coefficients", SQLDataTypes.VectorType(), true),
          field("intercept", DataTypes.DoubleType, false)), RowFactory.create(m.coefficients(), m.intercept()));
    }

    @Override
    public double[] parameters(Transformer model) {
      LinearSVCModel m = (LinearSVCModel) model;
      return join(m.coefficients().toArray(), new double[] {m.intercept()});
    }
  },

  NAIVE_BAYES(NaiveBayesModel.class) {
    @Override
    public StageData data(Transformer model) {
      NaiveBayesModel m = (NaiveBayesModel) model;
      return new StageData(schema(field("pi", SQLDataTypes.VectorType(), true),
          field("theta", SQLDataTypes.MatrixType(), true), field("sigma", SQLDataTypes.MatrixType(), true)),
          RowFactory.create(m.pi(), m.theta(), m.sigma()));
    }

    @Override
    public double[] parameters(Transformer model) {
      NaiveBayesModel m = (NaiveBayesModel) model;
      return join(m.pi().toArray(), m.theta().toArray(), m.sigma().toArray());
    }
  },

  MULTILAYER_PERCEPTRON(MultilayerPerceptronClassificationModel.class) {
    @Override
    public StageData data(Transformer model) {
      MultilayerPerceptronClassificationModel m = (MultilayerPerceptronClassificationModel) model;
      return new StageData(schema(field("weights", SQLDataTypes.VectorType(), true)), RowFactory.create(m.weights()));
    }

    @Override
    public double[] parameters(Transformer model) {
      return ((MultilayerPerceptronClassificationModel) model).weights().toArray();
    }
  },

  LINEAR_REGRESSION(LinearRegressionModel.class) {
    @Override
    public StageData data(Transformer model) {
      LinearRegressionModel m = (LinearRegressionModel) model;
      return new StageData(schema(field("intercept", DataTypes.DoubleType, false),
          field("coefficients", SQLDataTypes.VectorType(), true), field("scale", DataTypes.DoubleType, false)),
          RowFactory.create(m.intercept(), m.coefficients(), m.scale()));
    }

    @Override
    public double[] parameters(Transformer model) {
      LinearRegressionModel m = (LinearRegressionModel) model;
      return join(m.coefficients().toArray(), new double[] {m.intercept()});
    }
  };

  private final Class<? extends Transformer> modelClass;

  VectorForms(Class<? extends Transformer> modelClass) {
    this.modelClass = modelClass;
  }

  @Override
  public boolean describes(Transformer model) {
    return modelClass.isInstance(model);
  }

  private static double[] join(double[]... parts) {
    return Arrays.stream(parts).flatMapToDouble(Arrays::stream).toArray();
  }
}
