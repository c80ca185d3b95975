package io.lethe.internal.store;

import static org.apache.spark.sql.functions.udf;

import java.util.Collection;
import java.util.HashSet;
import java.util.Set;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.IntegralType;

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

  /**
   * The same test for a column of this type. A whole-number column is tested as a number against
   * the ids that are whole numbers as its cast to a string writes them ("12", not "012" or "+12"):
   * the rows it keeps are the same, without a string made for each row (a DELETE's scan of its
   * shards calls it once a row).
   */
  public static Column test(Collection<String> ids, Column column, DataType type) {
    if (!(type instanceof IntegralType)) {
      return test(ids, column);
    }
    Set<Long> whole = new HashSet<>();
    for (String id : ids) {
      try {
        long value = Long.parseLong(id);
        if (Long.toString(value).equals(id)) {
          whole.add(value);
        }
      } catch (NumberFormatException notWhole) { // no row of a whole-number column holds it
      }
    }
    UserDefinedFunction function = udf(new WholeIds(whole), DataTypes.BooleanType).withName(NAME);
    return function.apply(column.cast("long"));
  }

  @Override
  public Boolean call(String value) {
    return value != null && ids.contains(value);
  }

  /** The test of a whole-number column, widened to a long. */
  private static final class WholeIds implements UDF1<Long, Boolean> {
    private static final long serialVersionUID = 1L;
    private final Set<Long> ids;

    WholeIds(Set<Long> ids) {
      this.ids = ids;
    }

    @Override
    public Boolean call(Long value) {
      return value != null && ids.contains(value);
    }
  }
}
