package io.lethe.internal.model;

import static org.apache.spark.sql.functions.col;

import io.lethe.types.StoreLayout;
import io.lethe.types.Task;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.evaluation.MulticlassClassificationEvaluator;
import org.apache.spark.ml.evaluation.RegressionEvaluator;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/** Utility of a model on labelled rows: accuracy for classification, RMSE for regression. */
public final class Evaluation {
  private Evaluation() {}

  /** Applies the model to rows that carry the store's label column and scores the predictions. */
  public static double score(Transformer model, Dataset<Row> labelled, StoreLayout layout) {
    Dataset<Row> predictions = model.transform(labelled.withColumn(StoreLayout.LABEL_INDEX_COLUMN, layout.labelIndex()));
    if (labelled.isLocal()) {
      // Rows held in the driver (a local relation): the optimizer predicts them there, and the
      // metric is the evaluator's own arithmetic, with no Spark job.
      return local(predictions.select(col(StoreLayout.LABEL_INDEX_COLUMN).cast("double"),
          col("prediction").cast("double")).collectAsList(), layout.task());
    }
    if (layout.task() == Task.REGRESSION) {
      return new RegressionEvaluator().setLabelCol(StoreLayout.LABEL_INDEX_COLUMN).setMetricName("rmse").evaluate(predictions);
    }
    return new MulticlassClassificationEvaluator().setLabelCol(StoreLayout.LABEL_INDEX_COLUMN).setMetricName("accuracy")
        .evaluate(predictions);
  }

  /** Accuracy (the share of predictions equal to the label) or RMSE, of (label, prediction) rows. */
  private static double local(java.util.List<Row> rows, Task task) {
    double sum = 0;
    for (Row r : rows) {
      double error = r.getDouble(1) - r.getDouble(0);
      sum += task == Task.REGRESSION ? error * error : error == 0 ? 1 : 0;
    }
    return task == Task.REGRESSION ? Math.sqrt(sum / rows.size()) : sum / rows.size();
  }

  public static String metricName(StoreLayout layout) {
    return layout.task() == Task.REGRESSION ? "rmse" : "accuracy";
  }
}
