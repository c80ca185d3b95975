package io.lethe.internal.unlearn;

import io.lethe.CorruptRegistryException;
import java.security.SecureRandom;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What a certified sub-model keeps (lethe-certified.secret.json, under the registry's secrets
 * location, not beside it), and is retired with: the secret noise vector b of its objective, by
 * feature name, and where its last removal left it.
 * The noise is drawn from a SecureRandom, never from the training seed (which the manifest
 * records): the certificate holds against someone who does not know b.
 *
 * @param epsilon the certificate's epsilon when the weights were last changed
 * @param delta the certificate's delta
 * @param sigma standard deviation of the noise
 * @param regParam lambda of the objective
 * @param features the feature names, in coefficient order (the intercept last, as "(intercept)")
 * @param noise b, in the same order
 * @param weights the sub-model's weights, in the same order
 * @param residual the gradient norm of the objective at the weights on the sub-model's rows
 * @param budget the largest residual the certificate allows: sigma * epsilon / sqrt(2 ln(1.5 / delta))
 * @param removals removal steps since the last exact solve (0: the weights are the exact optimum)
 */
public record CertifiedState(double epsilon, double delta, double sigma, double regParam, List<String> features,
    double[] noise, double[] weights, double residual, double budget, int removals) {

  /** A secret state file ({@link io.lethe.internal.registry.ModelRegistry#SECRET_SUFFIX}): anyone holding b undoes the certificate. */
  public static final String FILE_NAME = "lethe-certified" + io.lethe.internal.registry.ModelRegistry.SECRET_SUFFIX;
  public static final String INTERCEPT = "(intercept)";
  private static final SecureRandom RANDOM = new SecureRandom();

  public CertifiedState {
    features = List.copyOf(features);
    if (noise.length != features.size() || weights.length != features.size()) {
      throw new CorruptRegistryException("Corrupt certified state: " + noise.length + " noise values and " + weights.length
          + " weights for " + features.size() + " features");
    }
  }

  /** The certificate's figures, for run summaries and reports. */
  public java.util.Map<String, Double> certificate() {
    java.util.Map<String, Double> out = new java.util.LinkedHashMap<>();
    out.put("epsilon", epsilon);
    out.put("delta", delta);
    out.put("noise", sigma);
    out.put("budget", budget);
    out.put("residual", residual);
    return out;
  }

  /** Whether the weights are the exact optimum of the objective (no removal step since the last solve). */
  public boolean exact() {
    return removals == 0;
  }

  /**
   * The noise for a feature list: this state's value for a feature it knows, a fresh draw for a new
   * one (a category first seen in rows appended since).
   */
  public double[] noiseFor(List<String> names) {
    Map<String, Double> known = new HashMap<>();
    for (int i = 0; i < features.size(); i++) {
      known.put(features.get(i), noise[i]);
    }
    return names.stream().mapToDouble(n -> known.containsKey(n) ? known.get(n) : sigma * RANDOM.nextGaussian())
        .toArray();
  }

  /** Fresh noise for a feature list. */
  public static double[] freshNoise(List<String> names, double sigma) {
    return names.stream().mapToDouble(n -> sigma * RANDOM.nextGaussian()).toArray();
  }

  /** Weights given in {@code from}'s feature order, in {@code to}'s order (0 for a new feature). */
  public static double[] remap(List<String> from, double[] weights, List<String> to) {
    Map<String, Double> known = new HashMap<>();
    for (int i = 0; i < from.size(); i++) {
      known.put(from.get(i), weights[i]);
    }
    return to.stream().mapToDouble(n -> known.getOrDefault(n, 0.0)).toArray();
  }
}
