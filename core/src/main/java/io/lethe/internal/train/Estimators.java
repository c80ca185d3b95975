package io.lethe.internal.train;

import io.lethe.InvalidConfigException;
import io.lethe.LetheException;
import io.lethe.internal.registry.ModelForm;
import io.lethe.types.Task;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.Predictor;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.classification.Classifier;
import org.apache.spark.ml.classification.DecisionTreeClassifier;
import org.apache.spark.ml.classification.GBTClassifier;
import org.apache.spark.ml.classification.LinearSVC;
import org.apache.spark.ml.classification.LogisticRegression;
import org.apache.spark.ml.classification.MultilayerPerceptronClassifier;
import org.apache.spark.ml.classification.NaiveBayes;
import org.apache.spark.ml.classification.RandomForestClassifier;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.regression.DecisionTreeRegressor;
import org.apache.spark.ml.regression.GBTRegressor;
import org.apache.spark.ml.regression.LinearRegression;
import org.apache.spark.ml.regression.RandomForestRegressor;

/**
 * The spark.ml estimators a shard can train, with parameters set from text: Lethe's named ones,
 * which the task engine and the strategies know, and any other spark.ml predictor by its class
 * name, which trains with spark.ml's own fit and forgets by retraining its shards.
 */
public final class Estimators {
  /**
   * A built-in estimator and what it can do: its name in {@code train.estimator}, how to make it
   * for each task it serves (null for a task it does not), how the task engine fits it inside a
   * task (null: it has no local solver, and spark.ml's distributed fit runs it), how its model
   * follows from a shard's sufficient statistics (null: it does not), and the form of its models
   * (null: none declared): how the registry saves one from the driver, its parameters as one vector,
   * which verify compares between a published sub-model and its retrain, and its margin, which the
   * fused scorer sums.
   */
  public record BuiltIn(String name, Supplier<Estimator<?>> classifier, Supplier<Estimator<?>> regressor,
      LocalSolver local, StatisticsFit statistics, ModelForm form) {
    BuiltIn(String name, Supplier<Estimator<?>> classifier, Supplier<Estimator<?>> regressor, LocalSolver local) {
      this(name, classifier, regressor, local, null, null);
    }

    /** The tasks it serves. */
    public List<Task> tasks() {
      List<Task> tasks = new ArrayList<>();
      if (classifier != null) {
        tasks.add(Task.CLASSIFICATION);
      }
      if (regressor != null) {
        tasks.add(Task.REGRESSION);
      }
      return List.copyOf(tasks);
    }

    Estimator<?> make(Task task) {
      return (task == Task.CLASSIFICATION ? classifier : regressor).get();
    }
  }

  /**
   * The registry of built-in estimators, the one place one is added; the task engine and the
   * strategies know them by name. Any other spark.ml predictor is taken by its class name.
   */
  private static final List<BuiltIn> BUILT_INS = List.of(
      new BuiltIn("logistic_regression", LogisticRegression::new, null, LocalSolver.LOGISTIC, null,
          VectorForms.LOGISTIC_REGRESSION),
      new BuiltIn("random_forest", RandomForestClassifier::new, RandomForestRegressor::new, new TreeSolver(TreeSolver.Kind.FOREST)),
      new BuiltIn("gbt", GBTClassifier::new, GBTRegressor::new, new TreeSolver(TreeSolver.Kind.BOOSTED)),
      new BuiltIn("decision_tree", DecisionTreeClassifier::new, DecisionTreeRegressor::new, new TreeSolver(TreeSolver.Kind.TREE)),
      new BuiltIn("linear_svc", LinearSVC::new, null, LocalSolver.LINEAR_SVC, null, VectorForms.LINEAR_SVC),
      new BuiltIn("naive_bayes", NaiveBayes::new, null, LocalSolver.FROM_STATISTICS, new NaiveBayesFit(),
          VectorForms.NAIVE_BAYES),
      new BuiltIn("multilayer_perceptron", MultilayerPerceptronClassifier::new, null, null, null,
          VectorForms.MULTILAYER_PERCEPTRON),
      new BuiltIn("linear_regression", null, LinearRegression::new, LocalSolver.FROM_STATISTICS, new LinearRegressionFit(),
          VectorForms.LINEAR_REGRESSION));

  /** The forms the entries declare, for the layers below (found through META-INF/services). */
  public static final class Forms implements ModelForm.Provider {
    @Override
    public List<ModelForm> forms() {
      return BUILT_INS.stream().map(BuiltIn::form).filter(java.util.Objects::nonNull).toList();
    }
  }

  /** How the task engine fits an estimator in a task, when it is a built-in one that has a local solver. */
  public static Optional<LocalSolver> localSolver(String estimator) {
    return entry(estimator).map(BuiltIn::local);
  }

  /** How a built-in estimator's model follows from a shard's statistics, when it does. */
  public static Optional<StatisticsFit> statisticsFit(String estimator) {
    return entry(estimator).map(BuiltIn::statistics);
  }

  /** The entry of a built-in estimator, by name; empty for a name that is none. */
  private static Optional<BuiltIn> entry(String estimator) {
    return BUILT_INS.stream().filter(b -> b.name().equals(estimator)).findFirst();
  }

  /**
   * A fitted model's parameters as one vector, as the entry of the built-in estimator that makes
   * such models declares them; null for a model no entry knows (trees, a user's own class).
   */
  public static double[] parameters(Transformer model) {
    ModelForm form = ModelForm.of(model);
    return form == null ? null : form.parameters(model);
  }

  /** Every built-in estimator, in registry order. */
  public static List<BuiltIn> builtIns() {
    return BUILT_INS;
  }

  /** Built-in estimator names and the tasks they serve, in registry order. */
  public static final Map<String, List<Task>> NAMES = BUILT_INS.stream()
      .collect(Collectors.toMap(BuiltIn::name, BuiltIn::tasks, (a, b) -> a, LinkedHashMap::new));

  /**
   * Not a spark.ml parameter: the hidden layer sizes of the multilayer perceptron (comma-separated).
   * Its input and output layers follow from each shard's feature width and the store's classes.
   */
  public static final String HIDDEN_LAYERS = "hiddenLayers";

  /** What the ensemble records as its estimator when each shard fits the user's own pipeline (train.pipeline). */
  public static final String PIPELINE = "pipeline";

  private Estimators() {}

  /** Whether the estimator is one of Lethe's named ones (else it is the class name of the user's own). */
  public static boolean builtIn(String estimator) {
    return NAMES.containsKey(estimator);
  }

  /** A new, unfitted estimator with the settings' parameters applied and the given columns. */
  public static Estimator<?> create(TrainSettings settings, Task task, String featuresCol, String labelCol,
      String predictionCol, String probabilityCol, String rawPredictionCol, long seed) {
    Estimator<?> e = builtIn(settings.estimator()) ? named(settings.estimator(), task)
        : ofClass(settings.estimator(), task);
    setIfPresent(e, "featuresCol", featuresCol);
    configure(e, settings, labelCol, predictionCol, probabilityCol, rawPredictionCol, seed);
    return e;
  }

  /**
   * Sets what a shard's predictor reads and writes: the label column, its output columns (those
   * it has), its seed (if it takes one), then the settings' parameters by spark.ml name.
   */
  static void configure(Estimator<?> e, TrainSettings settings, String labelCol, String predictionCol,
      String probabilityCol, String rawPredictionCol, long seed) {
    setIfPresent(e, "labelCol", labelCol);
    setIfPresent(e, "predictionCol", predictionCol);
    setIfPresent(e, "probabilityCol", probabilityCol);
    setIfPresent(e, "rawPredictionCol", rawPredictionCol);
    if (e.hasParam("seed")) {
      e.set(e.getParam("seed"), seed);
    }
    settings.params().forEach((name, value) -> {
      if (!name.equals(HIDDEN_LAYERS)) {
        setParam(e, name, value);
      }
    });
  }

  /**
   * The user's own estimator, by class name: any spark.ml {@link Predictor} with a no-argument
   * constructor (as every spark.ml estimator has) that does the store's task. It reads the shard's
   * features vector and label index as the built-in ones do.
   */
  private static Estimator<?> ofClass(String className, Task task) {
    if (!className.contains(".")) {
      throw new InvalidConfigException("Unknown estimator '" + className + "': use one of " + String.join(", ", NAMES.keySet())
          + ", or the class name of a spark.ml estimator on the classpath");
    }
    Class<?> c;
    try {
      ClassLoader loader = Thread.currentThread().getContextClassLoader();
      c = Class.forName(className, true, loader != null ? loader : Estimators.class.getClassLoader());
    } catch (ClassNotFoundException | LinkageError e) {
      throw new InvalidConfigException("The estimator class " + className + " is not on the classpath: add its jar"
          + " (spark-submit --jars)", e);
    }
    if (!Predictor.class.isAssignableFrom(c)) {
      throw new InvalidConfigException("The estimator class " + className + " is not a spark.ml Predictor: a shard's"
          + " estimator reads a features vector and a label and predicts");
    }
    boolean classifier = Classifier.class.isAssignableFrom(c);
    if (classifier != (task == Task.CLASSIFICATION)) {
      throw new InvalidConfigException("The estimator class " + className + " does not do " + task.id() + " (it is "
          + (classifier ? "a classifier" : "no classifier") + ")");
    }
    try {
      return (Estimator<?>) c.getDeclaredConstructor().newInstance();
    } catch (ReflectiveOperationException e) {
      throw new InvalidConfigException("The estimator class " + className + " cannot be made with no arguments ("
          + LetheException.firstLine(e) + ")", e);
    }
  }

  private static Estimator<?> named(String name, Task task) {
    BuiltIn builtIn = entry(name).orElseThrow();
    if (!builtIn.tasks().contains(task)) {
      throw new InvalidConfigException("The estimator " + name + " does not do " + task.id()
          + "; for " + task.id() + " use one of " + NAMES.entrySet().stream().filter(e -> e.getValue().contains(task))
              .map(Map.Entry::getKey).collect(Collectors.joining(", ")) + ", or an estimator's class name");
    }
    return builtIn.make(task);
  }

  /** The multilayer perceptron's layers: the feature width, the hidden layers, the classes. */
  public static int[] layers(TrainSettings settings, int inputs, int classes) {
    List<Integer> layers = new ArrayList<>();
    layers.add(inputs);
    String hidden = settings.params().getOrDefault(HIDDEN_LAYERS, "16");
    try {
      Arrays.stream(hidden.split(",")).map(String::trim).filter(s -> !s.isEmpty()).map(Integer::parseInt).forEach(layers::add);
    } catch (NumberFormatException ex) {
      throw new InvalidConfigException("train.param." + HIDDEN_LAYERS + " must be comma-separated whole numbers, got '" + hidden + "'");
    }
    layers.add(classes);
    return layers.stream().mapToInt(Integer::intValue).toArray();
  }

  private static void setIfPresent(Estimator<?> e, String name, String value) {
    if (e.hasParam(name)) {
      e.set(e.getParam(name), value);
    }
  }

  @SuppressWarnings("unchecked")
  private static void setParam(Estimator<?> e, String name, String value) {
    if (!e.hasParam(name)) {
      throw new InvalidConfigException("The estimator " + e.getClass().getSimpleName() + " has no parameter '" + name
          + "'; its parameters are " + Arrays.stream(e.params()).map(Param::name).sorted().collect(Collectors.joining(", ")));
    }
    Param<Object> param = (Param<Object>) e.getParam(name);
    try {
      // String parameters are plain Params whose JSON form is quoted; take them as people write them.
      Object decoded = param.getClass() == Param.class ? value : param.jsonDecode(value);
      e.set(param, decoded);
    } catch (Exception ex) {
      throw new InvalidConfigException("Invalid value '" + value + "' for parameter " + name + " of "
          + e.getClass().getSimpleName() + ": " + ex.getMessage(), ex);
    }
  }
}
