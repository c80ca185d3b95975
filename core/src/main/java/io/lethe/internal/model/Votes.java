package io.lethe.internal.model;


import java.util.Arrays;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.api.java.UDF1;

/**
 * The ensemble's vote as Spark functions: a hard vote's one-hot vector of a class index, the
 * weighted sum of the sub-models' votes, its normalization into probabilities, and the winning class.
 */
final class Votes {
  private Votes() {}

  static UDF1<Double, Vector> oneHot(int classes) {
    return prediction -> Vectors.sparse(classes, new int[] {prediction.intValue()}, new double[] {1.0}).toDense();
  }

  static UDF1<scala.collection.Seq<Vector>, Vector> weightedSum(double[] weights) {
    return votes -> {
      double[] sum = new double[votes.apply(0).size()];
      for (int i = 0; i < votes.length(); i++) {
        double[] v = votes.apply(i).toArray();
        for (int c = 0; c < sum.length; c++) {
          sum[c] += weights[i] * v[c];
        }
      }
      return Vectors.dense(sum);
    };
  }

  static UDF1<Vector, Vector> normalize() {
    return v -> {
      double[] a = v.toArray().clone();
      double total = Arrays.stream(a).sum();
      if (total > 0) {
        for (int i = 0; i < a.length; i++) {
          a[i] /= total;
        }
      }
      return Vectors.dense(a);
    };
  }

  static UDF1<Vector, Double> argmax() {
    return v -> (double) v.argmax();
  }
}
