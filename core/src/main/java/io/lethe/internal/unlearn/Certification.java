package io.lethe.internal.unlearn;

import io.lethe.InvalidConfigException;
import io.lethe.LetheConfig;

/**
 * The parameters of (epsilon, delta)-certified removal: training draws the objective's noise with
 * standard deviation {@code noise}; a removal is certified while the gradient residual stays within
 * noise * epsilon / sqrt(2 ln(1.5 / delta)).
 */
record Certification(double epsilon, double delta, double noise) {
  static final String EPSILON = "forget.certified.epsilon";
  static final String DELTA = "forget.certified.delta";
  static final String NOISE = "forget.certified.noise";
  /** The configuration keys and their defaults, as conf/lethe.properties documents them. */
  static final java.util.Map<String, String> KEYS = java.util.Map.of(EPSILON, "1.0", DELTA, "0.0001", NOISE, "1.0");
  /** What training and forgetting use when the configuration gives no other: those defaults. */
  static final Certification DEFAULT = new Certification(Double.parseDouble(KEYS.get(EPSILON)),
      Double.parseDouble(KEYS.get(DELTA)), Double.parseDouble(KEYS.get(NOISE)));

  Certification {
    if (!(epsilon > 0) || !(delta > 0 && delta < 1) || !(noise > 0)) {
      throw new InvalidConfigException("Certified removal needs " + EPSILON + " > 0, 0 < " + DELTA + " < 1"
          + " and " + NOISE + " > 0; got " + epsilon + ", " + delta + ", " + noise);
    }
  }

  static Certification from(LetheConfig config) {
    return new Certification(config.getDouble(EPSILON), config.getDouble(DELTA), config.getDouble(NOISE));
  }
}
