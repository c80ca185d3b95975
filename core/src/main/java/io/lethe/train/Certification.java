package io.lethe.train;

import io.lethe.InvalidConfigException;
import io.lethe.LetheConfig;

/**
 * The parameters of (epsilon, delta)-certified removal: training draws the objective's noise with
 * standard deviation {@code noise}; a removal is certified while the gradient residual stays within
 * noise * epsilon / sqrt(2 ln(1.5 / delta)).
 */
public record Certification(double epsilon, double delta, double noise) {
  public Certification {
    if (!(epsilon > 0) || !(delta > 0 && delta < 1) || !(noise > 0)) {
      throw new InvalidConfigException("Certified removal needs forget.certified.epsilon > 0, 0 < forget.certified.delta < 1"
          + " and forget.certified.noise > 0; got " + epsilon + ", " + delta + ", " + noise);
    }
  }

  public static Certification from(LetheConfig config) {
    return new Certification(config.getDouble(LetheConfig.FORGET_CERTIFIED_EPSILON),
        config.getDouble(LetheConfig.FORGET_CERTIFIED_DELTA), config.getDouble(LetheConfig.FORGET_CERTIFIED_NOISE));
  }
}
