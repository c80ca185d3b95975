package io.lethe.internal.engine;

import java.util.List;
import org.apache.spark.sql.types.DataType;

/**
 * What the feature stages' fitted values depend on besides the statistics: whether they impute
 * and scale, and the numeric columns' names and types (the imputer writes its mean back in the
 * column's own type). Serializable, so that a task can featurize a shard's rows as the stages would.
 */
public record FeatureSpec(boolean impute, boolean scale, List<String> numericColumns, List<DataType> numericTypes)
    implements java.io.Serializable {
  public FeatureSpec {
    numericColumns = List.copyOf(numericColumns);
    numericTypes = List.copyOf(numericTypes);
  }
}
