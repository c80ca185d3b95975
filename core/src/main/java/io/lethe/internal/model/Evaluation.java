package io.lethe.internal.model;

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
    if (layout.task() == Task.REGRESSION) {
      return new RegressionEvaluator().setLabelCol(StoreLayout.LABEL_INDEX_COLUMN).setMetricName("rmse").evaluate(predictions);
    }
    return new MulticlassClassificationEvaluator().setLabelCol(StoreLayout.LABEL_INDEX_COLUMN).setMetricName("accuracy")
        .evaluate(predictions);
  }

  public static String metricName(StoreLayout layout) {
    return layout.task() == Task.REGRESSION ? "rmse" : "accuracy";
  }
}
