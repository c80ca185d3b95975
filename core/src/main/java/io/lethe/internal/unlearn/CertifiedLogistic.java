package io.lethe.internal.unlearn;

import dev.ludovic.netlib.lapack.LAPACK;
import io.lethe.LetheException;
import java.io.Serializable;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.ml.linalg.SparseVector;
import org.apache.spark.ml.linalg.Vector;
import org.netlib.util.intW;

/**
 * L2-regularised binary logistic regression with objective perturbation, as certified removal
 * needs it (Guo, Goldstein, Hannun and van der Maaten, "Certified Data Removal from Machine
 * Learning Models", ICML 2020). The objective over n rows with features x (an intercept entry of
 * 1 appended) and labels y in {0, 1} is
 *
 * <pre>L_b(w) = sum_i log(1 + exp(w.x_i)) - y_i w.x_i + (lambda n / 2) |w|^2 + b.w</pre>
 *
 * with b a secret random vector drawn once, at training, from N(0, sigma^2). It is minimised by
 * Newton's method: each iteration is one Spark pass that sums the gradient and the Hessian (sparse
 * rows add only their active entries), then a Cholesky solve on the driver.
 *
 * <p>Removal is one Newton step from the current weights on the remaining rows, followed by a
 * pass that computes the gradient of L_b there: its norm (the gradient residual) is exact, not a
 * worst-case bound, and it covers every removal since the last exact solve because the step's
 * gradient is taken over the remaining rows. When it is at most the budget sigma * epsilon / c,
 * with c = sqrt(2 ln(1.5 / delta)), the result is (epsilon, delta)-certified (Guo et al.,
 * Theorem 2 with Gaussian noise); otherwise the caller solves to the exact optimum.
 */
public final class CertifiedLogistic {
  /** Newton's method stops when the gradient norm is below this times n. */
  private static final double TOLERANCE = 1e-9;
  private static final int MAX_ITERATIONS = 60;

  private CertifiedLogistic() {}

  /** The residual budget of (epsilon, delta)-certified removal with noise of standard deviation sigma. */
  public static double budget(double epsilon, double delta, double sigma) {
    return sigma * epsilon / Math.sqrt(2 * Math.log(1.5 / delta));
  }

  /** Sums over rows at one point: count, loss, gradient and (optionally) the Hessian, packed upper. */
  public static final class Pass implements Serializable {
    private static final long serialVersionUID = 1L;
    final double[] w;
    final boolean hessian;
    long n;
    double loss;
    final double[] gradient;
    final double[] packed;

    Pass(double[] w, boolean hessian) {
      this.w = w;
      this.hessian = hessian;
      gradient = new double[w.length];
      packed = hessian ? new double[w.length * (w.length + 1) / 2] : new double[0];
    }

    /** Adds a row: features (without the intercept) and label. */
    Pass add(Vector x, double y) {
      int d = w.length - 1;
      int[] index;
      double[] value;
      int m = 0;
      if (x instanceof SparseVector sparse) {
        index = new int[sparse.indices().length + 1];
        value = new double[index.length];
        for (int a = 0; a < sparse.indices().length; a++) {
          if (sparse.values()[a] != 0.0) {
            index[m] = sparse.indices()[a];
            value[m++] = sparse.values()[a];
          }
        }
      } else {
        double[] dense = x.toArray();
        index = new int[dense.length + 1];
        value = new double[index.length];
        for (int a = 0; a < dense.length; a++) {
          if (dense[a] != 0.0) {
            index[m] = a;
            value[m++] = dense[a];
          }
        }
      }
      index[m] = d;
      value[m++] = 1.0;
      double z = 0;
      for (int a = 0; a < m; a++) {
        z += w[index[a]] * value[a];
      }
      double p = 1 / (1 + Math.exp(-z));
      loss += (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z))) - y * z;
      n++;
      double g = p - y;
      for (int a = 0; a < m; a++) {
        gradient[index[a]] += g * value[a];
      }
      if (hessian) {
        double h = p * (1 - p);
        for (int a = 0; a < m; a++) {
          for (int b = a; b < m; b++) {
            int i = Math.min(index[a], index[b]);
            int j = Math.max(index[a], index[b]);
            packed[j * (j + 1) / 2 + i] += h * value[a] * value[b];
          }
        }
      }
      return this;
    }

    Pass plus(Pass other) {
      n += other.n;
      loss += other.loss;
      for (int i = 0; i < gradient.length; i++) {
        gradient[i] += other.gradient[i];
      }
      for (int i = 0; i < packed.length; i++) {
        packed[i] += other.packed[i];
      }
      return this;
    }
  }

  /** The objective's value, gradient and Hessian at w over the rows, with penalty and noise added. */
  public record Point(double[] w, long n, double objective, double[] gradient, double[] hessian) {
    public double residual() {
      double s = 0;
      for (double g : gradient) {
        s += g * g;
      }
      return Math.sqrt(s);
    }
  }

  /** The sums of a pass over rows at a point: a Spark job over an RDD, or a loop over rows in memory. */
  public interface Rows {
    Pass sum(double[] w, boolean hessian);
  }

  /** Rows of a Spark RDD: each pass is one Spark job. */
  public static Rows of(JavaRDD<LabeledVector> rows) {
    return (w, hessian) -> rows.treeAggregate(new Pass(w, hessian), (p, r) -> p.add(r.features(), r.label()),
        Pass::plus);
  }

  /** Rows held in the driver (a shard's rows collected for repeated small fits). */
  public static Rows local(List<LabeledVector> rows) {
    return (w, hessian) -> {
      Pass sums = new Pass(w, hessian);
      rows.forEach(r -> sums.add(r.features(), r.label()));
      return sums;
    };
  }

  /** One pass over the rows at w. */
  public static Point at(JavaRDD<LabeledVector> rows, double[] w, double lambda, double[] noise, boolean hessian) {
    return at(of(rows), w, lambda, noise, hessian);
  }

  /** One pass over the rows at w. */
  public static Point at(Rows rows, double[] w, double lambda, double[] noise, boolean hessian) {
    Pass sums = rows.sum(w, hessian);
    long n = sums.n;
    double objective = sums.loss;
    double[] gradient = sums.gradient.clone();
    for (int i = 0; i < w.length; i++) {
      objective += lambda * n / 2 * w[i] * w[i] + noise[i] * w[i];
      gradient[i] += lambda * n * w[i] + noise[i];
    }
    double[] packed = null;
    if (hessian) {
      packed = sums.packed.clone();
      for (int i = 0; i < w.length; i++) {
        packed[i * (i + 1) / 2 + i] += lambda * n;
      }
    }
    return new Point(w, n, objective, gradient, packed);
  }

  /** A row: its feature vector and its label (0 or 1). */
  public record LabeledVector(Vector features, double label) implements Serializable {}

  /** The Newton step from a point: -H^-1 g. */
  public static double[] newtonStep(Point p) {
    int k = p.w().length;
    double[] h = p.hessian().clone();
    double[] x = new double[k];
    for (int i = 0; i < k; i++) {
      x[i] = -p.gradient()[i];
    }
    intW info = new intW(0);
    LAPACK.getInstance().dppsv("U", k, 1, h, x, k, info);
    if (info.val != 0) {
      throw new LetheException("The Hessian of the certified logistic regression is not positive definite (LAPACK"
          + " info " + info.val + "): regParam must be positive");
    }
    return x;
  }

  /**
   * Certified removal's step: one Newton step from {@code start} on the remaining rows, and the point
   * it reaches (with its gradient, whose norm the removal checks against its budget).
   */
  public static Point removalStep(Rows remaining, double[] start, double lambda, double[] noise) {
    double[] step = newtonStep(at(remaining, start, lambda, noise, true));
    double[] w = start.clone();
    for (int i = 0; i < w.length; i++) {
      w[i] += step[i];
    }
    return at(remaining, w, lambda, noise, false);
  }

  /** Minimises L_b from a start point by Newton's method; returns the optimum's point (with its gradient). */
  public static Point solve(JavaRDD<LabeledVector> rows, double[] start, double lambda, double[] noise) {
    return solve(of(rows), start, lambda, noise);
  }

  /** Minimises L_b from a start point by Newton's method; returns the optimum's point (with its gradient). */
  public static Point solve(Rows rows, double[] start, double lambda, double[] noise) {
    Point p = at(rows, start, lambda, noise, true);
    for (int iteration = 0; iteration < MAX_ITERATIONS; iteration++) {
      if (p.residual() <= TOLERANCE * Math.max(1, p.n())) {
        return p;
      }
      double[] step = newtonStep(p);
      double scale = 1.0;
      Point next;
      // A full Newton step, halved while it raises the objective by more than the rounding of its
      // sum (near the optimum the decrease is below that, and the full step is right).
      double slack = 1e-9 * Math.abs(p.objective());
      do {
        double[] w = p.w().clone();
        for (int i = 0; i < w.length; i++) {
          w[i] += scale * step[i];
        }
        next = at(rows, w, lambda, noise, true);
        scale /= 2;
      } while (next.objective() > p.objective() + slack && scale > 1e-6);
      p = next;
    }
    if (p.residual() > TOLERANCE * Math.max(1, p.n()) * 1e3) {
      throw new LetheException("The certified logistic regression did not converge in " + MAX_ITERATIONS
          + " Newton iterations (gradient norm " + p.residual() + ")");
    }
    return p;
  }
}
