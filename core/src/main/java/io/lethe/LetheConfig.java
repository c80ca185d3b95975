package io.lethe;

import java.io.IOException;
import java.io.InputStream;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.SparkConf;
import scala.Tuple2;

/**
 * Lethe's settings: the documented keys of conf/lethe.properties, then command-line overrides.
 * Unknown keys are refused, so a typo never silently falls back to a default.
 */
@Evolving
public final class LetheConfig {
  public static final String STORE_PATH = "store.path";
  public static final String MODELS_PATH = "models.path";
  public static final String MODELS_PUBLISH_LOG = "models.publish-log";
  public static final String MODELS_SECRETS_PATH = "models.secrets-path";
  public static final String TABLES_LOCATION = "tables.location";
  public static final String RUNS_PATH = "runs.path";
  public static final String STORE_SHARDS = "store.shards";
  public static final String STORE_SUBJECT_COLUMN = "store.subject-column";
  public static final String STORE_SALT = "store.salt";
  public static final String STORE_LABEL_COLUMN = "store.label-column";
  public static final String STORE_TASK = "store.task";
  public static final String STORE_NUMERIC = "store.features.numeric";
  public static final String STORE_CATEGORICAL = "store.features.categorical";
  public static final String STORE_EXCLUDE = "store.features.exclude";
  public static final String TRAIN_ESTIMATOR = "train.estimator";
  /** The path of an unfitted spark.ml Pipeline (Pipeline.write()) that each shard fits; empty for Lethe's own. */
  public static final String TRAIN_PIPELINE = "train.pipeline";
  public static final String TRAIN_SEED = "train.seed";
  public static final String TRAIN_PARALLELISM = "train.parallelism";
  public static final String TRAIN_IMPUTE = "train.impute";
  public static final String TRAIN_SCALE = "train.scale";
  public static final String TRAIN_ENGINE = "train.engine";
  public static final String TRAIN_TASK_MEMORY_MB = "train.task-memory-mb";
  public static final String ENSEMBLE_AGGREGATION = "ensemble.aggregation";
  public static final String LEDGER_PATH = "ledger.path";
  public static final String LEDGER_KEY = "ledger.key";
  public static final String LEDGER_KEY_FILE = "ledger.key-file";
  public static final String LEDGER_DEADLINE_DAYS = "ledger.deadline-days";
  public static final String FORGET_RECORD_COLUMN = "forget.record-column";
  public static final String FORGET_PURGE = "forget.purge";
  public static final String FORGET_COMMIT_ATTEMPTS = "forget.commit-attempts";
  public static final String FORGET_REWRITE_FILES = "forget.rewrite-files";
  public static final String FORGET_MIN_BATCH = "forget.min-batch";
  public static final String FORGET_MAX_WAIT_HOURS = "forget.max-wait-hours";
  /** Followed by an estimator name: how forgetting unlearns that estimator's sub-models. */
  public static final String FORGET_STRATEGY_PREFIX = "forget.strategy.";
  public static final String VERIFY_PATH = "verify.path";
  public static final String VERIFY_RETRAIN_SHARDS = "verify.retrain-shards";
  public static final String VERIFY_MIN_AGREEMENT = "verify.min-agreement";
  public static final String VERIFY_SAMPLE_ROWS = "verify.sample-rows";
  public static final String VERIFY_TEST = "verify.test";
  public static final String VERIFY_TEST_FORMAT = "verify.test-format";
  public static final String VERIFY_TEST_OPTIONS = "verify.test-options";
  public static final String VERIFY_ATTACK_ROWS = "verify.attack-rows";
  public static final String VERIFY_EPSILON_REPETITIONS = "verify.epsilon-repetitions";
  public static final String VERIFY_PER_EXAMPLE_ROWS = "verify.per-example-rows";
  public static final String VERIFY_SHADOW_MODELS = "verify.shadow-models";
  public static final String PURGE_RETENTION_HOURS = "purge.retention-hours";
  /** Environment variable that holds the ledger's HMAC key; it wins over {@link #LEDGER_KEY}. */
  public static final String LEDGER_KEY_ENV = "LETHE_LEDGER_KEY";
  public static final String TRAIN_PARAM_PREFIX = "train.param.";
  public static final String SPARK_PREFIX = "spark.";

  /**
   * Keys that parts of Lethe declare themselves, with their defaults: each unlearning strategy its
   * own parameters (io.lethe.internal.unlearn.Strategies provides them). Found through
   * {@link java.util.ServiceLoader}, so this class names none of them and the layers below it stay
   * free of what is built on them.
   */
  public interface Keys {
    /** Each key and its default, as conf/lethe.properties documents it. */
    Map<String, String> defaults();
  }

  private static volatile Map<String, String> defaults;

  private final Map<String, String> values;

  private LetheConfig(Map<String, String> values) {
    this.values = Collections.unmodifiableMap(new TreeMap<>(values));
  }

  /**
   * The built-in keys and those declared through {@link Keys}, found on first use: in a static
   * initializer, a provider whose own initialization reads this class would see it half made.
   */
  private static Map<String, String> defaults() {
    Map<String, String> d = defaults;
    if (d == null) {
      Map<String, String> all = builtInDefaults();
      for (Keys keys : java.util.ServiceLoader.load(Keys.class, LetheConfig.class.getClassLoader())) {
        keys.defaults().forEach((key, value) -> {
          if (all.putIfAbsent(key, value) != null) {
            throw new IllegalStateException("Configuration key " + key + " is declared twice");
          }
        });
      }
      d = Collections.unmodifiableMap(all);
      defaults = d;
    }
    return d;
  }

  private static Map<String, String> builtInDefaults() {
    Map<String, String> d = new LinkedHashMap<>();
    d.put(STORE_PATH, "lethe-data/store");
    d.put(MODELS_PUBLISH_LOG, "");
    d.put(MODELS_SECRETS_PATH, "");
    d.put(TABLES_LOCATION, "");
    d.put(MODELS_PATH, "lethe-data/models");
    d.put(RUNS_PATH, "lethe-data/runs");
    d.put(STORE_SHARDS, "8");
    d.put(STORE_SUBJECT_COLUMN, "subject_id");
    d.put(STORE_SALT, "");
    d.put(STORE_LABEL_COLUMN, "label");
    d.put(STORE_TASK, "classification");
    d.put(STORE_NUMERIC, "");
    d.put(STORE_CATEGORICAL, "");
    d.put(STORE_EXCLUDE, "");
    d.put(TRAIN_ESTIMATOR, "logistic_regression");
    d.put(TRAIN_PIPELINE, "");
    d.put(TRAIN_SEED, "42");
    d.put(TRAIN_PARALLELISM, "2");
    d.put(TRAIN_IMPUTE, "true");
    d.put(TRAIN_SCALE, "true");
    d.put(TRAIN_ENGINE, "auto");
    d.put(TRAIN_TASK_MEMORY_MB, "1024");
    d.put(ENSEMBLE_AGGREGATION, "soft");
    d.put(LEDGER_PATH, "lethe-data/ledger");
    d.put(LEDGER_KEY, "");
    d.put(LEDGER_KEY_FILE, "");
    d.put(LEDGER_DEADLINE_DAYS, "30");
    d.put(FORGET_RECORD_COLUMN, "");
    d.put(FORGET_PURGE, "true");
    d.put(FORGET_COMMIT_ATTEMPTS, "5");
    d.put(FORGET_REWRITE_FILES, "false");
    d.put(FORGET_MIN_BATCH, "1");
    d.put(FORGET_MAX_WAIT_HOURS, "72");
    d.put(VERIFY_PATH, "lethe-data/verify");
    d.put(VERIFY_RETRAIN_SHARDS, "0");
    d.put(VERIFY_MIN_AGREEMENT, "0.99");
    d.put(VERIFY_SAMPLE_ROWS, "2000");
    d.put(VERIFY_TEST, "");
    d.put(VERIFY_TEST_FORMAT, "csv");
    d.put(VERIFY_TEST_OPTIONS, "header=true,inferSchema=true");
    d.put(VERIFY_ATTACK_ROWS, "2000");
    d.put(VERIFY_EPSILON_REPETITIONS, "20");
    d.put(VERIFY_PER_EXAMPLE_ROWS, "50");
    d.put(VERIFY_SHADOW_MODELS, "8");
    d.put(PURGE_RETENTION_HOURS, "24");
    return d;
  }

  /** Built-in defaults only. */
  public static LetheConfig defaultsOnly() {
    return new LetheConfig(defaults());
  }

  /**
   * Defaults, then the file (any Hadoop location; null for none), then the overrides in order.
   */
  public static LetheConfig load(String file, Map<String, String> overrides) {
    Map<String, String> merged = new LinkedHashMap<>(defaults());
    if (file != null) {
      merged.putAll(readFile(file));
    }
    merged.putAll(overrides);
    merged.keySet().forEach(LetheConfig::checkKnown);
    return new LetheConfig(merged);
  }

  public LetheConfig with(Map<String, String> overrides) {
    Map<String, String> merged = new LinkedHashMap<>(values);
    merged.putAll(overrides);
    merged.keySet().forEach(LetheConfig::checkKnown);
    return new LetheConfig(merged);
  }

  private static void checkKnown(String key) {
    // Prefixed keys are checked where they are used: train.param.* against the estimator's own
    // parameters, forget.strategy.* against the strategies and the estimators they apply to.
    if (!defaults().containsKey(key) && !key.startsWith(TRAIN_PARAM_PREFIX) && !key.startsWith(SPARK_PREFIX)
        && !key.startsWith(FORGET_STRATEGY_PREFIX)) {
      throw new InvalidConfigException("Unknown configuration key '" + key + "' (see conf/lethe.properties for the keys)");
    }
  }

  private static Map<String, String> readFile(String file) {
    Path path = new Path(file);
    Properties props = new Properties();
    // Read before the session exists: Hadoop's own configuration files, plus the spark.hadoop.*
    // settings spark-submit passed (credentials of an object store, for example).
    Configuration hadoop = new Configuration();
    for (Tuple2<String, String> setting : new SparkConf().getAllWithPrefix("spark.hadoop.")) {
      hadoop.set(setting._1(), setting._2());
    }
    try (InputStream in = path.getFileSystem(hadoop).open(path)) {
      props.load(new StringReader(new String(in.readAllBytes(), StandardCharsets.UTF_8)));
    } catch (IOException e) {
      throw new InvalidConfigException("Cannot read configuration file " + file + ": " + e.getMessage(), e);
    }
    Map<String, String> out = new LinkedHashMap<>();
    props.stringPropertyNames().forEach(k -> out.put(k, props.getProperty(k).trim()));
    return out;
  }

  public String get(String key) {
    checkKnown(key);
    return values.getOrDefault(key, "");
  }

  public int getInt(String key) {
    return parse(key, Integer::parseInt, "a whole number");
  }

  public long getLong(String key) {
    return parse(key, Long::parseLong, "a whole number");
  }

  public double getDouble(String key) {
    return parse(key, Double::parseDouble, "a number");
  }

  private <T> T parse(String key, java.util.function.Function<String, T> parser, String kind) {
    String v = get(key);
    try {
      return parser.apply(v);
    } catch (NumberFormatException e) {
      throw new InvalidConfigException("Configuration key '" + key + "' must be " + kind + ", got '" + v + "'");
    }
  }

  public boolean getBoolean(String key) {
    String v = get(key);
    if (!v.equals("true") && !v.equals("false")) {
      throw new InvalidConfigException("Configuration key '" + key + "' must be true or false, got '" + v + "'");
    }
    return Boolean.parseBoolean(v);
  }

  /** A comma-separated list; empty for an empty value. */
  public List<String> getList(String key) {
    String v = get(key);
    if (v.isBlank()) {
      return List.of();
    }
    List<String> out = new ArrayList<>();
    Arrays.stream(v.split(",")).map(String::trim).filter(s -> !s.isEmpty()).forEach(out::add);
    return out;
  }

  /** Keys under a prefix, with the prefix removed. */
  public Map<String, String> withPrefix(String prefix) {
    Map<String, String> out = new TreeMap<>();
    values.forEach((k, v) -> {
      if (k.startsWith(prefix)) {
        out.put(k.substring(prefix.length()), v);
      }
    });
    return out;
  }

  /** Spark settings from the file, passed to the session builder (with the spark. prefix kept). */
  public Map<String, String> sparkSettings() {
    Map<String, String> out = new TreeMap<>();
    withPrefix(SPARK_PREFIX).forEach((k, v) -> out.put(SPARK_PREFIX + k, v));
    return out;
  }

  public Set<String> keys() {
    return values.keySet();
  }
}
