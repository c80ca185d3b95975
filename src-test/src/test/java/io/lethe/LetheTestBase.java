package io.lethe;

import static org.apache.spark.sql.functions.col;

import io.lethe.demo.AdultData;
import io.lethe.model.Aggregation;
import io.lethe.registry.EnsembleManifest;
import io.lethe.registry.ModelRegistry;
import io.lethe.spark.LetheSpark;
import io.lethe.store.ShardedStore;
import io.lethe.train.ShardSelection;
import io.lethe.train.TrainSettings;
import io.lethe.train.Training;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * Owns the one local SparkSession of the suite (surefire runs every class in one JVM) and the real
 * Adult data the tests use, kept small: Spark's fixed costs, not data, dominate here.
 */
public abstract class LetheTestBase {
  private static SparkSession spark;
  private static Dataset<Row> adultTrain;
  private static Dataset<Row> adultTest;

  protected static synchronized SparkSession spark() {
    if (spark == null) {
      spark = LetheSpark.getOrCreate("lethe-tests", Map.of("spark.ui.enabled", "false"));
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

  /** A store with a published ensemble: what most tests start from. */
  protected record Trained(ShardedStore store, ModelRegistry registry, TrainSettings settings, Training training,
      EnsembleManifest published) {}

  /** Ingests the rows into the config's store and trains and publishes every shard. */
  protected static Trained ingestAndTrain(LetheConfig config, Dataset<Row> rows) {
    ShardedStore.ingest(spark(), config.get(LetheConfig.STORE_PATH), rows, config, false);
    ShardedStore store = ShardedStore.open(spark(), config.get(LetheConfig.STORE_PATH));
    ModelRegistry registry = new ModelRegistry(spark(), config.get(LetheConfig.MODELS_PATH));
    TrainSettings settings = TrainSettings.from(config);
    Training training = new Training(store, registry, settings,
        Aggregation.parse(config.get(LetheConfig.ENSEMBLE_AGGREGATION)));
    return new Trained(store, registry, settings, training, training.run(ShardSelection.all()).published());
  }

  /** Adult store settings with a fixed salt and the given shard count, plus overrides. */
  protected static LetheConfig adultConfig(int shards, Path dir, Map<String, String> more) {
    Map<String, String> settings = new HashMap<>(AdultData.storeSettings());
    settings.put(LetheConfig.STORE_SHARDS, Integer.toString(shards));
    settings.put(LetheConfig.STORE_SALT, "lethe-tests");
    settings.put(LetheConfig.STORE_PATH, dir.resolve("store").toString());
    settings.put(LetheConfig.MODELS_PATH, dir.resolve("models").toString());
    settings.put(LetheConfig.RUNS_PATH, dir.resolve("runs").toString());
    settings.putAll(more);
    return LetheConfig.load(null, settings);
  }
}
