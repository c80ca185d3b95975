package io.lethe.internal.store;

import static org.apache.spark.sql.functions.udf;

import java.util.Collection;
import java.util.HashSet;
import java.util.Set;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.types.DataTypes;

/**
 * Whether a column's value, as a string, is one of a batch's requested ids: a Spark function that
 * holds the ids in its closure. A query that tests ids this way shows the function's name in its
 * plan, in Spark's UI and logs, and in the predicate Delta records for a DELETE, never an id.
 */
public final class RequestedIds implements UDF1<String, Boolean> {
  private static final long serialVersionUID = 1L;
  /** The name plans and Delta's log show. */
  public static final String NAME = "lethe_requested_id";

  private final Set<String> ids;

  private RequestedIds(Collection<String> ids) {
    this.ids = new HashSet<>(ids);
  }

  /** The test of {@code column} (cast to a string) against the ids. */
  public static Column test(Collection<String> ids, Column column) {
    UserDefinedFunction function = udf(new RequestedIds(ids), DataTypes.BooleanType).withName(NAME);
    return function.apply(column.cast("string"));
  }

  @Override
  public Boolean call(String value) {
    return value != null && ids.contains(value);
  }
}
