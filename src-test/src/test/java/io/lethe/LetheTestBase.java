package io.lethe;

import static org.apache.spark.sql.functions.col;

import com.fasterxml.jackson.databind.JsonNode;
import io.lethe.api.LetheSpark;
import io.lethe.demo.AdultData;
import io.lethe.internal.forget.ForgetSettings;
import io.lethe.internal.forget.Forgetter;
import io.lethe.internal.ledger.ForgetLedger;
import io.lethe.internal.ledger.LedgerKey;
import io.lethe.internal.registry.ModelRegistry;
import io.lethe.internal.run.HadoopFiles;
import io.lethe.internal.run.Json;
import io.lethe.internal.store.ShardedStore;
import io.lethe.internal.train.TrainSettings;
import io.lethe.internal.train.Training;
import io.lethe.internal.unlearn.Strategies;
import io.lethe.jobs.Lethe;
import io.lethe.types.EnsembleManifest;
import io.lethe.types.ShardSelection;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * Owns the one local SparkSession of the suite (surefire runs every class in one JVM) and the real
 * Adult data the tests use, kept small: Spark's fixed costs, not data, dominate here. Test
 * configurations purge with a retention of 0 hours, so a forget run completes at once.
 */
public abstract class LetheTestBase {
  private static SparkSession spark;
  private static Dataset<Row> adultTrain;
  private static Dataset<Row> adultTest;

  protected static synchronized SparkSession spark() {
    if (spark == null) {
      // Interpreted execution, as Spark's own test suites run: on the suite's small tables, compiling
      // generated code (Janino) was a third of the suite's CPU. The standalone-cluster test runs
      // spark-submit with Spark's defaults, code generation included.
      // Without adaptive execution: the suite's queries are tiny, and re-planning each of their
      // stages (each a Spark job of its own) was pure driver work. Lethe's own Delta commands turn
      // it off for themselves in any session.
      Map<String, String> settings = new java.util.HashMap<>(Map.of("spark.ui.enabled", "false",
          "spark.sql.codegen.wholeStage", "false", "spark.sql.codegen.factoryMode", "NO_CODEGEN",
          "spark.sql.adaptive.enabled", "false"));
      // A real catalog for tables by name: Spark's Hive metastore, on an embedded Derby database
      // and a warehouse of the suite's own (CatalogTablesTest). Tables by path are unaffected.
      try {
        Path metastore = java.nio.file.Files.createTempDirectory("lethe-metastore");
        System.setProperty("derby.system.home", metastore.toString());
        settings.put("spark.sql.catalogImplementation", "hive");
        settings.put("spark.sql.warehouse.dir", metastore.resolve("warehouse").toUri().toString());
        settings.put("spark.hadoop.javax.jdo.option.ConnectionURL",
            "jdbc:derby:;databaseName=" + metastore.resolve("metastore_db") + ";create=true");
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
      spark = LetheSpark.getOrCreate("lethe-tests", settings);
    }
    return spark;
  }

  protected static Path home() {
    return Path.of(System.getProperty("lethe.home", "..")).toAbsolutePath().normalize();
  }

  /** The first rows of adult.data (row number = person_id), cached. */
  protected static synchronized Dataset<Row> adultTrain(int rows) {
    if (adultTrain == null) {
      adultTrain = AdultData.read(spark(), home().resolve("data/adult/adult.data.gz").toString()).cache();
    }
    return adultTrain.where(col(AdultData.SUBJECT).lt(rows));
  }

  /** The first rows of adult.test, for held-out evaluation. */
  protected static synchronized Dataset<Row> adultTest(int rows) {
    if (adultTest == null) {
      adultTest = AdultData.read(spark(), home().resolve("data/adult/adult.test.gz").toString()).cache();
    }
    return adultTest.where(col(AdultData.SUBJECT).lt(rows));
  }

  /** The Spark local property that marks the jobs a test's thread starts. */
  private static final String TEST_THREAD = "lethe.test.thread";

  /**
   * A listener of the Spark jobs started from the calling thread (or a thread it starts) while it
   * is open: other test classes run on the same session at the same time, and their jobs are not
   * this test's. Lethe's own job counts (its run summaries' {@code stepCost}) are kept apart the
   * same way.
   */
  protected abstract static class OwnJobs extends org.apache.spark.scheduler.SparkListener implements AutoCloseable {
    private final String mark = java.util.UUID.randomUUID().toString();
    private final String before;

    protected OwnJobs() {
      before = spark().sparkContext().getLocalProperty(TEST_THREAD);
      spark().sparkContext().setLocalProperty(TEST_THREAD, mark);
      spark().sparkContext().addSparkListener(this);
    }

    /** A job this test's thread started. */
    protected abstract void ownJob(org.apache.spark.scheduler.SparkListenerJobStart job);

    @Override
    public final void onJobStart(org.apache.spark.scheduler.SparkListenerJobStart job) {
      if (job.properties() != null && mark.equals(job.properties().getProperty(TEST_THREAD))) {
        ownJob(job);
      }
    }

    /** Waits until Spark has told the listeners of every job started so far. */
    public void drain() {
      try {
        spark().sparkContext().listenerBus().waitUntilEmpty(60_000);
      } catch (java.util.concurrent.TimeoutException e) {
        throw new IllegalStateException("Spark's listener bus did not drain in a minute", e);
      }
    }

    @Override
    public void close() {
      spark().sparkContext().removeSparkListener(this);
      spark().sparkContext().setLocalProperty(TEST_THREAD, before);
    }
  }

  /** What a job run through the command line gave: exit code, JSON summary (standard output) and log. */
  protected record Run(int code, JsonNode summary, String out, String err) {}

  /** Runs a job through the command line in this JVM, on the suite's session. */
  protected static Run runLethe(List<String> args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Lethe.execute(new Lethe(), new PrintWriter(out), new PrintWriter(err), args.toArray(new String[0]));
    JsonNode summary = out.toString().startsWith("{") ? Json.read(out.toString(), JsonNode.class, "summary") : null;
    return new Run(code, summary, out.toString(), err.toString());
  }

  /** A store with a published ensemble: what most tests start from. */
  protected record Trained(ShardedStore store, ModelRegistry registry, TrainSettings settings, Training training,
      EnsembleManifest published) {}

  /** Ingests the rows into the config's store and trains and publishes every shard. */
  protected static Trained ingestAndTrain(LetheConfig config, Dataset<Row> rows) {
    ShardedStore.ingest(spark(), config.get(LetheConfig.STORE_PATH), rows, config, false);
    io.lethe.api.Lethe lethe = io.lethe.api.Lethe.get(spark(), config);
    ShardedStore store = lethe.internals().store();
    ModelRegistry registry = lethe.internals().registry();
    TrainSettings settings = Strategies.settings(config);
    Training training = lethe.internals().training();
    return new Trained(store, registry, settings, training, training.run(ShardSelection.all()).published());
  }

  /** The settings of the shared trained Adult store, beside {@link #adultConfig}'s. */
  private static final Map<String, String> SHARED_ADULT = Map.of("train.param.maxIter", "20");
  private static Path sharedAdultTemplate;

  /** The configuration of a copy of the shared trained Adult store under {@code dir}. */
  protected static LetheConfig sharedAdultConfig(Path dir) {
    return adultConfig(4, dir, SHARED_ADULT);
  }

  /**
   * A copy of the suite's shared trained Adult store under {@code dir}: the first 2,000 people in
   * 4 shards, logistic regression (maxIter 20), ingested and trained once per test JVM into a
   * template that no test writes to; each class forgets, verifies and audits on its own copy (its
   * store, models, runs and ledger, as {@link #sharedAdultConfig} names them). A copy of the files
   * is a copy of the tables: Delta's log and the registry name their files relative to their roots.
   */
  protected static Trained sharedAdult(Path dir) {
    Path template = sharedAdultTemplate();
    try (java.util.stream.Stream<Path> files = java.nio.file.Files.walk(template)) {
      for (Path from : files.toList()) {
        Path to = dir.resolve(template.relativize(from).toString());
        if (java.nio.file.Files.isDirectory(from)) {
          java.nio.file.Files.createDirectories(to);
        } else {
          java.nio.file.Files.copy(from, to, java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
        }
      }
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    LetheConfig config = sharedAdultConfig(dir);
    io.lethe.api.Lethe lethe = io.lethe.api.Lethe.get(spark(), config);
    return new Trained(lethe.internals().store(), lethe.internals().registry(), Strategies.settings(config),
        lethe.internals().training(),
        lethe.internals().registry().latest().orElseThrow());
  }

  private static synchronized Path sharedAdultTemplate() {
    if (sharedAdultTemplate == null) {
      try {
        Path template = java.nio.file.Files.createTempDirectory("lethe-shared-adult");
        ingestAndTrain(sharedAdultConfig(template), adultTrain(2000));
        sharedAdultTemplate = template;
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }
    return sharedAdultTemplate;
  }

  /**
   * Rows of the given subjects in any Parquet file under a store's directory, read raw: data
   * files whatever their deletion vectors say, files of old versions, change data. Zero only when
   * no file on storage holds them.
   */
  protected static long rowsOnStorage(String storePath, String column, List<String> ids) {
    // Delta log checkpoints are Parquet too, but hold log actions, not rows.
    List<String> parquet = filesUnder(storePath).stream().map(org.apache.hadoop.fs.Path::toString)
        .filter(f -> f.endsWith(".parquet") && !f.contains("/_delta_log/")).toList();
    if (parquet.isEmpty()) {
      return 0;
    }
    // One query over every file: their schemas merged (change data has columns of its own), and no
    // partition inferred from the paths (data and change data lie under different roots).
    return spark().read().option("mergeSchema", "true").option("recursiveFileLookup", "true")
        .parquet(parquet.toArray(String[]::new)).where(col(column).cast("string").isin(ids.toArray())).count();
  }

  /** Every file under a location, listed on its Hadoop file system (file://, hdfs://, ...). */
  protected static List<org.apache.hadoop.fs.Path> filesUnder(String location) {
    HadoopFiles files = new HadoopFiles(spark().sparkContext().hadoopConfiguration());
    return files.filesUnder(files.qualify(location));
  }

  /** The bytes of every file under a location as one string (ISO-8859-1, so binary files read too). */
  protected static String readAll(String location) throws IOException {
    Configuration conf = spark().sparkContext().hadoopConfiguration();
    StringBuilder all = new StringBuilder();
    for (org.apache.hadoop.fs.Path p : filesUnder(location)) {
      try (InputStream in = p.getFileSystem(conf).open(p)) {
        all.append(new String(in.readAllBytes(), StandardCharsets.ISO_8859_1));
      }
    }
    return all.toString();
  }

  /**
   * Rows of the given subjects readable from each version of a store by time travel: a version
   * whose files are gone (VACUUM) counts as 0, since nothing can be read from it.
   */
  protected static Map<Long, Long> rowsByTimeTravel(String storePath, String column, List<String> ids) {
    Map<Long, Long> out = new java.util.TreeMap<>();
    for (Row r : io.delta.tables.DeltaTable.forPath(spark(), storePath).history().select("version").collectAsList()) {
      long v = r.getLong(0);
      try {
        out.put(v, (long) spark().read().format("delta").option("versionAsOf", v).load(storePath)
            .where(col(column).cast("string").isin(ids.toArray())).collectAsList().size());
      } catch (Exception filesGone) {
        out.put(v, 0L);
      }
    }
    return out;
  }

  /**
   * Reads a saved sub-model as Lethe does ({@link io.lethe.internal.registry.PipelineReader}, on the driver)
   * and as spark.ml does ({@link org.apache.spark.ml.PipelineModel#load}), and checks that the two
   * are the same model: the same stage classes and uids, every parameter set and defaulted alike,
   * and the same output, every column, on the given rows. Returns Lethe's read.
   */
  protected static org.apache.spark.ml.PipelineModel readsAsSparkDoes(org.apache.hadoop.fs.Path subModel,
      Dataset<Row> rows) {
    org.apache.spark.ml.PipelineModel ours = io.lethe.internal.registry.PipelineReader.load(
        new HadoopFiles(spark().sparkContext().hadoopConfiguration()), subModel);
    org.apache.spark.ml.PipelineModel spark = org.apache.spark.ml.PipelineModel.load(subModel.toString());
    org.assertj.core.api.Assertions.assertThat(ours.uid()).isEqualTo(spark.uid());
    org.assertj.core.api.Assertions.assertThat(ours.stages()).hasSameSizeAs(spark.stages());
    for (int i = 0; i < spark.stages().length; i++) {
      org.apache.spark.ml.Transformer a = ours.stages()[i];
      org.apache.spark.ml.Transformer b = spark.stages()[i];
      org.assertj.core.api.Assertions.assertThat(a.getClass()).isEqualTo(b.getClass());
      org.assertj.core.api.Assertions.assertThat(a.uid()).isEqualTo(b.uid());
      for (org.apache.spark.ml.param.Param<?> raw : b.params()) {
        @SuppressWarnings("unchecked")
        org.apache.spark.ml.param.Param<Object> p = (org.apache.spark.ml.param.Param<Object>) raw;
        org.assertj.core.api.Assertions.assertThat(a.isSet(a.getParam(p.name()))).as(b.uid() + " " + p.name())
            .isEqualTo(b.isSet(p));
        if (b.isDefined(p)) {
          org.assertj.core.api.Assertions.assertThat(p.jsonEncode(a.getOrDefault(a.getParam(p.name()))))
              .as(b.uid() + " " + p.name()).isEqualTo(p.jsonEncode(b.getOrDefault(p)));
        }
      }
    }
    Dataset<Row> byOurs = ours.transform(rows);
    Dataset<Row> bySpark = spark.transform(rows);
    org.assertj.core.api.Assertions.assertThat(byOurs.columns()).containsExactly(bySpark.columns());
    // Vectors do not compare in SQL: their string forms do.
    org.apache.spark.sql.Column[] asText = java.util.Arrays.stream(bySpark.columns())
        .map(c -> org.apache.spark.sql.functions.col(c).cast("string").as(c)).toArray(org.apache.spark.sql.Column[]::new);
    org.assertj.core.api.Assertions.assertThat(byOurs.select(asText).exceptAll(bySpark.select(asText)).count())
        .as("rows the two reads transform differently").isZero();
    return ours;
  }

  /** The share of the rows in their most frequent label: the accuracy of a model that learned nothing. */
  protected static double majorityRate(Dataset<Row> rows, String label) {
    return rows.groupBy(label).count().agg(org.apache.spark.sql.functions.max("count")).head().getLong(0)
        / (double) rows.count();
  }

  /** The ledger key of the tests' configurations. */
  protected static final String LEDGER_KEY = "lethe-tests-ledger-key";

  /** A forgetter over a trained fixture, with the config's ledger and forget settings. */
  protected static Forgetter forgetter(Trained trained, LetheConfig config) {
    return new Forgetter(trained.store(), trained.registry(), trained.training(), ForgetLedger.from(spark(), config),
        LedgerKey.from(config), ForgetSettings.from(config));
  }

  /** Adult store settings with a fixed salt and the given shard count, plus overrides. */
  protected static LetheConfig adultConfig(int shards, Path dir, Map<String, String> more) {
    Map<String, String> settings = new HashMap<>(AdultData.storeSettings());
    settings.put(LetheConfig.STORE_SHARDS, Integer.toString(shards));
    settings.put(LetheConfig.STORE_SALT, "lethe-tests");
    settings.put(LetheConfig.STORE_PATH, dir.resolve("store").toString());
    settings.put(LetheConfig.MODELS_PATH, dir.resolve("models").toString());
    settings.put(LetheConfig.RUNS_PATH, dir.resolve("runs").toString());
    settings.put(LetheConfig.LEDGER_PATH, dir.resolve("ledger").toString());
    settings.put(LetheConfig.LEDGER_KEY, LEDGER_KEY);
    settings.put(LetheConfig.PURGE_RETENTION_HOURS, "0");
    settings.putAll(more);
    return LetheConfig.load(null, settings);
  }

  /**
   * A store version that reads as {@code version} does in a shard: itself while its files are on
   * storage, else the purge's rewrite (REORG drops the rows behind deletion vectors, VACUUM removes
   * the old files) if the shard's rows did not change since.
   */
  static long readable(io.lethe.internal.store.ShardedStore store, long version, int shard) {
    return store.readableWithSameRows(version, shard).orElseThrow(() -> new AssertionError(
        "store version " + version + " of shard " + shard + " can no longer be read"));
  }
}
