package io.lethe.internal.train;

import static org.apache.spark.sql.functions.col;

import io.lethe.LetheException;
import io.lethe.internal.engine.FeatureSpec;
import io.lethe.internal.engine.LocalFit;
import io.lethe.internal.engine.RowCodec;
import io.lethe.internal.engine.ShardRows;
import io.lethe.internal.engine.ShardStatistics;
import io.lethe.internal.registry.ModelRegistry;
import io.lethe.internal.store.ShardReader;
import io.lethe.internal.store.ShardedStore;
import io.lethe.types.StoreLayout;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.apache.spark.Partitioner;
import org.apache.spark.SparkContext;
import org.apache.spark.SparkEnv;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;

/**
 * The task engine: one Spark job reads the shards to fit and routes each shard's rows to a task
 * of its own (a partitioner with one partition per shard, so no two shards share a task). The
 * task sums the shard's statistics and, when the estimator's solver fits rows (a linear objective
 * solved with breeze, trees), featurizes its rows as the fitted stages would and fits them; it
 * returns the fitted values, and the driver builds the spark.ml stage models from them: imputer,
 * indexers, one-hot, scaler from the statistics, then the estimator's model.
 */
final class TaskEngine {
  private static final Logger LOG = LoggerFactory.getLogger(TaskEngine.class);
  private final ShardedStore store;
  private final TrainSettings settings;

  TaskEngine(ShardedStore store, TrainSettings settings) {
    this.store = store;
    this.settings = settings;
  }

  /**
   * Why the task engine cannot fit these settings (the strategy trains with a solver of its own,
   * the estimator has no local solver, or a parameter it does not cover), or empty when it can.
   */
  static Optional<String> unsupported(StoreLayout layout, TrainSettings settings) {
    if (settings.hasPipeline()) {
      return Optional.of("train.pipeline is the user's own pipeline: spark.ml's fit runs its stages");
    }
    Optional<String> ownSolver = settings.strategy().ownSolver();
    if (ownSolver.isPresent()) {
      return ownSolver;
    }
    if (!Estimators.builtIn(settings.estimator())) {
      return Optional.of("the estimator " + settings.estimator() + " is the user's own class: spark.ml's fit runs it");
    }
    Optional<LocalSolver> local = Estimators.localSolver(settings.estimator());
    if (local.isEmpty()) {
      return Optional.of("the estimator " + settings.estimator() + " has no local solver yet");
    }
    return local.get().unsupported(ShardPipeline.estimator(layout, settings, 0), layout, settings);
  }

  /** The rows a delete not yet committed will remove: those whose column holds one of the ids. */
  record PendingDelete(String column, Collection<String> ids) {}

  /** What one task sends back: the shard's statistics and, when the solver fits rows in the task, its fit. */
  record TaskFit(int shard, long rows, ShardStatistics statistics, Serializable fitted, double seconds,
      String executor, String error) implements Serializable {}

  /**
   * What one job fitted: a sub-model per shard (null for a shard with no rows), and the shards
   * whose model the statistics cannot give as spark.ml would (singular normal equations, which
   * spark.ml solves iteratively), with why, for the jobs engine.
   */
  record Fitted(Map<Integer, ShardTrainer.FittedShard> models, Map<Integer, String> toJobs) {}

  /** Fits the given shards on a store version in one Spark job, one task per shard. */
  Fitted fit(List<Integer> shards, long version, boolean keepStatistics) {
    return fit(shards, version, keepStatistics, null);
  }

  /**
   * Fits the given shards on a store version without the rows a pending delete removes (those whose
   * column holds one of the ids; none when {@code pending} is null), in one Spark job. Null when
   * the rows cannot be left out in the tasks (a column's type needs Spark's cast).
   */
  Fitted fit(List<Integer> shards, long version, boolean keepStatistics, PendingDelete pending) {
    StoreLayout layout = store.layout();
    List<Integer> order = shards.stream().sorted().distinct().toList();
    Job job = new Job(version);
    // Each task's fit, in the tasks' order (also the order their results come back in).
    List<LocalFit> tasks = order.stream().map(this::localFit).collect(Collectors.toList());
    JavaRDD<TaskFit> fitting;
    List<Integer> returned = null; // the shards' order, as the tasks return their fits (null: in order)
    if (job.reader.isPresent()) {
      Map.Entry<JavaRDD<TaskFit>, List<Integer>> inTasks = job.inTasks(tasks, order.stream().map(s -> pending == null
          ? new ShardTrainer.Variant(s, null, List.of(), null)
          : new ShardTrainer.Variant(s, pending.column(), pending.ids(), null)).toList());
      fitting = inTasks.getKey();
      returned = inTasks.getValue();
    } else if (pending != null) {
      return null;
    } else {
      // Columns whose cast to the training types only Spark does exactly: Delta's read, then the
      // rows routed to one task per shard. Planning the read may run jobs of its own.
      // The shard goes after the label, where the statistics do not read.
      List<Column> columns = new ArrayList<>(List.of(ExactStatistics.columns(layout, layout.labelIndex())));
      columns.add(col(StoreLayout.SHARD_COLUMN));
      int shardAt = columns.size() - 1;
      RowCodec codec = new RowCodec(layout.numericFeatures().size(), layout.categoricalFeatures().size());
      ShardStatistics empty = job.empty;
      FeatureSpec featureSpec = job.featureSpec;
      fitting = job.atVersion.where(col(StoreLayout.SHARD_COLUMN).isin(order.toArray()))
          .select(columns.toArray(new Column[0])).javaRDD()
          .mapToPair(row -> new Tuple2<>(row.getInt(shardAt), codec.encode(row)))
          .partitionBy(new ShardPartitioner(order))
          .mapPartitionsWithIndex((index, rows) -> List.of(fitInTask(order.get(index), decoded(rows, codec), empty,
              featureSpec, tasks.get(index))).iterator(), true);
    }
    Map<Integer, ShardTrainer.FittedShard> models = new TreeMap<>();
    Map<Integer, String> toJobs = new TreeMap<>();
    for (TaskFit fit : job.collect(fitting, returned, tasks, "shards " + order)) {
      try {
        models.put(fit.shard(), fit.rows() == 0 ? null : model(fit, job.statisticsModel, keepStatistics));
      } catch (StatisticsModel.SingularException e) {
        toJobs.put(fit.shard(), e.getMessage());
      }
    }
    return new Fitted(models, toJobs);
  }

  /**
   * Fits each variant in a task of its own, all in one Spark job (a shard may come in several):
   * the sub-models in memory, in the variants' order (null for a fit with no rows). Empty when
   * the rows cannot be read in the tasks (a column's type needs Spark's cast) or the statistics
   * cannot solve a fit (see {@link Fitted}).
   */
  Optional<List<ShardTrainer.FittedShard>> fitEach(List<ShardTrainer.Variant> variants, long version) {
    Job job = new Job(version);
    if (job.reader.isEmpty()) {
      return Optional.empty();
    }
    List<LocalFit> tasks = variants.stream().map(v -> localFit(v.shard())).collect(Collectors.toList());
    List<ShardTrainer.FittedShard> models = new ArrayList<>();
    Map.Entry<JavaRDD<TaskFit>, List<Integer>> fitting = job.inTasks(tasks, variants);
    for (TaskFit fit : job.collect(fitting.getKey(), fitting.getValue(), tasks, variants.size()
        + " variants of shards " + variants.stream().map(ShardTrainer.Variant::shard).distinct().sorted().toList())) {
      try {
        models.add(fit.rows() == 0 ? null : model(fit, job.statisticsModel, false));
      } catch (StatisticsModel.SingularException e) {
        return Optional.empty();
      }
    }
    return Optional.of(models);
  }

  /** The shard's fit in a task: the estimator's local solver, or the strategy's own where it applies. */
  private LocalFit localFit(int shard) {
    StoreLayout layout = store.layout();
    LocalFit usual = solver().task(ShardPipeline.estimator(layout, settings, shard), layout.labelClasses().size());
    // The strategy's own fit in the task where it applies to these settings (else forgetting
    // retrains, and the estimator's own fit is what a retrain gives).
    return usual == null || !ShardTrainer.unsupported(layout, settings).isEmpty() ? usual
        : settings.strategy().localFit(usual);
  }

  /** What one fitting job reads: the version's schema, its statistics' model and, where it can, a Kernel reader. */
  private final class Job {
    final long version;
    final Dataset<Row> atVersion;
    final StatisticsModel statisticsModel;
    final FeatureSpec featureSpec;
    final ShardStatistics empty;
    final Optional<ShardReader> reader;

    Job(long version) {
      this.version = version;
      this.atVersion = store.read(version);
      this.statisticsModel = new StatisticsModel(store.layout(), settings, atVersion.schema());
      this.featureSpec = statisticsModel.featureSpec();
      this.empty = ExactStatistics.empty(store.layout());
      this.reader = ShardReader.of(store, version, atVersion.schema());
    }

    /**
     * Each task reads its variants' shard files (Delta Kernel, deletion vectors applied) once and
     * fits them ({@link VariantTasks}): one job, one stage, no Delta query planning and no shuffle.
     * The fits come back in the tasks' order, with the index of each one's variant.
     */
    Map.Entry<JavaRDD<TaskFit>, List<Integer>> inTasks(List<LocalFit> fits, List<ShardTrainer.Variant> variants) {
      ShardReader read = reader.orElseThrow();
      List<List<Integer>> tasks = VariantTasks.of(variants, VariantTasks.parallelism(store.spark().sparkContext()));
      List<ShardReader> readers = new ArrayList<>();
      List<Integer> shards = new ArrayList<>();
      List<List<ShardTrainer.AddedRows>> added = new ArrayList<>();
      List<List<LocalFit>> solvers = new ArrayList<>();
      for (List<Integer> task : tasks) {
        ShardTrainer.Variant v = variants.get(task.get(0));
        readers.add(v.without().isEmpty() ? read : read.excluding(v.column(), v.without()));
        shards.add(v.shard());
        added.add(task.stream().map(i -> variants.get(i).added()).collect(Collectors.toList()));
        solvers.add(task.stream().map(fits::get).collect(Collectors.toList()));
      }
      ShardStatistics none = empty;
      FeatureSpec spec = featureSpec;
      JavaRDD<TaskFit> fitting = JavaSparkContext.fromSparkContext(store.spark().sparkContext())
          .parallelize(shards, shards.size())
          .mapPartitionsWithIndex((index, ignored) -> VariantTasks.fit(shards.get(index),
              readers.get(index).rows(shards.get(index)), added.get(index), none, spec, solvers.get(index)).iterator(),
              true);
      return Map.entry(fitting, tasks.stream().flatMap(List::stream).toList());
    }

    /**
     * Runs the job of these fits, described by what it fits, and gives them in the variants' order
     * ({@code order}: the variant of each fit as the tasks return them; null for that order); a
     * task's failure is thrown.
     */
    List<TaskFit> collect(JavaRDD<TaskFit> fitting, List<Integer> order, List<LocalFit> tasks, String what) {
      SparkContext context = store.spark().sparkContext();
      String description = context.getLocalProperty("spark.job.description");
      context.setJobDescription("lethe: fit " + what + " in tasks at store version " + version);
      List<TaskFit> fits;
      try {
        List<TaskFit> returned = fitting.collect();
        fits = new ArrayList<>(returned);
        for (int i = 0; order != null && i < order.size(); i++) {
          fits.set(order.get(i), returned.get(i));
        }
      } finally {
        context.setJobDescription(description);
      }
      for (int i = 0; i < fits.size(); i++) {
        TaskFit fit = fits.get(i);
        if (fit.error() != null) {
          throw new LetheException("Training shard " + fit.shard() + " failed: " + fit.error());
        }
        LOG.info("Shard {}: {} rows fitted in {} s in a task on executor {}{}", fit.shard(), fit.rows(),
            String.format("%.2f", fit.seconds()), fit.executor(), fit.fitted() == null ? ""
            : tasks.get(i).describe(fit.fitted()));
      }
      return fits;
    }
  }

  private static Iterator<Row> decoded(Iterator<Tuple2<Integer, byte[]>> input, RowCodec codec) {
    return new Iterator<>() {
      @Override
      public boolean hasNext() {
        return input.hasNext();
      }

      @Override
      public Row next() {
        return codec.decode(input.next()._2());
      }
    };
  }

  /** Runs in the shard's task: reads its rows, sums its statistics, fits its featurized rows if the solver does. */
  static TaskFit fitInTask(int shard, Iterator<Row> rows, ShardStatistics empty,
      FeatureSpec featureSpec, LocalFit task) {
    long start = System.nanoTime();
    try {
      ShardRows held = ShardRows.read(rows, empty.copy());
      if (held.size() == 0) {
        return new TaskFit(shard, 0, null, null, (System.nanoTime() - start) / 1e9, executor(), null);
      }
      Serializable fitted = null;
      if (task != null) {
        io.lethe.internal.engine.Features features = StatisticsModel.features(held.statistics(), featureSpec);
        fitted = task.fit(held.featurize(features), features);
      }
      return new TaskFit(shard, held.size(), held.statistics(), fitted, (System.nanoTime() - start) / 1e9,
          executor(), null);
    } catch (LetheException e) {
      // Lethe's messages name columns and counts, never row values.
      return new TaskFit(shard, 0, null, null, 0, executor(), e.getMessage());
    }
  }

  static String executor() {
    return SparkEnv.get() == null ? "?" : SparkEnv.get().executorId();
  }

  /** The shard's PipelineModel, built on the driver from what its task returned. */
  private ShardTrainer.FittedShard model(TaskFit fit, StatisticsModel statisticsModel, boolean keepStatistics) {
    StoreLayout layout = store.layout();
    int shard = fit.shard();
    PipelineModel model;
    Map<String, Object> state = new java.util.HashMap<>();
    if (fit.fitted() == null) {
      model = statisticsModel.build(fit.statistics(), shard);
    } else {
      Serializable fitted = fit.fitted();
      if (fitted instanceof LocalFit.WithState kept) {
        fitted = kept.fitted();
        state.putAll(kept.state());
      }
      List<Transformer> stages = new ArrayList<>(List.of(statisticsModel.features(fit.statistics(), shard)));
      stages.add(solver().model(ShardPipeline.estimator(layout, settings, shard), fitted,
          layout.labelClasses().size()));
      model = new PipelineModel(Identifiable.randomUID("pipeline"), stages.toArray(new Transformer[0]));
    }
    if (keepStatistics) {
      state.put(ModelRegistry.STATISTICS_FILE, fit.statistics());
    }
    return new ShardTrainer.FittedShard(shard, model, fit.rows(), settings.seedFor(shard), fit.seconds(), state,
        Engine.TASKS);
  }

  /** The estimator's local solver (the settings passed {@link #unsupported}). */
  private LocalSolver solver() {
    return Estimators.localSolver(settings.estimator()).orElseThrow(() -> new IllegalStateException(
        "The estimator " + settings.estimator() + " has no local solver"));
  }

  /** One partition per shard to fit, in the given order: no two shards ever share a task. */
  static final class ShardPartitioner extends Partitioner {
    private final Map<Integer, Integer> index = new TreeMap<>();

    ShardPartitioner(List<Integer> shards) {
      for (int i = 0; i < shards.size(); i++) {
        index.put(shards.get(i), i);
      }
    }

    @Override
    public int numPartitions() {
      return index.size();
    }

    @Override
    public int getPartition(Object key) {
      return index.get((Integer) key);
    }

    @Override
    public boolean equals(Object other) {
      return other instanceof ShardPartitioner p && p.index.equals(index);
    }

    @Override
    public int hashCode() {
      return index.hashCode();
    }
  }
}
