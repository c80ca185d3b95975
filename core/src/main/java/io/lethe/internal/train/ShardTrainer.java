package io.lethe.internal.train;

import io.lethe.LetheException;
import io.lethe.internal.model.ShardColumns;
import io.lethe.internal.registry.ModelRegistry;
import io.lethe.internal.run.Futures;
import io.lethe.internal.store.ShardedStore;
import io.lethe.types.StoreLayout;
import io.lethe.types.SubModelEntry;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.Model;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.attribute.AttributeGroup;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fits one sub-model per shard, each on its shard's rows alone. Everything fitted from data
 * (imputer, string indexers, one-hot sizes, scaler, estimator) is inside the shard's pipeline, so
 * no sub-model carries a trace of another shard's rows.
 */
public final class ShardTrainer {
  private static final Logger LOG = LoggerFactory.getLogger(ShardTrainer.class);

  private final ShardedStore store;
  private final TrainSettings settings;
  /** State files of the shards' earlier sub-models, by shard and name, that a strategy's own solver reuses. */
  private final Map<Integer, Map<String, Object>> priorState = new HashMap<>();
  /** The user's pipeline (train.pipeline), read once on first use. */
  private Pipeline userPipeline;

  public ShardTrainer(ShardedStore store, TrainSettings settings) {
    this.store = store;
    this.settings = settings;
  }

  /**
   * A shard's sub-model fitted on that shard's rows as of a store version, by the engine the
   * settings choose; null for an empty shard.
   */
  public FittedShard fitShard(int shard, long version) {
    Engine.Choice choice = chooseEngine(List.of(shard), version);
    if (choice.engine() == Engine.TASKS) {
      TaskEngine.Fitted fitted = new TaskEngine(store, settings).fit(List.of(shard), version, false);
      if (fitted.toJobs().isEmpty()) {
        return fitted.models().get(shard);
      }
    }
    return fitShard(shard, version, Integer.MAX_VALUE, false);
  }

  private FittedShard fitShard(int shard, long version, int maxPartitions, boolean keepStatistics) {
    return fit(shard, store.readShard(shard, version), version, maxPartitions, keepStatistics);
  }

  /**
   * A fitted sub-model and the rows it saw.
   *
   * @param state what the unlearning strategy keeps next to the sub-model, by file name (the
   *     shard's statistics, a certified model's state, the slices' checkpoints)
   * @param engine the engine that fitted it
   */
  public record FittedShard(int shard, PipelineModel model, long rows, long seed, double fitSeconds,
      Map<String, Object> state, Engine engine) {
    public FittedShard {
      state = Map.copyOf(state);
    }
  }

  /**
   * Fits the sub-model of a shard on the given rows (which must be that shard's rows). Returns null
   * when there are none.
   */
  public FittedShard fit(int shard, Dataset<Row> shardRows) {
    return fit(shard, shardRows, -1, Integer.MAX_VALUE, false);
  }

  /**
   * Fits on at most {@code maxPartitions} partitions of the rows (merged without a shuffle): when
   * several shards fit at once, each fit's tasks then take its share of the cores instead of all
   * fits contending for every core.
   */
  private FittedShard fit(int shard, Dataset<Row> shardRows, long version, int maxPartitions,
      boolean keepStatistics) {
    long start = System.nanoTime();
    StoreLayout layout = store.layout();
    Strategy strategy = settings.strategy();
    if (strategy.trainsShards()) {
      return strategy.train(this, shard, shardRows, version, maxPartitions);
    }
    Dataset<Row> selected = shardRows.select(layout.trainingColumns().toArray(new Column[0]));
    if (maxPartitions < Integer.MAX_VALUE) {
      selected = selected.coalesce(maxPartitions);
    }
    Dataset<Row> data = selected.persist(StorageLevel.MEMORY_AND_DISK());
    try {
      long rows = data.count();
      if (rows == 0) {
        return null;
      }
      if (settings.hasPipeline()) {
        PipelineModel model = UserPipeline.forShard(userPipeline(), layout.task(), settings, shard).fit(data);
        return new FittedShard(shard, model, rows, settings.seedFor(shard), (System.nanoTime() - start) / 1e9,
            Map.of(), Engine.JOBS);
      }
      PipelineModel features = ShardPipeline.features(layout, settings, shard).fit(data);
      Dataset<Row> featurized = features.transform(data);
      long seed = settings.seedFor(shard);
      Estimator<?> estimator = ShardPipeline.estimator(layout, settings, shard);
      if (estimator.hasParam("layers")) {
        int width = featureWidth(featurized, ShardColumns.features(shard));
        estimator.set(estimator.getParam("layers"), Estimators.layers(settings, width, layout.labelClasses().size()));
      }
      Map<String, Object> state = new HashMap<>();
      Optional<Strategy.EstimatorFit> own = unsupported(layout, settings).isEmpty()
          ? strategy.fitEstimator(this, shard, features, featurized) : Optional.empty();
      own.ifPresent(o -> state.putAll(o.state()));
      Model<?> fitted = own.isPresent() ? own.get().model() : (Model<?>) estimator.fit(featurized);
      if (keepStatistics) {
        state.put(ModelRegistry.STATISTICS_FILE, ExactStatistics.computeIndexed(data, layout));
      }
      List<PipelineStage> stages = new ArrayList<>(List.of(features.stages()));
      stages.add(fitted);
      // A pipeline of fitted transformers only: fit() just assembles the PipelineModel, it reads no data.
      PipelineModel model = new Pipeline().setStages(stages.toArray(new PipelineStage[0])).fit(data);
      return new FittedShard(shard, model, rows, seed, (System.nanoTime() - start) / 1e9, state, Engine.JOBS);
    } catch (LetheException e) {
      throw e;
    } catch (Exception e) {
      throw new LetheException("Training shard " + shard + " failed: " + LetheException.firstLine(e), e);
    } finally {
      data.unpersist();
    }
  }

  /** The user's pipeline (train.pipeline), read on first use. */
  private synchronized Pipeline userPipeline() {
    if (userPipeline == null) {
      userPipeline = UserPipeline.load(store.spark(), settings.pipeline());
    }
    return userPipeline;
  }

  /**
   * Checks that the user's pipeline, if the settings name one, can fit this store's shards (see
   * {@link UserPipeline#check}); nothing when they use Lethe's own featurization.
   */
  public void checkPipeline(long version) {
    if (settings.hasPipeline()) {
      StructType shardSchema = store.read(version)
          .select(store.layout().trainingColumns().toArray(new Column[0])).schema();
      UserPipeline.check(userPipeline(), settings.pipeline(), store.layout(), shardSchema, settings);
    }
  }

  /**
   * Whether fits keep the shard's statistics with the sub-model: when the strategy is exact
   * statistics and the estimator's parameters allow it (else forgetting retrains the shard).
   */
  public boolean keepsStatistics() {
    if (!settings.strategy().stateFiles().contains(ModelRegistry.STATISTICS_FILE)) {
      return false;
    }
    Optional<String> unsupported = unsupported(store.layout(), settings);
    unsupported.ifPresent(why -> LOG.warn("forget.strategy.{} is {}, but {}; forgetting retrains its shards",
        settings.estimator(), settings.strategy().id(), why));
    return unsupported.isEmpty();
  }

  /**
   * Why the configured strategy cannot apply to these settings (the user's own pipeline, or what
   * the strategy says: the model is not a function of sums of the rows, not a certifiable logistic
   * regression), or empty when it can.
   */
  public static Optional<String> unsupported(StoreLayout layout, TrainSettings settings) {
    if (settings.hasPipeline()) {
      return Optional.of(UserPipeline.RETRAINS);
    }
    return settings.strategy().unsupported(layout, settings);
  }

  /**
   * The same trainer, fitting the given shards with a state file of their earlier sub-models, by
   * the name its strategy gave it: what a strategy's own solver reuses in a retrain (certified
   * removal's noise, in a retrain after removals or verify's retrain).
   */
  public ShardTrainer withPriorState(String name, Map<Integer, ?> byShard) {
    ShardTrainer t = new ShardTrainer(store, settings);
    priorState.forEach((shard, states) -> t.priorState.put(shard, new HashMap<>(states)));
    byShard.forEach((shard, state) -> t.priorState.computeIfAbsent(shard, s -> new HashMap<>()).put(name, state));
    return t;
  }

  /** A state file of a shard's earlier sub-model given by {@link #withPriorState}, as its strategy's type, if any. */
  public <T> Optional<T> priorState(int shard, String name, Class<T> type) {
    return Optional.ofNullable(priorState.getOrDefault(shard, Map.of()).get(name)).map(type::cast);
  }

  public ShardedStore store() {
    return store;
  }

  public TrainSettings settings() {
    return settings;
  }

  private static int featureWidth(Dataset<Row> featurized, String column) {
    int size = AttributeGroup.fromStructField(featurized.schema().apply(column)).size();
    if (size >= 0) {
      return size;
    }
    Vector first = featurized.select(column).head().getAs(0);
    return first.size();
  }

  /**
   * The engine that fits these shards on a store version, and why: as configured, or for
   * {@code auto} tasks when the estimator has a local solver and every shard fits
   * {@code train.task-memory-mb} (see {@link EngineChoice}).
   */
  public Engine.Choice chooseEngine(Collection<Integer> shards, long version) {
    return EngineChoice.choose(store, settings, shards, version);
  }

  /** Sub-model saves at once when no shard fits on the jobs engine. */
  private static final int SAVE_THREADS = 8;

  /**
   * Fits and saves the given shards, all on the same store version. Returns the entries of the
   * non-empty shards. On the task engine all shards are one Spark job; on the jobs engine up to
   * {@code settings.parallelism()} shards fit at a time, each as its own spark.ml fit.
   */
  public List<SubModelEntry> train(Collection<Integer> shards, long version, ModelRegistry registry) {
    if (shards.isEmpty()) {
      return List.of();
    }
    Engine.Choice choice = chooseEngine(shards, version);
    LOG.info("Fitting shards {} on the {} engine: {}", shards, choice.engine().id(), choice.reason());
    boolean keepStatistics = keepsStatistics();
    List<Integer> onJobs = new ArrayList<>(shards);
    Map<Integer, FittedShard> fitted = new TreeMap<>();
    if (choice.engine() == Engine.TASKS) {
      TaskEngine.Fitted tasks = new TaskEngine(store, settings).fit(new ArrayList<>(shards), version, keepStatistics);
      tasks.toJobs().forEach((shard, why) -> LOG.info("Shard {} moves to the jobs engine: {}", shard, why));
      onJobs = new ArrayList<>(tasks.toJobs().keySet());
      fitted.putAll(tasks.models());
    }
    int concurrent = Math.min(settings.parallelism(), shards.size());
    // Each of the concurrent fits gets its share of the cores.
    int partitions = Math.max(1, store.spark().sparkContext().defaultParallelism() / concurrent);
    // Shards the task engine fitted only wait for their saves, which are mostly storage round trips:
    // more of them at once than fits.
    ExecutorService pool = Executors.newFixedThreadPool(onJobs.isEmpty()
        ? Math.min(shards.size(), Math.max(concurrent, SAVE_THREADS)) : concurrent);
    try {
      List<Future<SubModelEntry>> futures = new ArrayList<>();
      for (int shard : shards) {
        boolean byJobs = onJobs.contains(shard);
        futures.add(pool.submit(() -> {
          FittedShard fit = fitted.get(shard);
          if (byJobs) {
            store.spark().sparkContext().setJobDescription("lethe: fit shard " + shard + " at store version " + version);
            fit = fitShard(shard, version, partitions, keepStatistics);
          }
          return save(shard, fit, version, registry);
        }));
      }
      return entries(futures);
    } finally {
      pool.shutdownNow();
    }
  }

  /**
   * Fits the shards in tasks, in memory (nothing saved), on a store version without the rows a
   * delete not yet committed removes: what the version after that delete holds. Empty when they
   * cannot all be fitted so (the settings choose the jobs engine, a column needs Spark's cast, the
   * statistics cannot solve a shard); a shard with no rows left maps to null.
   */
  Optional<Map<Integer, FittedShard>> fitBeforeDelete(List<Integer> shards, long version,
      TaskEngine.PendingDelete pending) {
    return fitInTasks(shards, version, pending);
  }

  private Optional<Map<Integer, FittedShard>> fitInTasks(List<Integer> shards, long version,
      TaskEngine.PendingDelete pending) {
    if (shards.isEmpty() || chooseEngine(shards, version).engine() != Engine.TASKS) {
      return Optional.empty();
    }
    TaskEngine.Fitted fitted = new TaskEngine(store, settings).fit(shards, version, keepsStatistics(), pending);
    if (fitted == null || !fitted.toJobs().isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(fitted.models());
  }

  /**
   * Fits the shards in tasks, in memory, on a store version without the rows whose column holds one
   * of the values (every row when there are none): what a delete of those rows would leave. Empty
   * when they cannot all be fitted so (see {@link #fitBeforeDelete}).
   */
  public Optional<Map<Integer, FittedShard>> fitInTasksWithout(List<Integer> shards, long version, String column,
      Collection<String> values) {
    return fitBeforeDelete(shards, version, values.isEmpty() ? null : new TaskEngine.PendingDelete(column, values));
  }

  /**
   * Rows to fit a shard with that it does not hold, for shadow models: training rows as
   * {@link io.lethe.internal.store.ShardReader#rows} gives them (numeric features as doubles,
   * categorical ones as strings, the label as the estimator reads it, the shard), with each of the
   * shard's own rows kept with probability {@code keepOwn} (drawn with the seed).
   */
  public record AddedRows(List<Row> rows, double keepOwn, long seed) implements java.io.Serializable {
    public AddedRows {
      rows = List.copyOf(rows);
    }
  }

  /**
   * One fit of a shard at a store version: without the rows whose column holds one of the values
   * (none when empty), and with rows added in place of a random share of its own (none when null).
   */
  public record Variant(int shard, String column, Collection<String> without, AddedRows added) {}

  /**
   * Fits each variant in a task, in memory, all in one Spark job (shadow models, a control): the
   * sub-models in the variants' order, null for a fit with no rows. Empty when they cannot all be
   * fitted so (see {@link #fitBeforeDelete}).
   */
  public Optional<List<FittedShard>> fitEachInTasks(List<Variant> variants, long version) {
    List<Integer> shards = variants.stream().map(Variant::shard).distinct().toList();
    return shards.isEmpty() || chooseEngine(shards, version).engine() != Engine.TASKS ? Optional.empty()
        : new TaskEngine(store, settings).fitEach(variants, version);
  }

  /** Saves sub-models fitted in memory as trained on a store version: the entries of the non-empty shards. */
  List<SubModelEntry> save(Map<Integer, FittedShard> fitted, long version, ModelRegistry registry) {
    if (fitted.isEmpty()) {
      return List.of();
    }
    ExecutorService pool = Executors.newFixedThreadPool(Math.min(fitted.size(), SAVE_THREADS));
    try {
      List<Future<SubModelEntry>> futures = new ArrayList<>();
      fitted.forEach((shard, fit) -> futures.add(pool.submit(() -> save(shard, fit, version, registry))));
      return entries(futures);
    } finally {
      pool.shutdownNow();
    }
  }

  private SubModelEntry save(int shard, FittedShard fit, long version, ModelRegistry registry) {
    if (fit == null) {
      LOG.info("Shard {} has no rows at store version {}; it has no sub-model", shard, version);
      return null;
    }
    store.spark().sparkContext().setJobDescription("lethe: save shard " + shard);
    SubModelEntry entry = registry.saveSubModel(shard, version, fit.model(), fit.rows(), fit.seed(),
        fit.fitSeconds(), SubModelEntry.SHARD_RETRAIN, fit.engine().id(), fit.state());
    LOG.info("Fitted shard {} on {} rows in {} s ({} engine)", shard, fit.rows(),
        String.format("%.2f", fit.fitSeconds()), fit.engine().id());
    return entry;
  }

  private static List<SubModelEntry> entries(List<Future<SubModelEntry>> futures) {
    List<SubModelEntry> entries = new ArrayList<>();
    for (Future<SubModelEntry> f : futures) {
      SubModelEntry e = Futures.join(f, "training shards");
      if (e != null) {
        entries.add(e);
      }
    }
    return entries;
  }

  /** Transformers of a fitted sub-model, for callers that inspect it (e.g. coefficients). */
  public static Transformer estimatorModel(PipelineModel subModel) {
    Transformer[] stages = subModel.stages();
    return stages[stages.length - 1];
  }
}
