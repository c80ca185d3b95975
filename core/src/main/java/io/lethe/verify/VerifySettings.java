package io.lethe.verify;

import io.lethe.LetheConfig;
import io.lethe.LetheException;

/**
 * How verify works.
 *
 * @param path where reports are written (verify-&lt;batch&gt;.json and .html)
 * @param retrainShards how many hit shards to refit from scratch (0: all of them)
 * @param minAgreement the share of evaluation rows a published sub-model and its from-scratch refit
 *     must predict alike
 * @param sampleRows store rows to evaluate on when no held-out set is given
 */
public record VerifySettings(String path, int retrainShards, double minAgreement, int sampleRows) {

  public VerifySettings {
    if (retrainShards < 0 || sampleRows < 1 || minAgreement < 0 || minAgreement > 1) {
      throw new LetheException("verify.retrain-shards must be 0 or more, verify.sample-rows 1 or more and"
          + " verify.min-agreement between 0 and 1");
    }
  }

  public static VerifySettings from(LetheConfig config) {
    return new VerifySettings(config.get(LetheConfig.VERIFY_PATH), config.getInt(LetheConfig.VERIFY_RETRAIN_SHARDS),
        config.getDouble(LetheConfig.VERIFY_MIN_AGREEMENT), config.getInt(LetheConfig.VERIFY_SAMPLE_ROWS));
  }
}
