package io.lethe.sql;

import io.lethe.LetheConfig;
import io.lethe.api.Lethe;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.GenericInternalRow;
import org.apache.spark.sql.catalyst.util.ArrayData;
import org.apache.spark.sql.catalyst.util.GenericArrayData;
import org.apache.spark.sql.connector.catalog.procedures.BoundProcedure;
import org.apache.spark.sql.connector.catalog.procedures.ProcedureParameter;
import org.apache.spark.sql.connector.catalog.procedures.UnboundProcedure;
import org.apache.spark.sql.connector.read.LocalScan;
import org.apache.spark.sql.connector.read.Scan;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.unsafe.types.UTF8String;

/**
 * One of Lethe's SQL procedures: its parameters, its result's columns, and what it does with the
 * arguments, on the catalog's configuration and the active session. Arguments come in by position
 * (Spark has resolved names and defaults); results are Java values converted here.
 */
abstract class LetheProcedure implements UnboundProcedure, BoundProcedure {
  private final String name;
  private final String description;
  private final LetheConfig config;

  LetheProcedure(String name, String description, LetheConfig config) {
    this.name = name;
    this.description = description;
    this.config = config;
  }

  /** The result's columns. */
  abstract StructType output();

  /** Runs the procedure and returns its result rows, each value in {@link #output()}'s order. */
  abstract List<List<Object>> run(Lethe lethe, Arguments args);

  @Override
  public String name() {
    return name;
  }

  @Override
  public String description() {
    return description;
  }

  @Override
  public BoundProcedure bind(StructType inputType) {
    return this;
  }

  @Override
  public boolean isDeterministic() {
    return false; // it reads and changes tables
  }

  @Override
  public Iterator<Scan> call(InternalRow input) {
    List<List<Object>> rows = run(Lethe.get(SparkSession.active(), config), new Arguments(input, parameters()));
    InternalRow[] internal = rows.stream().map(LetheProcedure::internal).toArray(InternalRow[]::new);
    StructType schema = output();
    Scan result = new LocalScan() {
      @Override
      public InternalRow[] rows() {
        return internal;
      }

      @Override
      public StructType readSchema() {
        return schema;
      }
    };
    return List.of(result).iterator();
  }

  /** An optional parameter with a default in SQL ({@code NULL}, {@code 'subject'}, {@code false}). */
  static ProcedureParameter optional(String name, org.apache.spark.sql.types.DataType type, String defaultSql,
      String comment) {
    return ProcedureParameter.in(name, type).defaultValue(defaultSql).comment(comment).build();
  }

  private static InternalRow internal(List<Object> values) {
    Object[] converted = new Object[values.size()];
    for (int i = 0; i < converted.length; i++) {
      converted[i] = internal(values.get(i));
    }
    return new GenericInternalRow(converted);
  }

  private static Object internal(Object v) {
    if (v instanceof String s) {
      return UTF8String.fromString(s);
    }
    if (v instanceof Instant t) {
      return t.getEpochSecond() * 1_000_000L + t.getNano() / 1_000;
    }
    if (v instanceof Collection<?> c) {
      return new GenericArrayData(c.stream().map(LetheProcedure::internal).toArray());
    }
    return v; // Integer, Long, Double, Boolean, null
  }

  /** The call's arguments, by parameter name. */
  static final class Arguments {
    private final InternalRow row;
    private final ProcedureParameter[] parameters;

    Arguments(InternalRow row, ProcedureParameter[] parameters) {
      this.row = row;
      this.parameters = parameters;
    }

    private int index(String name) {
      for (int i = 0; i < parameters.length; i++) {
        if (parameters[i].name().equals(name)) {
          return i;
        }
      }
      throw new IllegalArgumentException("No parameter " + name);
    }

    String string(String name) {
      int i = index(name);
      return row.isNullAt(i) ? null : row.getUTF8String(i).toString();
    }

    /** An INT argument, or {@code otherwise} when it is null. */
    int integer(String name, int otherwise) {
      int i = index(name);
      return row.isNullAt(i) ? otherwise : row.getInt(i);
    }

    boolean flag(String name) {
      int i = index(name);
      return !row.isNullAt(i) && row.getBoolean(i);
    }

    /** An ARRAY&lt;STRING&gt; argument; null when not given. Null elements are kept as null. */
    List<String> strings(String name) {
      int i = index(name);
      if (row.isNullAt(i)) {
        return null;
      }
      ArrayData array = row.getArray(i);
      List<String> values = new ArrayList<>(array.numElements());
      for (int j = 0; j < array.numElements(); j++) {
        values.add(array.isNullAt(j) ? null : array.getUTF8String(j).toString());
      }
      return values;
    }
  }
}
