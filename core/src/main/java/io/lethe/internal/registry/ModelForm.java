package io.lethe.internal.registry;

import java.util.List;
import java.util.ServiceLoader;
import org.apache.spark.ml.Transformer;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * What a built-in estimator's entry declares about the models it fits, for the layers below the
 * estimators: the one row of data spark.ml saves for such a model (the registry writes it from the
 * driver), its parameters as one vector (verify compares a sub-model with its retrain), and, for a
 * model whose probability is the logistic of one linear margin, that margin (the fused scorer sums
 * it without building vectors). The entries live above this package: they are found through
 * {@link ServiceLoader} ({@code io.lethe.internal.train.Estimators} provides them), so no class here names
 * an estimator.
 */
public interface ModelForm {
  /** Whether a fitted stage is a model of this form. */
  boolean describes(Transformer model);

  /** The one row spark.ml saves as the model's data, with its schema. */
  StageData data(Transformer model);

  /** The model's parameters as one vector. */
  double[] parameters(Transformer model);

  /**
   * The coefficients then the intercept of the model's margin when its class-1 probability is
   * 1 / (1 + e^-margin) over features of the given width; null when it is not such a model.
   */
  default double[] logisticMargin(Transformer model, int width) {
    return null;
  }

  /** A stage's data as spark.ml saves it: one row and its schema. */
  record StageData(StructType schema, Row row) {
    /** A schema of the given fields, in order. */
    public static StructType schema(StructField... fields) {
      return DataTypes.createStructType(List.of(fields));
    }

    public static StructField field(String name, DataType type, boolean nullable) {
      return DataTypes.createStructField(name, type, nullable);
    }
  }

  /** Where the forms come from: the estimator registry, through META-INF/services. */
  interface Provider {
    List<ModelForm> forms();
  }

  /** The form of a fitted stage, or null when no entry declares it (trees, feature stages, a user's own model). */
  static ModelForm of(Transformer model) {
    for (ModelForm form : Loaded.FORMS) {
      if (form.describes(model)) {
        return form;
      }
    }
    return null;
  }

  /** The declared forms, loaded once. */
  final class Loaded {
    private static final List<ModelForm> FORMS = ServiceLoader.load(Provider.class, ModelForm.class.getClassLoader())
        .stream().flatMap(p -> p.get().forms().stream()).toList();

    private Loaded() {}
  }
}
