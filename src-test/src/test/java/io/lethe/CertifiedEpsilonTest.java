package io.lethe;

import static org.apache.spark.sql.functions.col;
import static org.assertj.core.api.Assertions.assertThat;

import io.lethe.demo.AdultData;
import io.lethe.internal.unlearn.CertifiedEpsilon;
import io.lethe.internal.unlearn.CertifiedEpsilon.Estimate;
import io.lethe.internal.unlearn.CertifiedEpsilon.Update;
import io.lethe.internal.unlearn.CertifiedLogistic;
import io.lethe.internal.unlearn.CertifiedLogistic.LabeledVector;
import java.util.List;
import org.apache.spark.ml.feature.StandardScaler;
import org.apache.spark.ml.feature.VectorAssembler;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The epsilon estimate of certified removal, on 400 rows of Adult (its numeric columns,
 * standardised): it separates Lethe's certified update from the same Newton step with the noise
 * removed.
 */
class CertifiedEpsilonTest extends LetheTestBase {
  static final double EPSILON = 1.0;
  static final double DELTA = 1e-4;
  static final double LAMBDA = 0.01;
  static final int REPETITIONS = 20;
  static List<LabeledVector> rows;

  @BeforeAll
  static void adultRows() {
    Dataset<Row> adult = adultTrain(400).withColumn("y", col(AdultData.LABEL).equalTo(">50K").cast("double"));
    Dataset<Row> assembled = new VectorAssembler().setInputCols(new String[] {"age", "education_num", "capital_gain",
        "capital_loss", "hours_per_week"}).setOutputCol("raw").transform(adult);
    Dataset<Row> scaled = new StandardScaler().setInputCol("raw").setOutputCol("x").setWithMean(true)
        .fit(assembled).transform(assembled);
    rows = scaled.select("x", "y").collectAsList().stream()
        .map(r -> new LabeledVector((Vector) r.get(0), r.getDouble(1))).toList();
  }

  @Test
  void theEstimateSeparatesACertifiedUpdateFromOneWithItsNoiseRemoved() {
    double sigma = 1.0;
    double budget = CertifiedLogistic.budget(EPSILON, DELTA, sigma);
    Estimate certified = CertifiedEpsilon.estimate(rows, 2, REPETITIONS, LAMBDA, sigma, budget, DELTA, 0.95,
        Update.CERTIFIED, 7);
    Estimate bare = CertifiedEpsilon.estimate(rows, 2, REPETITIONS, LAMBDA, 0.0, 0.0, DELTA, 0.95,
        Update.NEWTON_STEP, 7);
    System.out.printf("epsilon estimates, %d repetitions at 95%%: certified %.3f, noise removed %.3f (largest"
        + " measurable %.3f)%n", REPETITIONS, certified.epsilon(), bare.epsilon(), bare.largestMeasurable());

    assertThat(certified.repetitions()).isEqualTo(REPETITIONS);
    assertThat(certified.removed()).isEqualTo(2);
    assertThat(certified.largestMeasurable()).as("what 20 models of each kind can show at 95%")
        .isGreaterThan(EPSILON);
    // With its noise, the update cannot be told from a retrain beyond its certificate.
    assertThat(certified.epsilon()).isLessThanOrEqualTo(EPSILON);
    // Without it, the one Newton step is told apart from the retrain every time.
    assertThat(bare.epsilon()).isEqualTo(bare.largestMeasurable()).isGreaterThan(EPSILON);
  }

  @Test
  void moreRepetitionsMeasureMore() {
    assertThat(CertifiedEpsilon.largestMeasurable(50, DELTA, 0.95))
        .isGreaterThan(CertifiedEpsilon.largestMeasurable(20, DELTA, 0.95))
        .isGreaterThan(CertifiedEpsilon.largestMeasurable(20, DELTA, 0.99));
    // 20 of each, none wrong: the error rate is at most 1 - 0.05^(1/20) = 0.139 at 95%.
    assertThat(CertifiedEpsilon.largestMeasurable(20, DELTA, 0.95))
        .isCloseTo(Math.log((1 - DELTA - (1 - Math.pow(0.05, 1.0 / 20))) / (1 - Math.pow(0.05, 1.0 / 20))),
            org.assertj.core.api.Assertions.within(1e-9));
  }
}
