package io.lethe.internal.verify;

import io.lethe.InvalidConfigException;
import io.lethe.LetheConfig;
import io.lethe.internal.store.SourceSpec;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * How verify works.
 *
 * @param path where reports are written (verify-&lt;batch&gt;.json and .html) and forget runs leave
 *     their membership evidence (membership/&lt;batch&gt;.json)
 * @param retrainShards how many hit shards to retrain from scratch (0: all of them)
 * @param minAgreement the share of evaluation rows a published sub-model and its from-scratch retrain
 *     must predict alike
 * @param sampleRows store rows to evaluate on when no held-out set is given
 * @param test held-out rows with the label column, never trained on (empty: none)
 * @param testFormat the Spark format of {@code test}
 * @param testOptions reader options of {@code test}
 * @param attackRows at most this many rows in each group a membership attack compares
 * @param epsilonRepetitions unlearned and retrained models per certified shard for the epsilon
 *     estimate (0: none)
 * @param perExampleRows the per-example test runs when a batch's forgotten rows are at most this many,
 *     and tests as many retained and never-seen rows beside them (0: never)
 * @param shadowModels shadow models of each hit shard the per-example test fits (in pairs: each
 *     tested row is in one model of a pair and not in the other)
 */
public record VerifySettings(String path, int retrainShards, double minAgreement, int sampleRows, String test,
    String testFormat, Map<String, String> testOptions, int attackRows, int epsilonRepetitions, int perExampleRows,
    int shadowModels) {

  public VerifySettings {
    if (retrainShards < 0 || sampleRows < 1 || minAgreement < 0 || minAgreement > 1 || attackRows < 10
        || epsilonRepetitions < 0 || perExampleRows < 0 || shadowModels < 2) {
      throw new InvalidConfigException("verify.retrain-shards must be 0 or more, verify.sample-rows 1 or more,"
          + " verify.attack-rows 10 or more, verify.epsilon-repetitions 0 or more, verify.per-example-rows 0 or more,"
          + " verify.shadow-models 2 or more and verify.min-agreement between 0 and 1");
    }
    testOptions = Map.copyOf(testOptions);
  }

  public static VerifySettings from(LetheConfig config) {
    Map<String, String> options = new LinkedHashMap<>();
    for (String pair : config.getList(LetheConfig.VERIFY_TEST_OPTIONS)) {
      int eq = pair.indexOf('=');
      if (eq < 1) {
        throw new InvalidConfigException(LetheConfig.VERIFY_TEST_OPTIONS + " takes key=value pairs separated by commas, got '"
            + pair + "'");
      }
      options.put(pair.substring(0, eq).trim(), pair.substring(eq + 1).trim());
    }
    return new VerifySettings(config.get(LetheConfig.VERIFY_PATH), config.getInt(LetheConfig.VERIFY_RETRAIN_SHARDS),
        config.getDouble(LetheConfig.VERIFY_MIN_AGREEMENT), config.getInt(LetheConfig.VERIFY_SAMPLE_ROWS),
        config.get(LetheConfig.VERIFY_TEST), config.get(LetheConfig.VERIFY_TEST_FORMAT), options,
        config.getInt(LetheConfig.VERIFY_ATTACK_ROWS), config.getInt(LetheConfig.VERIFY_EPSILON_REPETITIONS),
        config.getInt(LetheConfig.VERIFY_PER_EXAMPLE_ROWS), config.getInt(LetheConfig.VERIFY_SHADOW_MODELS));
  }

  /** The configured held-out source, if any. */
  public Optional<SourceSpec> testSource() {
    return test.isBlank() ? Optional.empty() : Optional.of(new SourceSpec(testFormat, test, testOptions, List.of()));
  }
}
