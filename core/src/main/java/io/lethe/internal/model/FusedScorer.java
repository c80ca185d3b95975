package io.lethe.internal.model;

import static org.apache.spark.sql.functions.struct;

import io.lethe.internal.registry.ModelForm;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PredictionModel;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.classification.ProbabilisticClassificationModel;
import org.apache.spark.ml.feature.ImputerModel;
import org.apache.spark.ml.feature.OneHotEncoderModel;
import org.apache.spark.ml.feature.StandardScalerModel;
import org.apache.spark.ml.feature.StringIndexerModel;
import org.apache.spark.ml.feature.VectorAssembler;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.ByteType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DoubleType;
import org.apache.spark.sql.types.FloatType;
import org.apache.spark.sql.types.IntegerType;
import org.apache.spark.sql.types.LongType;
import org.apache.spark.sql.types.ShortType;
import org.apache.spark.sql.types.StructType;

/**
 * Scores every sub-model of an ensemble on a row in one function call: the row's raw feature
 * values go in once, each sub-model's preprocessing (imputer, string indexers, one-hot, assembler,
 * scaler) runs on plain Java values, and its fitted estimator predicts on the resulting vector.
 * Running the sub-models' pipelines as Spark stages instead costs a dozen vector columns per
 * sub-model per row (each serialised between stages), which makes an S-model ensemble S times
 * slower than one model; this does the same arithmetic in the same order, so its outputs are the
 * pipelines' outputs, at a fraction of the cost.
 *
 * <p>Only pipelines of the stages Lethe builds (imputer, string indexers, one-hot encoder, vector
 * assembler, scaler without centring, then any spark.ml predictor) are compiled ({@link #compile} returns empty
 * otherwise, and the ensemble falls back to running the stages).
 */
final class FusedScorer implements Serializable {
  private static final long serialVersionUID = 1L;

  /** How a raw input column is read: as a double (numeric features) or as a string (categorical). */
  enum Kind { DOUBLE, STRING }

  private final LinkedHashMap<String, Kind> inputs;
  private final List<Program> programs;
  private final double[] weights;
  private final boolean hard;
  private final int classes;

  private FusedScorer(LinkedHashMap<String, Kind> inputs, List<Program> programs, double[] weights, boolean hard,
      int classes) {
    this.inputs = inputs;
    this.programs = programs;
    this.weights = weights;
    this.hard = hard;
    this.classes = classes;
  }

  /**
   * The row the scorer's functions take: each raw column it reads, by name and cast as it reads it,
   * then {@code extra} (read after the inputs, as {@link #classProbabilities} reads its label).
   */
  Column inputRow(Column... extra) {
    List<Column> columns = new ArrayList<>();
    inputs.forEach((name, kind) -> columns.add(ShardColumns.named(name)
        .cast(kind == Kind.DOUBLE ? "double" : "string")));
    columns.addAll(List.of(extra));
    return struct(columns.toArray(new Column[0]));
  }

  /**
   * Compiles the sub-models for rows of the given schema, or returns empty if a stage, a parameter
   * or a column type is outside what this scorer reproduces exactly.
   */
  static Optional<FusedScorer> compile(List<PipelineModel> subModels, StructType schema, double[] weights,
      boolean hard, int classes) {
    LinkedHashMap<String, Kind> inputs = new LinkedHashMap<>();
    List<Program> programs = new ArrayList<>();
    for (PipelineModel subModel : subModels) {
      Optional<Program> program = Program.compile(subModel, schema, inputs);
      if (program.isEmpty()) {
        return Optional.empty();
      }
      programs.add(program.get());
    }
    return Optional.of(new FusedScorer(inputs, programs, weights.clone(), hard, classes));
  }

  /** The combined vote of a classification ensemble: weighted sum of probabilities or of one-hot predictions. */
  Vector classify(Row row) {
    Object[] raw = read(row);
    double[] sum = new double[classes];
    for (int i = 0; i < programs.size(); i++) {
      Program p = programs.get(i);
      if (!hard && p.binomial != null) {
        double[] probability = p.binomialProbability(raw);
        if (probability != null) {
          sum[0] += weights[i] * probability[0];
          sum[1] += weights[i] * probability[1];
          continue;
        }
      }
      Vector features = p.features(raw);
      if (hard || !(p.model instanceof ProbabilisticClassificationModel)) {
        sum[(int) p.model.predict(features)] += weights[i];
      } else {
        double[] probability = ((ProbabilisticClassificationModel<Vector, ?>) p.model).predictProbability(features)
            .toArray();
        for (int c = 0; c < classes; c++) {
          sum[c] += weights[i] * probability[c];
        }
      }
    }
    return Vectors.dense(sum);
  }

  /**
   * Each sub-model's probability of one class, in the order compiled: the class is the row's field
   * after the inputs (a label index, as a double). What each pipeline's probability column holds at
   * that index; every sub-model must be a probabilistic classifier ({@link #probabilistic}).
   */
  double[] classProbabilities(Row row) {
    Object[] raw = read(row);
    int label = (int) row.getDouble(inputs.size());
    double[] out = new double[programs.size()];
    for (int i = 0; i < out.length; i++) {
      Program p = programs.get(i);
      double[] probability = p.binomial != null ? p.binomialProbability(raw) : null;
      out[i] = probability != null ? probability[label]
          : ((ProbabilisticClassificationModel<Vector, ?>) p.model).predictProbability(p.features(raw)).apply(label);
    }
    return out;
  }

  /** Whether every sub-model's estimator gives class probabilities. */
  boolean probabilistic() {
    return programs.stream().allMatch(p -> p.model instanceof ProbabilisticClassificationModel);
  }

  /** The weighted mean prediction of a regression ensemble. */
  double regress(Row row) {
    Object[] raw = read(row);
    double sum = 0.0;
    for (int i = 0; i < programs.size(); i++) {
      Program p = programs.get(i);
      sum = sum + p.model.predict(p.features(raw)) * weights[i];
    }
    return sum;
  }

  private Object[] read(Row row) {
    Object[] raw = new Object[inputs.size()];
    for (int i = 0; i < raw.length; i++) {
      raw[i] = row.get(i);
    }
    return raw;
  }

  /**
   * One sub-model as a flat plan: where each part of its assembled feature vector comes from (a
   * numeric input, imputed or not, or a categorical input indexed and one-hot encoded), the
   * scaler's factors, and its fitted estimator.
   */
  private static final class Program implements Serializable {
    private static final long serialVersionUID = 1L;
    private final FeaturePart[] parts;
    private final int width;
    private final double[] scale;
    private final PredictionModel<Vector, ?> model;
    /** The coefficients then intercept of a model scored as the logistic of one margin, else null. */
    private final double[] binomial;

    private Program(FeaturePart[] parts, int width, double[] scale, PredictionModel<Vector, ?> model) {
      this.parts = parts;
      this.width = width;
      this.scale = scale;
      this.model = model;
      // A model whose entry declares its probability the logistic of one margin (binomial logistic regression).
      ModelForm form = ModelForm.of(model);
      this.binomial = form == null ? null : form.logisticMargin(model, width);
    }

    /**
     * A binomial logistic model's class probabilities without building vectors, when the
     * assembled features are sparse: the margin summed over the non-zeros in index order plus the
     * intercept, then p0 = 1 / (1 + e^margin) and p1 = 1 - p0, as Spark's sparse dot and
     * LogisticRegressionModel's raw-to-probability do. Null when the features are dense (Spark's dense dot sums in
     * another order: the caller goes through the model).
     */
    double[] binomialProbability(Object[] raw) {
      double[] dense = new double[width];
      if (!isSparse(fill(raw, dense))) {
        return null;
      }
      double margin = 0.0;
      for (int i = 0; i < width; i++) {
        if (dense[i] != 0.0) {
          margin += (scale == null ? dense[i] : dense[i] * scale[i]) * binomial[i];
        }
      }
      margin = margin + binomial[width];
      double negative = 1.0 / (1.0 + Math.exp(margin));
      return new double[] {negative, 1.0 - negative};
    }

    /** Whether Spark's {@code Vector.compressed} keeps an assembled vector with these non-zeros sparse. */
    private boolean isSparse(int nonZeros) {
      return 1.5 * (nonZeros + 1.0) < width;
    }

    /** Writes the assembled (unscaled) features into dense; returns the number of non-zeros. */
    private int fill(Object[] raw, double[] dense) {
      int nonZeros = 0;
      for (FeaturePart part : parts) {
        if (part.labels() != null) {
          int at = part.categoryOf((String) raw[part.input()]);
          if (at < part.width()) {
            dense[part.offset() + at] = 1.0;
            nonZeros++;
          }
        } else {
          double v = part.numeric((Double) raw[part.input()]);
          if (v != 0.0) {
            dense[part.offset()] = v;
            nonZeros++;
          }
        }
      }
      return nonZeros;
    }

    /**
     * The estimator's input vector for a row: what VectorAssembler then StandardScaler build, in the
     * same representation (sparse when Spark's {@code compressed} picks sparse), so the estimator
     * does the same arithmetic.
     */
    Vector features(Object[] raw) {
      double[] dense = new double[width];
      int nonZeros = fill(raw, dense);
      if (isSparse(nonZeros)) {
        int[] indices = new int[nonZeros];
        double[] values = new double[nonZeros];
        int k = 0;
        for (int i = 0; i < width; i++) {
          if (dense[i] != 0.0) {
            indices[k] = i;
            values[k] = scale == null ? dense[i] : dense[i] * scale[i];
            k++;
          }
        }
        return Vectors.sparse(width, indices, values);
      }
      if (scale != null) {
        for (int i = 0; i < width; i++) {
          dense[i] *= scale[i];
        }
      }
      return Vectors.dense(dense);
    }

    @SuppressWarnings("unchecked")
    static Optional<Program> compile(PipelineModel pipeline, StructType schema, LinkedHashMap<String, Kind> inputs) {
      Transformer[] stages = pipeline.stages();
      if (stages.length < 2 || !(stages[stages.length - 1] instanceof PredictionModel<?, ?> last)) {
        return Optional.empty();
      }
      Map<String, FeaturePart> imputed = new HashMap<>();
      Map<String, FeaturePart> indexed = new HashMap<>();
      Map<String, FeaturePart> encoded = new HashMap<>();
      List<FeaturePart> parts = null;
      String assembled = null;
      int width = 0;
      double[] scale = null;
      String features = null;
      for (int s = 0; s < stages.length - 1; s++) {
        Transformer stage = stages[s];
        if (stage instanceof ImputerModel m && parts == null) {
          double[] surrogates = m.surrogates();
          for (int i = 0; i < m.getInputCols().length; i++) {
            String in = m.getInputCols()[i];
            int cast = castKind(schema, in);
            Integer input = input(schema, inputs, in, Kind.DOUBLE);
            if (input == null || cast < 0) {
              return Optional.empty();
            }
            imputed.put(m.getOutputCols()[i], FeaturePart.numeric(input, true, surrogates[i], m.getMissingValue(), cast));
          }
        } else if (stage instanceof StringIndexerModel m && parts == null
            && List.of("keep", "error").contains(m.getHandleInvalid())) {
          for (int i = 0; i < m.getInputCols().length; i++) {
            Integer input = input(schema, inputs, m.getInputCols()[i], Kind.STRING);
            if (input == null) {
              return Optional.empty();
            }
            indexed.put(m.getOutputCols()[i], FeaturePart.indexed(input, m.labelsArray()[i], "keep".equals(m.getHandleInvalid())));
          }
        } else if (stage instanceof OneHotEncoderModel m && parts == null) {
          for (int i = 0; i < m.getInputCols().length; i++) {
            FeaturePart index = indexed.get(m.getInputCols()[i]);
            if (index == null) {
              return Optional.empty();
            }
            encoded.put(m.getOutputCols()[i], index.encoded(m.categorySizes()[i], m.getDropLast(),
                "keep".equals(m.getHandleInvalid())));
          }
        } else if (stage instanceof VectorAssembler m && parts == null && "error".equals(m.getHandleInvalid())) {
          parts = new ArrayList<>();
          for (String in : m.getInputCols()) {
            FeaturePart part = imputed.containsKey(in) ? imputed.get(in) : encoded.get(in);
            if (part == null) {
              Integer input = input(schema, inputs, in, Kind.DOUBLE);
              if (input == null) {
                return Optional.empty();
              }
              part = FeaturePart.numeric(input, false, 0, 0, 0);
            }
            parts.add(part.at(width));
            width += part.width();
          }
          assembled = m.getOutputCol();
          features = assembled;
        } else if (stage instanceof StandardScalerModel m && assembled != null && scale == null
            && m.getInputCol().equals(assembled) && !m.getWithMean()) {
          double[] std = m.std().toArray();
          scale = new double[std.length];
          for (int i = 0; i < std.length; i++) {
            scale[i] = !m.getWithStd() ? 1.0 : std[i] != 0.0 ? 1.0 / std[i] : 0.0;
          }
          features = m.getOutputCol();
        } else {
          return Optional.empty();
        }
      }
      if (parts == null || !last.getFeaturesCol().equals(features)) {
        return Optional.empty();
      }
      return Optional.of(new Program(parts.toArray(new FeaturePart[0]), width, scale, (PredictionModel<Vector, ?>) last));
    }

    /** The slot of a raw input column read as the given kind; null if missing or read as another kind. */
    private static Integer input(StructType schema, LinkedHashMap<String, Kind> inputs, String column, Kind kind) {
      if (!List.of(schema.fieldNames()).contains(column)) {
        return null;
      }
      Kind known = inputs.putIfAbsent(column, kind);
      if (known != null && known != kind) {
        return null;
      }
      return new ArrayList<>(inputs.keySet()).indexOf(column);
    }

    /** How an imputed value is cast back to its column's type: 0 double, 1 float, 2 integral; -1 unsupported. */
    private static int castKind(StructType schema, String column) {
      if (!List.of(schema.fieldNames()).contains(column)) {
        return -1;
      }
      DataType type = schema.apply(column).dataType();
      if (type instanceof DoubleType) {
        return 0;
      }
      if (type instanceof FloatType) {
        return 1;
      }
      if (type instanceof IntegerType || type instanceof LongType || type instanceof ShortType
          || type instanceof ByteType) {
        return 2;
      }
      return -1;
    }
  }

}
