package io.lethe.bench;

import io.delta.tables.DeltaTable;
import io.lethe.InvalidConfigException;
import io.lethe.LetheConfig;
import io.lethe.LetheException;
import io.lethe.bench.BenchReport.AccuracyPoint;
import io.lethe.bench.BenchReport.Environment;
import io.lethe.bench.BenchReport.ForgetPoint;
import io.lethe.bench.BenchReport.LedgerPoint;
import io.lethe.bench.BenchReport.Retrain;
import io.lethe.bench.BenchReport.UpdatePoint;
import io.lethe.bench.BenchReport.ScalePoint;
import io.lethe.bench.BenchReport.Scoring;
import io.lethe.bench.BenchReport.StrategyPoint;
import io.lethe.bench.BenchReport.Target;
import io.lethe.bench.BenchReport.TreePoint;
import io.lethe.bench.BenchReport.Workload;
import io.lethe.demo.AdultData;
import io.lethe.internal.forget.ForgetSettings;
import io.lethe.internal.forget.Forgetter;
import io.lethe.internal.forget.Purger;
import io.lethe.internal.ledger.ForgetLedger;
import io.lethe.internal.ledger.LedgerKey;
import io.lethe.internal.model.Aggregation;
import io.lethe.internal.model.Evaluation;
import io.lethe.internal.model.ShardColumns;
import io.lethe.internal.model.ShardEnsembleModel;
import io.lethe.internal.verify.DifferenceAttack;
import io.lethe.internal.verify.MembershipAudit;
import io.lethe.internal.verify.VerifySettings;
import io.lethe.internal.registry.ModelRegistry;
import io.lethe.internal.run.HadoopFiles;
import io.lethe.internal.run.Json;
import io.lethe.internal.store.CommitRetry;
import io.lethe.internal.store.ShardedStore;
import io.lethe.internal.train.Engine;
import io.lethe.internal.train.ShardTrainer;
import io.lethe.internal.train.SingleModel;
import io.lethe.internal.train.Strategy;
import io.lethe.internal.train.TrainSettings;
import io.lethe.internal.train.Training;
import io.lethe.internal.unlearn.Strategies;
import io.lethe.types.AttackResult;
import io.lethe.types.ForgetRequest;
import io.lethe.types.ForgetResult;
import io.lethe.types.IdKind;
import io.lethe.types.IngestResult;
import io.lethe.types.LedgerEntry;
import io.lethe.types.LedgerSummary;
import io.lethe.types.PurgeReport;
import io.lethe.types.ShardMath;
import io.lethe.types.ShardSelection;
import io.lethe.types.ShardUnlearning;
import io.lethe.types.StepCost;
import io.lethe.types.StoreLayout;
import io.lethe.types.SubModelEntry;
import io.lethe.types.TrainResult;
import java.lang.management.ManagementFactory;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.apache.hadoop.fs.Path;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * Measures unlearning against retraining, in one process on one machine, so that every figure is
 * a ratio of two runs under the same conditions: forget of k subjects versus a full retrain of all
 * shards and versus one model on all rows; concurrent versus sequential shard training; ensemble
 * versus single-model scoring; ensemble versus single-model accuracy on Adult as S grows; and cost
 * as the store grows. Data is synthetic ({@link SyntheticData}) except for the accuracy section.
 */
public final class Bench {
  /** The parts of a bench run. forget, concurrency and scoring share one synthetic store. */
  public enum Section {
    FORGET, CONCURRENCY, SCORING, STRATEGIES, TREES, DARE, UPDATE, ACCURACY, SCALE, LEDGER;

    public String id() {
      return name().toLowerCase(Locale.ROOT);
    }

    public static Set<Section> parse(List<String> names) {
      Set<Section> out = EnumSet.noneOf(Section.class);
      for (String n : names) {
        try {
          out.add(valueOf(n.trim().toUpperCase(Locale.ROOT)));
        } catch (IllegalArgumentException e) {
          throw new InvalidConfigException("Unknown bench section '" + n + "'; choose from "
              + java.util.Arrays.stream(values()).map(Section::id).collect(java.util.stream.Collectors.joining(", ")));
        }
      }
      return out;
    }
  }

  /**
   * What to run.
   *
   * @param rows rows of the synthetic store (forget, concurrency, scoring)
   * @param shards shards of the synthetic stores
   * @param batches forget batch sizes k, run in this order on the same store
   * @param scoreRows held-out rows scored by the scoring section
   * @param accuracyShards shard counts of the Adult accuracy section
   * @param scaleRows store sizes of the scale section
   * @param ledgerRequests requests the ledger section records, over {@code ledgerDays} simulated days
   * @param updateDraws random draws of people per batch size in the update section
   * @param repeats runs of the full retrain and of each forget batch size; the median run counts
   * @param adultDir folder with adult.data.gz and adult.test.gz
   * @param workDir where the bench's stores and models go (emptied first, deleted at the end unless keep)
   */
  public record Options(long rows, int shards, List<Integer> batches, long scoreRows, List<Integer> accuracyShards,
      List<Long> scaleRows, long ledgerRequests, int ledgerDays, int updateDraws, int repeats, Set<Section> sections,
      String adultDir, String workDir, long seed, boolean keep) {
    public Options {
      batches = List.copyOf(batches);
      accuracyShards = List.copyOf(accuracyShards);
      scaleRows = List.copyOf(scaleRows);
      sections = Set.copyOf(sections);
      if (rows < 1 || shards < 1 || scoreRows < 1 || ledgerDays < 1 || ledgerRequests < ledgerDays || updateDraws < 1
          || repeats < 1
          || batches.stream().anyMatch(k -> k < 1)
          || accuracyShards.stream().anyMatch(s -> s < 1) || scaleRows.stream().anyMatch(n -> n < 1)) {
        throw new InvalidConfigException("Bench sizes must be positive: rows, shards, batches, score rows, accuracy shards,"
            + " scale rows, update draws and repeats; ledger days, and ledger requests at least one a day");
      }
      if (sections.contains(Section.FORGET) && batches.isEmpty()) {
        throw new InvalidConfigException("The forget section needs at least one batch size");
      }
    }
  }

  /** The ids the ledger section's plan looks up: half of them asked before, half new. */
  private static final int LEDGER_LOOKUP = 100;

  /** The ledger key of the bench: its ids are synthetic row numbers, so a fixed key will do. */
  private static final String BENCH_KEY = "lethe-bench-key-synthetic-data-only";
  private final SparkSession spark;
  private final LetheConfig config;
  private final Options options;
  private final Consumer<String> out;
  private final HadoopFiles files;
  private final Path work;
  private final TrainSettings settings;
  private final Aggregation aggregation;

  public Bench(SparkSession spark, LetheConfig config, Options options, Consumer<String> out) {
    this.spark = spark;
    this.config = config;
    this.options = options;
    this.out = out;
    this.files = new HadoopFiles(spark.sparkContext().hadoopConfiguration());
    this.work = files.qualify(options.workDir());
    this.settings = Strategies.settings(config);
    this.aggregation = Aggregation.parse(config.get(LetheConfig.ENSEMBLE_AGGREGATION));
  }

  public BenchReport run() {
    String startedAt = Instant.now().toString();
    long start = System.nanoTime();
    files.deleteRecursively(work);
    Environment environment = environment();
    out.accept(String.format("Bench on %d cores, Spark %s, %s %s, %d shards at a time", environment.cores(),
        environment.sparkVersion(), settings.estimator(), settings.params(), settings.parallelism()));
    Set<Section> sections = options.sections();
    Workload workload = null;
    BenchReport.Training training = null;
    List<ForgetPoint> forget = new ArrayList<>();
    Retrain retrain = null;
    Scoring scoring = null;
    List<StrategyPoint> strategies = new ArrayList<>();
    List<TreePoint> trees = new ArrayList<>();
    BenchReport.Dare dare = null;
    List<UpdatePoint> update = new ArrayList<>();
    SingleModel single = null;
    try {
      if (sections.contains(Section.FORGET) || sections.contains(Section.CONCURRENCY)
          || sections.contains(Section.SCORING) || sections.contains(Section.STRATEGIES)
          || sections.contains(Section.TREES) || sections.contains(Section.DARE)
          || sections.contains(Section.UPDATE)) {
        SyntheticData data = SyntheticData.of(options.rows(), options.seed());
        Store main = createStore("store", data);
        workload = main.workload;
        Timed<TrainResult> trained = timed(() -> main.training.run(ShardSelection.all()));
        out.accept(String.format("Trained %d shards, %d at a time, in %.1f s (CPU use %.0f%%)", options.shards(),
            settings.parallelism(), trained.seconds, 100 * trained.cpuUse));
        if (sections.contains(Section.CONCURRENCY)) {
          training = concurrency(main, trained.value.storeVersion());
        }
        if (sections.contains(Section.FORGET)) {
          Retrain[] reference = new Retrain[1];
          SingleModel[] singleHolder = new SingleModel[1];
          forget = forgetBatches(main, data, reference, singleHolder);
          retrain = reference[0];
          single = singleHolder[0];
        }
        if (sections.contains(Section.SCORING)) {
          if (single == null) {
            single = SingleModel.fit(main.store, settings, main.store.currentVersion());
          }
          scoring = scoring(main, data, single);
        }
        if (sections.contains(Section.STRATEGIES)) {
          strategies = strategies(main, data);
        }
        if (sections.contains(Section.TREES)) {
          trees = trees(main, data);
        }
        if (sections.contains(Section.DARE)) {
          dare = dare(main, data, trees);
        }
        if (sections.contains(Section.UPDATE)) {
          update = update(main, data);
        }
      }
      List<AccuracyPoint> accuracy = sections.contains(Section.ACCURACY) ? accuracy() : List.of();
      List<ScalePoint> scale = sections.contains(Section.SCALE) ? scale() : List.of();
      List<LedgerPoint> ledger = sections.contains(Section.LEDGER) ? ledger() : List.of();
      List<String> warnings = new ArrayList<>();
      for (int k : options.batches()) {
        ShardMath.advice(options.shards(), k).ifPresent(warnings::add);
      }
      warnings.forEach(w -> out.accept("Warning: " + w));
      List<Target> targets = targets(workload, training, forget, retrain, scoring, strategies, trees, dare, accuracy,
          scale, ledger);
      for (Target t : targets) {
        out.accept(String.format("Target %s: %s, measured %.2f %s: %s", t.name(), t.goal(), t.measured(), t.unit(),
            t.met() ? "met" : "MISSED"));
      }
      return new BenchReport(startedAt, environment, workload, training, forget, retrain, scoring, strategies, trees,
          dare, update, accuracy, scale, ledger, targets, warnings, (System.nanoTime() - start) / 1e9);
    } finally {
      if (!options.keep()) {
        files.deleteRecursively(work);
      }
    }
  }

  /** Writes the report as bench.json and bench.html under a folder; returns the HTML file. */
  public static Path write(HadoopFiles files, String outputDir, BenchReport report) {
    Path dir = files.qualify(outputDir);
    files.mkdirs(dir);
    Path json = new Path(dir, "bench.json");
    Path html = new Path(dir, "bench.html");
    files.overwrite(json, Json.write(report));
    files.overwrite(html, BenchPage.render(report));
    return html;
  }

  private Environment environment() {
    return new Environment(Runtime.getRuntime().availableProcessors(), Runtime.getRuntime().maxMemory() / (double) (1L << 30),
        spark.version(), System.getProperty("java.version"), spark.sparkContext().master(), settings.estimator(),
        settings.params(), settings.parallelism());
  }

  /** A synthetic store with its registry, training and forgetter. */
  private record Store(ShardedStore store, ModelRegistry registry, Training training, Forgetter forgetter,
      ForgetLedger ledger, Workload workload) {}

  private Store createStore(String name, SyntheticData data) {
    LetheConfig storeConfig = config.with(data.storeSettings()).with(Map.of(
        LetheConfig.STORE_SHARDS, Integer.toString(options.shards()),
        LetheConfig.STORE_SALT, "lethe-bench-" + options.seed()));
    String path = new Path(work, name).toString();
    Timed<IngestResult> ingested = timed(() -> ShardedStore.ingest(spark, path, data.generate(spark), storeConfig,
        false));
    ShardedStore store = ShardedStore.open(spark, path);
    long storeFiles = DeltaTable.forPath(spark, store.path()).detail().select("numFiles").head().getLong(0);
    Workload workload = new Workload(ingested.value.rows(), data.subjects(), options.shards(), data.numeric(),
        data.categorical(), data.rowsPerSubject(), data.seed(), ingested.seconds,
        ingested.value.rows() / ingested.seconds, storeFiles);
    out.accept(String.format("Ingested %,d synthetic rows (%,d subjects) into %d shards in %.1f s (%,.0f rows/s,"
        + " %d files)", workload.rows(), workload.subjects(), options.shards(), ingested.seconds,
        workload.ingestRowsPerSecond(), storeFiles));
    ModelRegistry registry = new ModelRegistry(spark, new Path(work, name + "-models").toString());
    Training training = new Training(store, registry, settings, aggregation);
    ForgetSettings forgetSettings = ForgetSettings.from(config.with(Map.of(
        LetheConfig.PURGE_RETENTION_HOURS, "0", LetheConfig.FORGET_PURGE, "false")));
    ForgetLedger ledger = new ForgetLedger(spark, new Path(work, name + "-ledger").toString(),
        config.getInt(LetheConfig.LEDGER_DEADLINE_DAYS), new CommitRetry(forgetSettings.commitAttempts()));
    Forgetter forgetter = new Forgetter(store, registry, training, ledger, LedgerKey.of(BENCH_KEY), forgetSettings);
    return new Store(store, registry, training, forgetter, ledger, workload);
  }

  /**
   * Trains every shard one at a time, then {@code train.parallelism} at a time, on the version the
   * first training read, into scratch registries: both after that first training, so both run on a
   * warm JVM.
   */
  private BenchReport.Training concurrency(Store main, long version) {
    // Concurrency is the jobs engine's answer to its fixed costs; the task engine fits every shard in one job.
    TrainSettings jobs = settings.withEngine(Engine.JOBS);
    TrainSettings oneAtATime = new TrainSettings(settings.estimator(), settings.params(), settings.seed(), 1,
        settings.impute(), settings.scale(), settings.strategy(), jobs.engine(), settings.taskMemoryMb(), settings.pipeline());
    Timed<TrainResult> seq = trainAll(main.store, oneAtATime, version, "sequential-models");
    Timed<TrainResult> concurrent = trainAll(main.store, jobs, version, "concurrent-models");
    double speedup = seq.seconds / concurrent.seconds;
    out.accept(String.format("All %d shards one at a time: %.1f s (CPU use %.0f%%); %d at a time: %.1f s (CPU use"
        + " %.0f%%): concurrency is %.2fx faster", options.shards(), seq.seconds, 100 * seq.cpuUse,
        settings.parallelism(), concurrent.seconds, 100 * concurrent.cpuUse, speedup));
    return new BenchReport.Training(options.shards(), settings.parallelism(), concurrent.seconds, concurrent.cpuUse,
        seq.seconds, seq.cpuUse, speedup);
  }

  /** Every shard trained and published into a scratch registry, which is deleted after. */
  private Timed<TrainResult> trainAll(ShardedStore store, TrainSettings with, long version, String name) {
    ModelRegistry scratch = new ModelRegistry(spark, new Path(work, name).toString());
    Timed<TrainResult> trained = timed(() -> new Training(store, scratch, with, aggregation)
        .run(ShardSelection.all(), version));
    files.deleteRecursively(scratch.root());
    return trained;
  }

  /**
   * The references, then every forget batch size {@code --repeats} times. The references come
   * first, on the trained store: the full retrain {@code --repeats} times (its median run counts),
   * and one model by spark.ml's fit. Then a first forget of one subject, which loads and compiles
   * the forget path's code (reported apart, not counted) and records membership evidence on held-out
   * synthetic rows (its audit timed apart, as the 1-subject batch's audit), and each batch's runs, each on subjects
   * not forgotten before and each followed by its purge, as a run with the purge on would leave the
   * store to the next. So every measured run starts from the same kind of store version: one a
   * purge (VACUUM) has just committed, whose table state Delta has yet to compute. A batch size
   * counts its median run, and reports every run's time.
   */
  private List<ForgetPoint> forgetBatches(Store main, SyntheticData data, Retrain[] reference,
      SingleModel[] single) {
    Random random = new Random(options.seed());
    Set<Long> used = new HashSet<>();
    List<ForgetPoint> points = new ArrayList<>();
    long version = main.store.currentVersion();
    List<Timed<TrainResult>> fullRuns = new ArrayList<>();
    for (int i = 0; i < options.repeats(); i++) {
      fullRuns.add(trainAll(main.store, settings, version, "full-retrain-models"));
    }
    Timed<TrainResult> full = medianRun(fullRuns, t -> t.seconds);
    // spark.ml's fit runs warm, as the shards' engine did: its first fit in a JVM also loads and compiles code.
    new ShardTrainer(main.store, settings.withEngine(Engine.JOBS)).fitShard(0, version);
    Timed<SingleModel> one = timed(() -> SingleModel.fit(main.store, settings, version));
    single[0] = one.value;
    String engine = full.value.published().shards().get(0).engine();
    double save = saveSeconds(main);
    out.accept(String.format("References on store version %d: full retrain of %d shards %.1f s (median of %s s; %s"
        + " engine), one model on all %,d rows %.1f s (spark.ml's fit): %.2fx its time; saving a sub-model %.3f s",
        version, options.shards(), full.seconds, seconds(fullRuns.stream().map(t -> t.seconds).toList()), engine,
        one.value.rows(), one.seconds, full.seconds / one.seconds, save));
    long warmSubject = (long) (random.nextDouble() * data.subjects());
    used.add(warmSubject);
    // Every 1-subject forget records membership evidence (as a run with verify.test set does), its
    // audit timed apart: the first one's audit loads the audit's code, as a command-line run does;
    // the counted runs' audits run warm, as their forgets do.
    Dataset<Row> heldOut = data.heldOut(spark, config.getInt(LetheConfig.VERIFY_ATTACK_ROWS)).cache();
    try {
      VerifySettings verify = VerifySettings.from(config.with(Map.of(LetheConfig.VERIFY_PATH,
          new Path(work, "verify").toString())));
      Forgetter audited = main.forgetter.withAudit(new MembershipAudit(main.store, main.registry, heldOut, verify,
          settings));
      Forgot first = forget(main, List.of(Long.toString(warmSubject)), audited);
      double firstAudit = first.auditSeconds();
      out.accept(String.format("A first forget of 1 subject in this JVM (code loading, not counted): %.1f s; its"
          + " membership audit (held-out synthetic rows; the audit's code loaded then too, as in a command-line run)"
          + " %.1f s", first.seconds, firstAudit));
      reference[0] = new Retrain(version, one.value.rows(), full.seconds, fullRuns.stream().map(t -> t.seconds).toList(),
          one.seconds, engine, save, first.seconds, firstAudit);
      for (int k : options.batches()) {
        List<Forgot> runs = new ArrayList<>();
        for (int i = 0; i < options.repeats(); i++) {
          List<String> ids = new ArrayList<>();
          while (ids.size() < k && used.size() < data.subjects()) {
            long subject = (long) (random.nextDouble() * data.subjects());
            if (used.add(subject)) {
              ids.add(Long.toString(subject));
            }
          }
          runs.add(forget(main, ids, k == 1 ? audited : main.forgetter));
        }
        Forgot forgot = medianRun(runs, Forgot::seconds);
        List<Double> auditRuns = runs.stream().map(Forgot::auditSeconds).toList();
        Double audit = k == 1 ? median(auditRuns) : null;
        List<Double> runSeconds = runs.stream().map(Forgot::seconds).toList();
        Retrain ref = reference[0];
        ForgetResult r = forgot.result;
        double ideal = ShardMath.idealSpeedup(options.shards(), r.plan().found());
        double speedup = ref.fullRetrainSeconds() / forgot.seconds;
        Map<String, StepCost> cost = r.cost();
        // Top-level steps only ("plan.match" and the like are parts of "plan"); retiring and the audit
        // are timed apart.
        java.util.function.Predicate<String> counted = step -> !step.contains(".") && !step.equals("retire")
            && !step.equals("audit");
        long jobs = cost.entrySet().stream().filter(e -> counted.test(e.getKey()))
            .mapToLong(e -> e.getValue().sparkJobs()).sum();
        long retrainJobs = cost.containsKey("retrain") ? cost.get("retrain").sparkJobs() : 0;
        long commits = cost.entrySet().stream().filter(e -> counted.test(e.getKey()))
            .mapToLong(e -> e.getValue().deltaCommits()).sum();
        ForgetPoint point = new ForgetPoint(k, r.plan().rowsToDelete(), r.retrainedShards().size(),
            r.plan().expectedShardsHit(), forgot.seconds, forgot.retrainSeconds(), forgot.seconds - forgot.retrainSeconds(),
            forgot.retireSeconds(), forgot.purgeSeconds, speedup, ref.singleModelSeconds() / forgot.seconds, ideal,
            speedup / ideal, r.seconds(), jobs, retrainJobs, jobs - retrainJobs, commits, cost, runSeconds, audit);
        out.accept(String.format("Forget %d subject(s), the median of %d runs (%s s): %d rows in %d shard(s) (chance"
                + " predicts %.1f): %.1f s to the published ensemble (retrain %.1f s, fixed cost %.2f s), %.1fx faster"
                + " than a full retrain (ideal %.1fx, efficiency %.0f%%), %.1fx faster than one model on all rows; %d"
                + " Spark jobs (%d in the retrain, %d outside it), %d Delta commits; retire %.1f s, purge %.1f s%s%nSteps:"
                + " %s", k, runs.size(), seconds(runSeconds), point.rowsDeleted(), point.shardsHit(),
            point.expectedShardsHit(), point.forgetSeconds(), point.retrainSeconds(), point.overheadSeconds(), speedup, ideal, 100 * point.efficiency(),
            point.speedupVsSingleModel(), point.sparkJobs(), point.retrainJobs(), point.jobsOutsideRetrain(),
            point.deltaCommits(), point.retireSeconds(), point.purgeSeconds(),
            audit != null ? String.format("; membership audit %.1f s (the median of %s s)", audit, seconds(auditRuns))
                : "",
            stepsLine(cost)));
        points.add(point);
      }
      return points;
    } finally {
      heldOut.unpersist();
    }
  }

  /**
   * The median run by {@code seconds}: the middle one, the lower of the two middle ones for an
   * even count. A run that happened, so that its parts (steps, jobs) add up.
   */
  public static <T> T medianRun(List<T> runs, java.util.function.ToDoubleFunction<T> seconds) {
    List<T> sorted = new ArrayList<>(runs);
    sorted.sort(java.util.Comparator.comparingDouble(seconds));
    return sorted.get((sorted.size() - 1) / 2);
  }

  /** Times as "2.9, 2.0, 2.8". */
  private static String seconds(List<Double> times) {
    return times.stream().map(t -> String.format(java.util.Locale.ROOT, "%.1f", t))
        .collect(java.util.stream.Collectors.joining(", "));
  }

  /** Each step as "name seconds s / jobs / commits". */
  private static String stepsLine(Map<String, StepCost> cost) {
    List<String> parts = new ArrayList<>();
    cost.forEach((step, c) -> parts.add(String.format("%s %.2f s, %d jobs, %d commits", step, c.seconds(),
        c.sparkJobs(), c.deltaCommits())));
    return String.join("; ", parts);
  }

  /** The median of three saves of the first published sub-model into a scratch registry. */
  private double saveSeconds(Store main) {
    ModelRegistry scratch = new ModelRegistry(spark, new Path(work, "save-models").toString());
    ShardEnsembleModel published = ShardEnsembleModel.load(main.registry, main.registry.latest().orElseThrow().version());
    SubModelEntry entry = published.manifest().shards().get(0);
    List<Double> seconds = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      seconds.add(timed(() -> scratch.saveSubModel(entry.shard(), entry.storeVersion(),
          published.subModel(entry.shard()), entry.rows(), entry.seed(), 0)).seconds);
    }
    files.deleteRecursively(scratch.root());
    return medianRun(seconds, Double::doubleValue);
  }

  /** A forget run (no purge) and the purge after it, timed apart. */
  private record Forgot(ForgetResult result, double seconds, double purgeSeconds) {
    /** The membership audit the run recorded after publishing (0 for none). */
    double auditSeconds() {
      return result.seconds().getOrDefault("audit", 0.0);
    }

    double retrainSeconds() {
      return result.seconds().getOrDefault("retrain", 0.0);
    }

    double retireSeconds() {
      return result.seconds().getOrDefault("retire", 0.0);
    }
  }

  /**
   * Each registered strategy with the example configuration it declares, measured on the synthetic
   * store (shard retrain, the baseline of every other, has none).
   */
  private static List<StrategyCase> strategyCases() {
    return Strategies.all().stream().filter(s -> s.example().isPresent())
        .map(s -> new StrategyCase(s.example().get().estimator(), s.example().get().params(), s)).toList();
  }

  private record StrategyCase(String estimator, Map<String, String> params, Strategy strategy) {}

  /**
   * A strategy example's parameters, with the value the configuration gives (train.param.*) in place
   * of any the example declares: {@code -D train.param.maxIter=10} lowers every fit's iterations.
   */
  private Map<String, String> exampleParams(Map<String, String> example) {
    Map<String, String> set = config.withPrefix(LetheConfig.TRAIN_PARAM_PREFIX);
    Map<String, String> out = new java.util.TreeMap<>(example);
    out.replaceAll((k, v) -> set.getOrDefault(k, v));
    return out;
  }

  /** Kept rows the update section's attack compares the removed ones with, at most. */
  private static final int UPDATE_KEPT_ROWS = 2000;

  /**
   * What a published update gives away, by batch size: people drawn at random from the main store
   * removed from the published ensemble (their shards fitted in tasks with and without them, in
   * memory), and the difference attack on that update, {@code --update-draws} draws per size (one
   * person's AUC depends on the person).
   */
  private List<UpdatePoint> update(Store main, SyntheticData data) {
    List<UpdatePoint> points = new ArrayList<>();
    long version = main.store.currentVersion();
    ShardEnsembleModel published = ShardEnsembleModel.load(main.registry, main.registry.latest().orElseThrow().version());
    String subject = main.store.layout().subjectColumn();
    Random random = new Random(options.seed() + 23);
    for (int k : options.batches()) {
      List<Double> aucs = new ArrayList<>();
      long rows = 0;
      int shardsHit = 0;
      double bound = 0;
      double seconds = 0;
      for (int draw = 0; draw < options.updateDraws(); draw++) {
        List<Object> people = new ArrayList<>();
        for (int i = 0; i < k; i++) {
          people.add((long) (random.nextDouble() * data.subjects()));
        }
        org.apache.spark.sql.Column gone = org.apache.spark.sql.functions.col(subject).isin(people.toArray());
        Dataset<Row> all = main.store.read(version);
        Dataset<Row> removed = all.where(gone).cache();
        List<Integer> hit = removed.select(StoreLayout.SHARD_COLUMN).distinct().collectAsList().stream()
            .map(r -> ((Number) r.get(0)).intValue()).toList();
        if (hit.isEmpty()) { // forgotten by an earlier section
          removed.unpersist();
          continue;
        }
        double fraction = Math.min(1.0, 2.0 * UPDATE_KEPT_ROWS * options.shards() / ((double) options.rows() * hit.size()));
        Dataset<Row> kept = all.where(org.apache.spark.sql.functions.col(StoreLayout.SHARD_COLUMN).isin(hit.toArray())
            .and(gone.unary_$bang())).sample(false, fraction, options.seed() + draw).limit(UPDATE_KEPT_ROWS).cache();
        try {
          long begin = System.nanoTime();
          Optional<List<AttackResult>> attacks = DifferenceAttack.onRemoval(main.store, settings, published, version,
              people, removed.drop(StoreLayout.SHARD_COLUMN), kept.drop(StoreLayout.SHARD_COLUMN));
          seconds += (System.nanoTime() - begin) / 1e9;
          if (attacks.isEmpty()) {
            out.accept("Update section: " + settings.estimator() + " cannot be fitted in tasks; skipped");
            return points;
          }
          AttackResult best = DifferenceAttack.strongest(attacks.get());
          if (best == null) { // no kept rows to compare with
            continue;
          }
          aucs.add(best.auc());
          rows += best.members();
          shardsHit += hit.size();
          bound = DifferenceAttack.aucBound(best.members(), best.nonMembers());
        } finally {
          removed.unpersist();
          kept.unpersist();
        }
      }
      if (aucs.isEmpty()) {
        continue;
      }
      double mean = aucs.stream().mapToDouble(Double::doubleValue).average().orElseThrow();
      UpdatePoint point = new UpdatePoint(k, aucs.size(), rows / (double) aucs.size(), shardsHit / (double) aucs.size(),
          mean, aucs.stream().mapToDouble(Double::doubleValue).min().orElseThrow(),
          aucs.stream().mapToDouble(Double::doubleValue).max().orElseThrow(), bound, seconds / aucs.size());
      points.add(point);
      out.accept(String.format("Update of %d subject(s) (%d draws, %.1f rows, %.1f shards): the difference attack's"
          + " AUC %.3f (%.3f to %.3f; chance exceeds %.3f once in a hundred), %.1f s a draw", k, aucs.size(),
          point.rowsRemoved(), point.shardsHit(), mean, point.minAuc(), point.maxAuc(), bound, point.seconds()));
    }
    return points;
  }

  /**
   * For each strategy: its estimator trained on every shard of the store, then one subject
   * forgotten with it, timed, and the same shard retrained from scratch on the same store version
   * with the same settings (fit and save, what the strategy falls back to): the strategy's model
   * update against a shard retrain.
   */
  private List<StrategyPoint> strategies(Store main, SyntheticData data) {
    List<StrategyPoint> points = new ArrayList<>();
    Random random = new Random(options.seed() + 17);
    for (StrategyCase c : strategyCases()) {
      String name = "strategy-" + c.strategy().id();
      Map<String, String> params = exampleParams(c.params());
      TrainSettings with = new TrainSettings(c.estimator(), params, settings.seed(), settings.parallelism(),
          settings.impute(), settings.scale(), c.strategy().configure(config), settings.engine(), settings.taskMemoryMb(),
          "");
      ModelRegistry registry = new ModelRegistry(spark, new Path(work, name + "-models").toString());
      Training training = new Training(main.store, registry, with, aggregation);
      Timed<TrainResult> trained = timed(() -> training.run(ShardSelection.all()));
      ForgetSettings forgetSettings = ForgetSettings.from(config.with(Map.of(LetheConfig.FORGET_PURGE, "false")));
      ForgetLedger ledger = new ForgetLedger(spark, new Path(work, name + "-ledger").toString(),
          config.getInt(LetheConfig.LEDGER_DEADLINE_DAYS), new CommitRetry(forgetSettings.commitAttempts()));
      Forgetter forgetter = new Forgetter(main.store, registry, training, ledger, LedgerKey.of(BENCH_KEY),
          forgetSettings);
      Timed<ForgetResult> forgot;
      do { // a subject an earlier section forgot has no rows left: take another
        String id = Long.toString((long) (random.nextDouble() * data.subjects()));
        forgot = timed(() -> forgetter.execute(ForgetRequest.ofSubjects(List.of(id))));
      } while (forgot.value.unlearning().isEmpty());
      ShardUnlearning update = forgot.value.unlearning().get(0);
      long version = forgot.value.storeVersion();
      Timed<List<SubModelEntry>> retrain = timed(() -> training.fit(List.of(update.shard()), version));
      double forgetSeconds = forgot.seconds - forgot.value.seconds().getOrDefault("retire", 0.0);
      StrategyPoint point = new StrategyPoint(c.estimator(), params, update.strategy(), update.exact(),
          update.detail(), forgot.value.plan().rowsToDelete(), update.shard(), retrain.value.get(0).rows(),
          trained.seconds, forgetSeconds, update.seconds(), retrain.seconds, retrain.seconds / update.seconds(),
          update.certificate());
      out.accept(String.format("%s %s, forget 1 subject (%d rows, shard %d of %,d rows): model update %.2f s"
              + " (%s) against a retrain of the shard %.1f s: %.1fx faster; the whole forget run %.1f s",
          c.estimator(), c.strategy().id(), point.rowsDeleted(), point.shard(), point.shardRows(),
          point.updateSeconds(), point.detail(), point.shardRetrainSeconds(), point.speedup(), point.forgetSeconds()));
      points.add(point);
      files.deleteRecursively(registry.root());
      files.deleteRecursively(new Path(work, name + "-ledger"));
    }
    return points;
  }

  /** The tree estimators the trees section fits, in order, with the parameters it fits them with. */
  private static final List<Map.Entry<String, Map<String, String>>> TREE_CASES = List.of(
      Map.entry("random_forest", Map.of("numTrees", "20", "maxDepth", "6")),
      Map.entry("decision_tree", Map.of("maxDepth", "6")));

  /**
   * For each tree estimator: the first shard of the store, on its current version, fitted and saved
   * in a task and by spark.ml's fit with the same parameters and seed, and both sub-models scored
   * on the same held-out rows.
   */
  private List<TreePoint> trees(Store main, SyntheticData data) {
    List<TreePoint> points = new ArrayList<>();
    Dataset<Row> heldOut = data.heldOut(spark, Math.min(options.scoreRows(), 100_000))
        .withColumn(StoreLayout.LABEL_INDEX_COLUMN, main.store.layout().labelIndex()).cache();
    long version = main.store.currentVersion();
    int shard = 0;
    try {
      long count = heldOut.count();
      for (Map.Entry<String, Map<String, String>> c : TREE_CASES) {
        TrainSettings tasks = new TrainSettings(c.getKey(), c.getValue(), settings.seed(), settings.parallelism(),
            settings.impute(), settings.scale(), Strategies.SHARD_RETRAIN, Engine.TASKS,
            settings.taskMemoryMb(), "");
        ModelRegistry registry = new ModelRegistry(spark, new Path(work, "trees-" + c.getKey()).toString());
        Timed<ShardTrainer.FittedShard> inTask = timed(() -> saved(main, registry, tasks, shard, version));
        Timed<ShardTrainer.FittedShard> bySpark = timed(() -> saved(main, registry, tasks.withEngine(Engine.JOBS),
            shard, version));
        double tasksAccuracy = accuracy(inTask.value.model(), heldOut, shard, count);
        double jobsAccuracy = accuracy(bySpark.value.model(), heldOut, shard, count);
        TreePoint point = new TreePoint(c.getKey(), c.getValue(), shard, inTask.value.rows(), inTask.seconds,
            bySpark.seconds, bySpark.seconds / inTask.seconds, tasksAccuracy, jobsAccuracy,
            100 * (jobsAccuracy - tasksAccuracy));
        out.accept(String.format("%s %s, shard %d of %,d rows: fitted and saved in a task in %.2f s (%s engine), by"
                + " spark.ml's fit in %.2f s: %.1fx faster; held-out accuracy %.2f%% against %.2f%%", c.getKey(),
            c.getValue(), shard, point.shardRows(), point.tasksSeconds(), inTask.value.engine().id(),
            point.jobsSeconds(), point.speedup(), 100 * tasksAccuracy, 100 * jobsAccuracy));
        points.add(point);
        files.deleteRecursively(registry.root());
      }
    } finally {
      heldOut.unpersist();
    }
    return points;
  }

  /** Deletions from the shard's forest that the dare section times (the median is reported). */
  private static final int DARE_DELETIONS = 5;

  private static double median(List<Double> values) {
    List<Double> sorted = values.stream().sorted().toList();
    int n = sorted.size();
    return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
  }

  /** DaRE's forest: the trees section's random forest. */
  private static final Map<String, String> DARE_FOREST = TREE_CASES.get(0).getValue();

  /**
   * DaRE: a random forest trained with the dare strategy on every shard of the store (unscaled
   * features, which dare needs). Shard 0's rows are read into memory once and featurized: a
   * subject's worth of them (random rows) deleted from its forest (the median of five deletions,
   * each from the forest as trained), against DaRE's training of the remaining rows (the task's
   * fit when a retrain runs) and spark.ml's fit of the shard. Then a
   * forget run per batch size, and one spark.ml forest on all rows.
   */
  private BenchReport.Dare dare(Store main, SyntheticData data, List<TreePoint> trees) {
    TrainSettings with = new TrainSettings("random_forest", DARE_FOREST, settings.seed(), settings.parallelism(),
        settings.impute(), false, Strategies.DARE.configure(config), Engine.TASKS,
        settings.taskMemoryMb(), "");
    ShardedStore store = main.store;
    StoreLayout layout = store.layout();
    long version = store.currentVersion();
    int shard = 0;
    // The shard's rows in memory, as DaRE keeps them, and its forest grown from them.
    io.lethe.internal.engine.ShardStatistics empty = io.lethe.internal.train.ExactStatistics.empty(layout);
    org.apache.spark.sql.types.StructType schema = store.read(version).schema();
    io.lethe.internal.engine.ShardRows held = io.lethe.internal.engine.ShardRows.read(io.lethe.internal.store.ShardReader.of(store, version, schema)
        .orElseThrow(() -> new LetheException("The bench store's columns need Spark's cast")).rows(shard), empty);
    io.lethe.internal.engine.Features features = io.lethe.internal.train.StatisticsModel.features(held.statistics(),
        new io.lethe.internal.train.StatisticsModel(layout, with, schema).featureSpec());
    io.lethe.internal.engine.ShardMatrix all = held.featurize(features);
    long[] ids = features.columnIds();
    io.lethe.internal.engine.DareForest.Spec spec = (io.lethe.internal.engine.DareForest.Spec) Strategies.DARE.localFit(
        io.lethe.internal.train.Estimators.localSolver("random_forest").orElseThrow()
            .task(io.lethe.internal.train.ShardPipeline.estimator(layout, with, shard), layout.labelClasses().size()));
    io.lethe.internal.engine.DareForest forest = io.lethe.internal.engine.DareForest.fit(all, ids, spec);
    byte[] trained0 = forest.toBytes();
    Random random = new Random(options.seed() + 29);
    // A subject's worth of random rows deleted from the forest as trained, five times: the median.
    List<Double> updates = new ArrayList<>();
    List<Double> shares = new ArrayList<>();
    int[] keptRows = null;
    int deletedRows = 0;
    for (int rep = 0; rep < DARE_DELETIONS; rep++) {
      Set<Integer> gone = new TreeSet<>();
      while (gone.size() < Math.min(data.rowsPerSubject(), all.rows() - 1)) {
        gone.add(random.nextInt(all.rows()));
      }
      int[] goneRows = gone.stream().mapToInt(Integer::intValue).toArray();
      keptRows = java.util.stream.IntStream.range(0, all.rows()).filter(r -> !gone.contains(r)).toArray();
      io.lethe.internal.engine.ShardMatrix deleted = rowsOf(all, goneRows);
      io.lethe.internal.engine.ShardMatrix remaining = rowsOf(all, keptRows);
      io.lethe.internal.engine.DareForest copy = io.lethe.internal.engine.DareForest.fromBytes(trained0);
      Timed<io.lethe.internal.engine.DareForest.Deletion> update = timed(() -> copy.delete(deleted, ids, () -> remaining, ids));
      updates.add(update.seconds);
      shares.add(update.value.shareRebuilt());
      deletedRows = goneRows.length;
    }
    double updateSeconds = median(updates);
    double shareRebuilt = median(shares);
    io.lethe.internal.engine.ShardMatrix lastRemaining = rowsOf(all, keptRows);
    Timed<io.lethe.internal.engine.DareForest> retrain = timed(() -> io.lethe.internal.engine.DareForest.fit(lastRemaining, ids, spec));
    Dataset<Row> heldOut = data.heldOut(spark, Math.min(options.scoreRows(), 100_000))
        .withColumn(StoreLayout.LABEL_INDEX_COLUMN, layout.labelIndex()).cache();
    long heldOutRows = heldOut.count();
    // spark.ml's fit of the shard with the same parameters: the trees section's, else fitted here.
    Optional<TreePoint> measured = trees.stream()
        .filter(t -> t.estimator().equals("random_forest") && t.shard() == shard).findFirst();
    double sparkFit;
    double sparkAccuracy;
    if (measured.isPresent()) {
      sparkFit = measured.get().jobsSeconds();
      sparkAccuracy = measured.get().jobsAccuracy();
    } else {
      ModelRegistry scratch = new ModelRegistry(spark, new Path(work, "dare-spark").toString());
      Timed<ShardTrainer.FittedShard> fit = timed(() -> saved(main, scratch, with.withStrategy(Strategies.SHARD_RETRAIN)
          .withEngine(Engine.JOBS), shard, version));
      sparkFit = fit.seconds;
      sparkAccuracy = accuracy(fit.value.model(), heldOut, shard, heldOutRows);
      files.deleteRecursively(scratch.root());
    }
    out.accept(String.format("dare: shard %d of %,d rows in memory: %d rows deleted from its forest in %.4f s (the"
            + " median of %d; %.1f%% of the nodes regrown), DaRE's training of the remaining rows %.2f s (%.0fx),"
            + " spark.ml's fit of the shard %.2f s (%.0fx)", shard, all.rows(), deletedRows, updateSeconds,
        DARE_DELETIONS, 100 * shareRebuilt, retrain.seconds, retrain.seconds / updateSeconds, sparkFit,
        sparkFit / updateSeconds));

    // Forget runs under dare, on an ensemble trained with it.
    ModelRegistry registry = new ModelRegistry(spark, new Path(work, "dare-models").toString());
    Training training = new Training(store, registry, with, aggregation);
    Timed<TrainResult> trained = timed(() -> training.run(ShardSelection.all()));
    double dareAccuracy = accuracy(ShardEnsembleModel.load(registry, registry.latest().orElseThrow().version())
        .subModel(shard), heldOut, shard, heldOutRows);
    heldOut.unpersist();
    out.accept(String.format("dare: shard %d's forest, held-out accuracy %.2f%% against %.2f%% for spark.ml's forest",
        shard, 100 * dareAccuracy, 100 * sparkAccuracy));
    ForgetSettings forgetSettings = ForgetSettings.from(config.with(Map.of(LetheConfig.FORGET_PURGE, "false")));
    ForgetLedger ledger = new ForgetLedger(spark, new Path(work, "dare-ledger").toString(),
        config.getInt(LetheConfig.LEDGER_DEADLINE_DAYS), new CommitRetry(forgetSettings.commitAttempts()));
    Forgetter forgetter = new Forgetter(store, registry, training, ledger, LedgerKey.of(BENCH_KEY), forgetSettings);
    List<BenchReport.DareBatch> batches = new ArrayList<>();
    List<Double> runs = new ArrayList<>();
    for (int k : options.batches()) {
      Set<String> ids2 = new TreeSet<>();
      while (ids2.size() < k) {
        ids2.add(Long.toString((long) (random.nextDouble() * data.subjects())));
      }
      Timed<ForgetResult> forgot = timed(() -> forgetter.execute(ForgetRequest.ofSubjects(List.copyOf(ids2))));
      ForgetResult r = forgot.value;
      List<ShardUnlearning> byDare = r.unlearning().stream().filter(u -> u.figures() != null).toList();
      double updated = byDare.stream().mapToDouble(u -> u.figures().get("updateSeconds")).sum();
      double readSeconds = byDare.stream().mapToDouble(u -> u.figures().get("readSeconds")).sum();
      double share = byDare.stream().mapToDouble(u -> u.figures().get("shareRebuilt")).average().orElse(Double.NaN);
      long rows = r.plan().rowsToDelete();
      double seconds = forgot.seconds - r.seconds().getOrDefault("retire", 0.0);
      runs.add(seconds);
      batches.add(new BenchReport.DareBatch(k, rows, r.retrainedShards().size(), byDare.size(), seconds, updated,
          rows == 0 ? 0.0 : updated / rows, readSeconds, share, Double.NaN));
      out.accept(String.format("dare: forget %d subject(s) (%d rows, %d shards hit, %d updated by DaRE) in %.2f s; the"
              + " forests' updates %.3f s (%.2g s per row), reading rows for them %.2f s, %.1f%% of a forest regrown",
          k, rows, r.retrainedShards().size(), byDare.size(), seconds, updated, rows == 0 ? 0.0 : updated / rows,
          readSeconds, 100 * share));
    }
    Timed<SingleModel> one = timed(() -> SingleModel.fit(store, with.withEngine(Engine.JOBS), store.currentVersion()));
    List<BenchReport.DareBatch> runsMeasured = batches.stream().map(b -> new BenchReport.DareBatch(b.subjects(),
        b.rowsDeleted(), b.shardsHit(), b.shardsByDare(), b.forgetSeconds(), b.updateSeconds(), b.updateSecondsPerRow(),
        b.readSeconds(), b.shareRebuilt(), one.seconds / b.forgetSeconds())).toList();
    out.accept(String.format("dare: one spark.ml random forest on all rows %.1f s; trained the dare ensemble in %.1f s",
        one.seconds, trained.seconds));
    files.deleteRecursively(registry.root());
    files.deleteRecursively(new Path(work, "dare-ledger"));
    return new BenchReport.Dare(DARE_FOREST, trained.seconds, shard, all.rows(), deletedRows, updateSeconds,
        shareRebuilt, retrain.seconds, sparkFit, retrain.seconds / updateSeconds, sparkFit / updateSeconds,
        dareAccuracy, sparkAccuracy, one.seconds, runsMeasured);
  }

  /** The given rows of a matrix, in order. */
  private static io.lethe.internal.engine.ShardMatrix rowsOf(io.lethe.internal.engine.ShardMatrix m, int[] rows) {
    int[] start = new int[rows.length + 1];
    int nonzeros = 0;
    for (int i = 0; i < rows.length; i++) {
      nonzeros += m.rowStart()[rows[i] + 1] - m.rowStart()[rows[i]];
    }
    int[] column = new int[nonzeros];
    double[] value = new double[nonzeros];
    double[] label = new double[rows.length];
    int at = 0;
    for (int i = 0; i < rows.length; i++) {
      start[i] = at;
      int from = m.rowStart()[rows[i]];
      int n = m.rowStart()[rows[i] + 1] - from;
      System.arraycopy(m.column(), from, column, at, n);
      System.arraycopy(m.value(), from, value, at, n);
      at += n;
      label[i] = m.label()[rows[i]];
    }
    start[rows.length] = at;
    return new io.lethe.internal.engine.ShardMatrix(rows.length, m.width(), start, column, value, label);
  }

  /** A shard fitted with the settings and saved in the registry, as training saves it. */
  private ShardTrainer.FittedShard saved(Store main, ModelRegistry registry, TrainSettings with, int shard,
      long version) {
    ShardTrainer.FittedShard fit = new ShardTrainer(main.store, with).fitShard(shard, version);
    registry.saveSubModel(shard, version, fit.model(), fit.rows(), fit.seed(), fit.fitSeconds(),
        SubModelEntry.SHARD_RETRAIN, fit.engine().id(), Map.of());
    return fit;
  }

  private static double accuracy(PipelineModel model, Dataset<Row> labelled, int shard, long count) {
    Dataset<Row> scored = model.transform(labelled);
    return scored.where(scored.col(ShardColumns.prediction(shard)).equalTo(scored.col(StoreLayout.LABEL_INDEX_COLUMN)))
        .count() / (double) count;
  }

  private Forgot forget(Store main, List<String> ids) {
    return forget(main, ids, main.forgetter);
  }

  /** A forget run and its purge; the run's time leaves out retiring and the audit (both after publishing). */
  private Forgot forget(Store main, List<String> ids, Forgetter forgetter) {
    Timed<ForgetResult> run = timed(() -> forgetter.execute(ForgetRequest.ofSubjects(ids)));
    double afterPublishing = run.value.seconds().getOrDefault("retire", 0.0)
        + run.value.seconds().getOrDefault("audit", 0.0);
    Purger purger = new Purger(main.store, 0, new CommitRetry(config.getInt(LetheConfig.FORGET_COMMIT_ATTEMPTS)));
    Timed<PurgeReport> purge = timed(() -> purger.purgeWaiting(main.ledger, run.value.batchId() + "-purge"));
    if (purge.value.pending() > 0) {
      throw new LetheException("The bench's purge left " + purge.value.pending() + " request(s) pending");
    }
    return new Forgot(run.value, run.seconds - afterPublishing, purge.seconds);
  }

  private Scoring scoring(Store main, SyntheticData data, SingleModel single) {
    Dataset<Row> rows = data.heldOut(spark, options.scoreRows()).cache();
    try {
      long count = rows.count();
      ShardEnsembleModel ensemble = ShardEnsembleModel.load(main.registry, main.registry.latest().orElseThrow().version());
      double ensembleSeconds = bestOfTwo(() -> score(ensemble, rows));
      double singleSeconds = bestOfTwo(() -> score(single.model(), rows));
      boolean classification = main.store.layout().task() == io.lethe.types.Task.CLASSIFICATION;
      double ensembleAccuracy = classification ? Evaluation.score(ensemble, rows, main.store.layout()) : Double.NaN;
      double singleAccuracy = classification ? Evaluation.score(single.model(), rows, main.store.layout())
          : Double.NaN;
      Scoring scoring = new Scoring(count, ensemble.manifest().shards().size(), ensembleSeconds, singleSeconds,
          ensembleSeconds / singleSeconds, ensembleAccuracy, singleAccuracy);
      out.accept(String.format("Scored %,d rows: ensemble of %d sub-models %.1f s, one model %.1f s (%.2fx); held-out"
          + " accuracy %.2f%% against %.2f%%", count, scoring.shards(), ensembleSeconds, singleSeconds, scoring.ratio(),
          100 * ensembleAccuracy, 100 * singleAccuracy));
      return scoring;
    } finally {
      rows.unpersist();
    }
  }

  private static Void score(ShardEnsembleModel model, Dataset<Row> rows) {
    model.transform(rows).write().format("noop").mode("overwrite").save();
    return null;
  }

  private double bestOfTwo(Supplier<Void> work) {
    return Math.min(timed(work).seconds, timed(work).seconds);
  }

  private List<AccuracyPoint> accuracy() {
    Dataset<Row> train = AdultData.read(spark, new Path(options.adultDir(), "adult.data.gz").toString()).cache();
    Dataset<Row> test = AdultData.read(spark, new Path(options.adultDir(), "adult.test.gz").toString()).cache();
    try {
      List<AccuracyPoint> points = new ArrayList<>();
      Double singleAccuracy = null;
      for (int shards : options.accuracyShards()) {
        LetheConfig adult = config.with(AdultData.storeSettings()).with(Map.of(
            LetheConfig.STORE_SHARDS, Integer.toString(shards), LetheConfig.STORE_SALT, "lethe-bench-" + options.seed(),
            LetheConfig.STORE_NUMERIC, "", LetheConfig.STORE_CATEGORICAL, "", LetheConfig.STORE_EXCLUDE, ""));
        String path = new Path(work, "adult-" + shards).toString();
        ShardedStore.ingest(spark, path, train, adult, false);
        ShardedStore store = ShardedStore.open(spark, path);
        ModelRegistry registry = new ModelRegistry(spark, new Path(work, "adult-" + shards + "-models").toString());
        Timed<TrainResult> trained = timed(() -> new Training(store, registry, settings, aggregation)
            .run(ShardSelection.all()));
        double accuracy = Evaluation.score(ShardEnsembleModel.load(registry, trained.value.published().version()), test, store.layout());
        if (singleAccuracy == null) {
          SingleModel single = SingleModel.fit(store, settings, store.currentVersion());
          singleAccuracy = Evaluation.score(single.model(), test, store.layout());
        }
        long smallest = trained.value.published().shards().stream().mapToLong(SubModelEntry::rows).min().orElse(0);
        AccuracyPoint point = new AccuracyPoint(shards, accuracy, singleAccuracy,
            100 * (singleAccuracy - accuracy), trained.seconds, smallest);
        out.accept(String.format("Adult, %d shard(s): ensemble accuracy %.2f%%, one model %.2f%% (gap %.2f points),"
                + " trained in %.1f s, smallest shard %,d rows", shards, 100 * accuracy, 100 * singleAccuracy,
            point.gapPoints(), trained.seconds, smallest));
        points.add(point);
        files.deleteRecursively(new Path(path));
        files.deleteRecursively(registry.root());
      }
      return points;
    } finally {
      train.unpersist();
      test.unpersist();
    }
  }

  private List<ScalePoint> scale() {
    List<ScalePoint> points = new ArrayList<>();
    for (long rows : options.scaleRows()) {
      SyntheticData data = SyntheticData.of(rows, options.seed());
      String name = "scale-" + rows;
      Store s = createStore(name, data);
      Timed<TrainResult> trained = timed(() -> s.training.run(ShardSelection.all()));
      Random random = new Random(options.seed() + rows);
      if (points.isEmpty()) {
        // Both sides measured warm at every size: the first forget and the first spark.ml fit in a
        // JVM also load and compile their code.
        forget(s, List.of(Long.toString(random.nextLong(data.subjects()))));
        new ShardTrainer(s.store, settings.withEngine(Engine.JOBS)).fitShard(0, s.store.currentVersion());
      }
      long subject = random.nextLong(data.subjects());
      Forgot forgot = forget(s, List.of(Long.toString(subject)));
      // What a user would do instead: one spark.ml model on the remaining rows.
      long version = s.store.currentVersion();
      Timed<SingleModel> one = timed(() -> SingleModel.fit(s.store, settings, version));
      ScalePoint point = new ScalePoint(s.workload.rows(), options.shards(), s.workload.ingestSeconds(),
          s.workload.ingestRowsPerSecond(), trained.seconds, forgot.seconds, one.seconds, one.seconds / forgot.seconds);
      out.accept(String.format("%,d rows: ingest %.1f s (%,.0f rows/s), train %d shards %.1f s, forget 1 subject"
          + " %.1f s against one model %.1f s (%.1fx)", point.rows(), point.ingestSeconds(),
          point.ingestRowsPerSecond(), options.shards(), point.trainSeconds(), point.forgetSeconds(),
          point.singleModelSeconds(), point.speedupVsSingleModel()));
      points.add(point);
      for (String dir : List.of(name, name + "-models", name + "-ledger")) {
        files.deleteRecursively(new Path(work, dir));
      }
    }
    return points;
  }

  /**
   * Days of forget requests (a year by default): {@link SimulatedLedger} records one commit a simulated day, and the
   * ledger's state snapshot is written when due, as forget runs write it. At 1%, 10% and all of the
   * requests, a new ledger object (as a new process has) times the forget plan's look-up and the
   * status summary.
   */
  private List<LedgerPoint> ledger() {
    String path = new Path(work, "year-ledger").toString();
    CommitRetry retry = new CommitRetry(config.getInt(LetheConfig.FORGET_COMMIT_ATTEMPTS));
    LedgerKey key = LedgerKey.of(BENCH_KEY);
    ForgetLedger writer = new ForgetLedger(spark, path, config.getInt(LetheConfig.LEDGER_DEADLINE_DAYS), retry);
    writer.requireKey(key);
    SimulatedLedger year = new SimulatedLedger(writer, key, options.seed());
    long total = options.ledgerRequests();
    Set<Integer> measured = new TreeSet<>();
    for (double share : new double[] {0.01, 0.1, 1.0}) {
      measured.add(Math.max(1, (int) Math.ceil(options.ledgerDays() * share)));
    }
    List<LedgerPoint> points = new ArrayList<>();
    double recordSeconds = 0;
    double compactSeconds = 0;
    int daysInAll = options.ledgerDays();
    for (int day = 0; day < daysInAll; day++) {
      int d = day;
      int requests = (int) (total * (day + 1) / daysInAll - total * day / daysInAll);
      recordSeconds += timed(() -> year.day(d, requests)).seconds;
      compactSeconds = Math.max(compactSeconds, timed(() -> {
        writer.compactStateIfDue();
        return null;
      }).seconds);
      if (!measured.contains(day + 1)) {
        continue;
      }
      ForgetLedger reader = new ForgetLedger(spark, path, config.getInt(LetheConfig.LEDGER_DEADLINE_DAYS), retry);
      reader.requireKey(key);
      List<String> hashes = new ArrayList<>();
      for (int n = 0; n < LEDGER_LOOKUP; n++) {
        // half asked on earlier days, half never asked
        hashes.add(key.hash(IdKind.SUBJECT, n % 2 == 0 ? "subject-" + (n * 7919 % (day + 1)) + "-" + n : "new-" + n));
      }
      Timed<List<LedgerEntry>> plan = timed(() -> reader.currentOf(hashes));
      Timed<LedgerSummary> status = timed(() -> reader.summary(Instant.now()));
      long commits = reader.version().orElse(-1) + 1;
      LedgerPoint point = new LedgerPoint(day + 1, year.requests(), year.events(), commits,
          reader.commitsSinceState(), plan.seconds, status.seconds, status.value.open().size(), recordSeconds,
          compactSeconds);
      out.accept(String.format("Ledger after %d days: %,d requests, %,d events in %d commits (%d after its state"
          + " snapshot): plan's look-up of %d ids %.2f s (%d found), status %.2f s (%,d open); writing the days took"
          + " %.1f s, the longest snapshot %.1f s", point.days(), point.requests(), point.events(), point.commits(),
          point.stateCommits(), LEDGER_LOOKUP, point.planSeconds(), plan.value.size(), point.statusSeconds(),
          point.openRequests(), point.recordSeconds(), point.compactSeconds()));
      points.add(point);
    }
    files.deleteRecursively(new Path(path));
    return points;
  }

  private List<Target> targets(Workload workload, BenchReport.Training training, List<ForgetPoint> forget,
      Retrain retrain, Scoring scoring, List<StrategyPoint> strategies, List<TreePoint> trees, BenchReport.Dare dare,
      List<AccuracyPoint> accuracy, List<ScalePoint> scale, List<LedgerPoint> ledger) {
    List<Target> targets = new ArrayList<>();
    String at = workload == null ? "" : String.format(" (%,d rows, S = %d%s)", workload.rows(), workload.shards(),
        workload.rows() == 2_000_000 && workload.shards() == 16 ? "" : "; the target is set at 2,000,000 rows, S = 16");
    forget.stream().filter(p -> p.subjects() == 1).findFirst().ifPresent(p -> {
      targets.add(new Target("forget 1 subject vs full retrain" + at, "at least 4x faster", p.speedupVsFullRetrain(),
          "x", p.speedupVsFullRetrain() >= 4));
      targets.add(new Target("forget 1 subject vs one model on the remaining rows (spark.ml's fit)" + at,
          "at least 5x faster", p.speedupVsSingleModel(), "x", p.speedupVsSingleModel() >= 5));
      targets.add(new Target("fixed cost of a forget run (all but the retrain of the hit shard)" + at, "under 1.5 s",
          p.overheadSeconds(), "s", p.overheadSeconds() < 1.5));
      targets.add(new Target("Spark jobs of a forget run outside the retrain" + at, "at most 10",
          p.jobsOutsideRetrain(), "jobs", p.jobsOutsideRetrain() <= 10));
      targets.add(new Target("purge after forgetting 1 subject vs the forget itself" + at, "at most 1x its time",
          p.purgeSeconds() / p.forgetSeconds(), "x", p.purgeSeconds() <= p.forgetSeconds()));
      if (p.auditSeconds() != null) {
        targets.add(new Target("membership audit of a 1-subject forget (the median of its runs) vs the forget itself" + at,
            "at most 1x its time", p.auditSeconds() / p.forgetSeconds(), "x", p.auditSeconds() <= p.forgetSeconds()));
      }
    });
    if (retrain != null) {
      double ratio = retrain.fullRetrainSeconds() / retrain.singleModelSeconds();
      targets.add(new Target("train all shards (" + retrain.engine() + " engine) vs one model on all rows (spark.ml's"
          + " fit)" + at, "at most 1x its time", ratio, "x", ratio <= 1));
      targets.add(new Target("one shard's sub-model saved", "under 0.1 s", retrain.saveSeconds(), "s",
          retrain.saveSeconds() < 0.1));
    }
    trees.stream().filter(p -> p.estimator().equals("random_forest")).findFirst().ifPresent(p -> {
      targets.add(new Target("random forest: a shard fitted in a task vs spark.ml's fit of it" + at,
          "at least 5x faster", p.speedup(), "x", p.speedup() >= 5));
      targets.add(new Target("random forest: held-out accuracy of the task's fit under spark.ml's" + at,
          "at most 0.5 points", p.gapPoints(), "points", p.gapPoints() <= 0.5));
    });
    if (dare != null) {
      targets.add(new Target("dare: the update of a hit shard's forest vs a task-engine retrain of the shard" + at,
          "at least 20x faster", dare.speedupVsRetrain(), "x", dare.speedupVsRetrain() >= 20));
      targets.add(new Target("dare: the update of a hit shard's forest vs spark.ml's fit of the shard" + at,
          "at least 100x faster", dare.speedupVsSparkFit(), "x", dare.speedupVsSparkFit() >= 100));
      dare.batches().stream().filter(b -> b.subjects() == 1).findFirst().ifPresent(b -> targets.add(new Target(
          "dare: forget 1 subject vs one spark.ml random forest on all rows" + at, "at least 5x faster",
          b.speedupVsSingleModel(), "x", b.speedupVsSingleModel() >= 5)));
    }
    if (workload != null && workload.shards() == 128) {
      forget.stream().filter(p -> p.subjects() == 100).findFirst().ifPresent(p -> targets.add(new Target(
          "forget 100 subjects (S = 128) vs one model on the remaining rows", "at least 3x faster",
          p.speedupVsSingleModel(), "x", p.speedupVsSingleModel() >= 3)));
      if (scoring != null && !Double.isNaN(scoring.ensembleAccuracy())) {
        double gap = 100 * (scoring.singleModelAccuracy() - scoring.ensembleAccuracy());
        targets.add(new Target("ensemble accuracy (S = 128) vs one model, held-out rows", "within 1 point", gap,
            "points", gap <= 1));
      }
    }
    strategies.stream().filter(p -> p.strategy().equals(Strategies.EXACT_STATISTICS.id())).findFirst()
        .ifPresent(p -> targets.add(new Target("exact-statistics forget of 1 subject vs retraining its shard" + at,
            "at least 20x faster", p.speedup(), "x", p.speedup() >= 20)));
    if (training != null) {
      targets.add(new Target("concurrent vs sequential training of all shards", "at least 1.5x faster",
          training.speedup(), "x", training.speedup() >= 1.5));
    }
    if (scoring != null) {
      targets.add(new Target("ensemble scoring (S = " + scoring.shards() + ") vs one model", "at most 4x the time",
          scoring.ratio(), "x", scoring.ratio() <= 4));
    }
    if (scale.size() >= 2) {
      ScalePoint smallest = scale.stream().min(java.util.Comparator.comparingLong(ScalePoint::rows)).orElseThrow();
      ScalePoint largest = scale.stream().max(java.util.Comparator.comparingLong(ScalePoint::rows)).orElseThrow();
      targets.add(new Target(String.format("forget 1 subject vs one model: the speed-up at %,d rows against %,d rows",
          largest.rows(), smallest.rows()), "does not fall as the data grow",
          largest.speedupVsSingleModel() / smallest.speedupVsSingleModel(), "x",
          largest.speedupVsSingleModel() >= smallest.speedupVsSingleModel()));
      scale.stream().filter(p -> p.rows() == 10_000_000).findFirst().ifPresent(p -> targets.add(new Target(
          "forget 1 subject vs one model at 10,000,000 rows (S = " + p.shards() + ")", "at least 8x faster",
          p.speedupVsSingleModel(), "x", p.speedupVsSingleModel() >= 8)));
    }
    if (!ledger.isEmpty()) {
      LedgerPoint last = ledger.get(ledger.size() - 1);
      String size = String.format(" (%,d requests over %d days%s)", last.requests(), last.days(),
          last.requests() == 1_000_000 && last.days() == 365 ? ""
              : "; the target is set at 1,000,000 requests over 365 days");
      targets.add(new Target("forget plan's ledger look-up of " + LEDGER_LOOKUP + " ids" + size, "under 2 s",
          last.planSeconds(), "s", last.planSeconds() < 2));
      targets.add(new Target("status's ledger summary" + size, "under 2 s", last.statusSeconds(), "s",
          last.statusSeconds() < 2));
    }
    accuracy.stream().filter(p -> p.shards() == 8).findFirst().ifPresent(p -> targets.add(new Target(
        "Adult ensemble accuracy at S = 8 vs one model", "within 1.5 points", p.gapPoints(), "points",
        p.gapPoints() <= 1.5)));
    return targets;
  }

  /** A value with the wall time and the process CPU use (CPU seconds over wall seconds times cores) it took. */
  private record Timed<T>(T value, double seconds, double cpuUse) {}

  private static <T> Timed<T> timed(Supplier<T> work) {
    long cpu = processCpuNanos();
    long start = System.nanoTime();
    T value = work.get();
    long wall = System.nanoTime() - start;
    long used = processCpuNanos() - cpu;
    double cpuUse = cpu < 0 ? Double.NaN : used / (double) wall / Runtime.getRuntime().availableProcessors();
    return new Timed<>(value, wall / 1e9, cpuUse);
  }

  private static long processCpuNanos() {
    if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
      return os.getProcessCpuTime();
    }
    return -1;
  }
}
