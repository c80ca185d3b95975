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
    return fit(shards, version, keepStatistics, null, Map.of());
  }

  /**
   * Fits the given shards on a store version without the rows a pending delete removes (those whose
   * column holds one of the ids; none when {@code pending} is null) and with rows added to some
   * shards in place of some of their own ({@link ShardTrainer.AddedRows}: a few, for shadow
   * models), in one Spark job. Null when the rows cannot be left out or added in the tasks (a
   * column's type needs Spark's cast).
   */
  Fitted fit(List<Integer> shards, long version, boolean keepStatistics, PendingDelete pending,
      Map<Integer, ShardTrainer.AddedRows> added) {
    StoreLayout layout = store.layout();
    List<Integer> order = shards.stream().sorted().distinct().toList();
    // Per shard: the estimator's seed is the shard's.
    // The strategy's own fit in the task where it applies to these settings (else forgetting
    // retrains, and the estimator's own fit is what a retrain gives).
    boolean strategyApplies = ShardTrainer.unsupported(layout, settings).isEmpty();
    List<LocalFit> tasks = new ArrayList<>();
    for (int shard : order) {
      LocalFit usual = solver().task(ShardPipeline.estimator(layout, settings, shard), layout.labelClasses().size());
      tasks.add(usual == null || !strategyApplies ? usual : settings.strategy().localFit(usual));
    }
    ShardStatistics empty = ExactStatistics.empty(layout);
    Dataset<Row> atVersion = store.read(version);
    StatisticsModel statisticsModel = new StatisticsModel(layout, settings, atVersion.schema());
    FeatureSpec featureSpec = statisticsModel.featureSpec();
    // The shard goes after the label, where the statistics do not read.
    List<Column> columns = new ArrayList<>(List.of(ExactStatistics.columns(layout, layout.labelIndex())));
    columns.add(col(StoreLayout.SHARD_COLUMN));
    int shardAt = columns.size() - 1;
    Optional<ShardReader> reader = ShardReader.of(store, version, atVersion.schema())
        .map(r -> pending == null ? r : r.excluding(pending.column(), pending.ids()));
    if ((pending != null || !added.isEmpty()) && reader.isEmpty()) {
      return null;
    }
    JavaRDD<TaskFit> fitting;
    if (reader.isPresent()) {
      // Each task reads its own shard's files (Delta Kernel, deletion vectors applied) and fits it:
      // one job, one stage, no Delta query planning and no shuffle.
      ShardReader read = reader.get();
      Map<Integer, ShardTrainer.AddedRows> extra = new TreeMap<>(added);
      fitting = JavaSparkContext.fromSparkContext(store.spark().sparkContext()).parallelize(order, order.size())
          .mapPartitionsWithIndex((index, ignored) -> List.of(fitInTask(order.get(index),
              withAdded(read.rows(order.get(index)), extra.get(order.get(index))), empty,
              featureSpec, tasks.get(index))).iterator(), true);
    } else {
      // Columns whose cast to the training types only Spark does exactly: Delta's read, then the
      // rows routed to one task per shard. Planning the read may run jobs of its own.
      RowCodec codec = new RowCodec(layout.numericFeatures().size(), layout.categoricalFeatures().size());
      fitting = atVersion.where(col(StoreLayout.SHARD_COLUMN).isin(order.toArray()))
          .select(columns.toArray(new Column[0])).javaRDD()
          .mapToPair(row -> new Tuple2<>(row.getInt(shardAt), codec.encode(row)))
          .partitionBy(new ShardPartitioner(order))
          .mapPartitionsWithIndex((index, rows) -> List.of(fitInTask(order.get(index), decoded(rows, codec), empty,
              featureSpec, tasks.get(index))).iterator(), true);
    }
    SparkContext context = store.spark().sparkContext();
    String description = context.getLocalProperty("spark.job.description");
    context.setJobDescription("lethe: fit shards " + order + " in tasks at store version " + version);
    List<TaskFit> fits;
    try {
      fits = fitting.collect();
    } finally {
      context.setJobDescription(description);
    }
    Map<Integer, ShardTrainer.FittedShard> models = new TreeMap<>();
    Map<Integer, String> toJobs = new TreeMap<>();
    for (TaskFit fit : fits) {
      if (fit.error() != null) {
        throw new LetheException("Training shard " + fit.shard() + " failed: " + fit.error());
      }
      LOG.info("Shard {}: {} rows fitted in {} s in a task on executor {}{}", fit.shard(), fit.rows(),
          String.format("%.2f", fit.seconds()), fit.executor(), fit.fitted() == null ? ""
          : tasks.get(order.indexOf(fit.shard())).describe(fit.fitted()));
      try {
        models.put(fit.shard(), fit.rows() == 0 ? null : model(fit, statisticsModel, keepStatistics));
      } catch (StatisticsModel.SingularException e) {
        toJobs.put(fit.shard(), e.getMessage());
      }
    }
    return new Fitted(models, toJobs);
  }

  /** A shard's rows, each kept with the added rows' probability, then the rows added to it. */
  private static Iterator<Row> withAdded(Iterator<Row> rows, ShardTrainer.AddedRows added) {
    if (added == null) {
      return rows;
    }
    java.util.SplittableRandom random = new java.util.SplittableRandom(added.seed());
    Iterator<Row> more = added.rows().iterator();
    return new Iterator<>() {
      private Row next;
      private boolean read; // the shard's reader must not be asked again once it has ended

      @Override
      public boolean hasNext() {
        while (next == null && !read) {
          if (!rows.hasNext()) {
            read = true;
          } else {
            Row own = rows.next();
            next = random.nextDouble() < added.keepOwn() ? own : null;
          }
        }
        return next != null || more.hasNext();
      }

      @Override
      public Row next() {
        if (!hasNext()) {
          throw new java.util.NoSuchElementException();
        }
        if (next != null) {
          Row out = next;
          next = null;
          return out;
        }
        return more.next();
      }
    };
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
  private static TaskFit fitInTask(int shard, Iterator<Row> rows, ShardStatistics empty,
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

  private static String executor() {
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
