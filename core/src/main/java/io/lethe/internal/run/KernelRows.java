package io.lethe.internal.run;

import io.delta.kernel.data.ArrayValue;
import io.delta.kernel.data.ColumnVector;
import io.delta.kernel.data.ColumnarBatch;
import io.delta.kernel.types.ArrayType;
import io.delta.kernel.types.DataType;
import io.delta.kernel.types.IntegerType;
import io.delta.kernel.types.LongType;
import io.delta.kernel.types.StringType;
import io.delta.kernel.types.StructField;
import io.delta.kernel.types.StructType;
import io.delta.kernel.types.TimestampType;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Row;

/**
 * Rows between Spark and Delta Kernel: Spark's types as Kernel's, Spark rows as a Kernel columnar
 * batch for a write, and a Kernel column's value as Spark holds it, for the tables Lethe reads and
 * appends in the driver ({@link LogTable}).
 */
final class KernelRows {
  private KernelRows() {}

  static StructType kernelSchema(org.apache.spark.sql.types.StructType schema) {
    StructType out = new StructType();
    for (org.apache.spark.sql.types.StructField f : schema.fields()) {
      out = out.add(f.name(), kernelType(f.dataType()), true);
    }
    return out;
  }

  static DataType kernelType(org.apache.spark.sql.types.DataType type) {
    if (type instanceof org.apache.spark.sql.types.StringType) {
      return StringType.STRING;
    }
    if (type instanceof org.apache.spark.sql.types.LongType) {
      return LongType.LONG;
    }
    if (type instanceof org.apache.spark.sql.types.IntegerType) {
      return IntegerType.INTEGER;
    }
    if (type instanceof org.apache.spark.sql.types.TimestampType) {
      return TimestampType.TIMESTAMP;
    }
    if (type instanceof org.apache.spark.sql.types.ArrayType a) {
      return new ArrayType(kernelType(a.elementType()), true);
    }
    throw new IllegalArgumentException("No Kernel type for " + type.simpleString());
  }

  /** Spark rows of {@code schema} as one Kernel batch of the table's schema, column by name. */
  static ColumnarBatch batch(List<Row> rows, org.apache.spark.sql.types.StructType schema,
      StructType tableSchema) {
    List<ColumnVector> vectors = new ArrayList<>();
    for (StructField field : tableSchema.fields()) {
      Object[] values = new Object[rows.size()];
      if (schema.getFieldIndex(field.getName()).isDefined()) {
        int at = schema.fieldIndex(field.getName());
        for (int r = 0; r < values.length; r++) {
          values[r] = rows.get(r).isNullAt(at) ? null : toKernel(rows.get(r).get(at));
        }
      }
      vectors.add(new Values(field.getDataType(), values));
    }
    return new ColumnarBatch() {
      @Override
      public StructType getSchema() {
        return tableSchema;
      }

      @Override
      public ColumnVector getColumnVector(int ordinal) {
        return vectors.get(ordinal);
      }

      @Override
      public int getSize() {
        return rows.size();
      }
    };
  }

  /** A Spark row value as the Java value {@link Values} holds: timestamps as microseconds, arrays as lists. */
  static Object toKernel(Object v) {
    if (v instanceof Timestamp t) {
      return Math.floorDiv(t.getTime(), 1000) * 1_000_000 + t.getNanos() / 1000;
    }
    if (v instanceof java.time.Instant i) {
      return i.getEpochSecond() * 1_000_000 + i.getNano() / 1000;
    }
    if (v instanceof scala.collection.Seq<?> seq) {
      return new ArrayList<Object>(scala.jdk.javaapi.CollectionConverters.asJava(seq));
    }
    return v;
  }

  /** A Kernel column value as Spark's row holds it: timestamps as {@link Timestamp}, arrays as Scala sequences. */
  static Object value(ColumnVector vector, int row) {
    if (vector.isNullAt(row)) {
      return null;
    }
    DataType type = vector.getDataType();
    if (type instanceof StringType) {
      return vector.getString(row);
    }
    if (type instanceof LongType) {
      return vector.getLong(row);
    }
    if (type instanceof IntegerType) {
      return vector.getInt(row);
    }
    if (type instanceof TimestampType) {
      long micros = vector.getLong(row);
      Timestamp t = new Timestamp(Math.floorDiv(micros, 1000));
      t.setNanos((int) Math.floorMod(micros, 1_000_000) * 1000);
      return t;
    }
    if (type instanceof ArrayType) {
      ArrayValue array = vector.getArray(row);
      List<Object> elements = new ArrayList<>();
      for (int i = 0; i < array.getSize(); i++) {
        elements.add(value(array.getElements(), i));
      }
      return scala.jdk.javaapi.CollectionConverters.asScala(elements).toSeq();
    }
    throw new IllegalArgumentException("Lethe does not read columns of type " + type);
  }

  /** A column of Java values: strings, Integer, Long (timestamps in microseconds), lists for arrays. */
  static final class Values implements ColumnVector {
    private final DataType type;
    private final Object[] values;

    Values(DataType type, Object[] values) {
      this.type = type;
      this.values = values;
    }

    @Override
    public DataType getDataType() {
      return type;
    }

    @Override
    public int getSize() {
      return values.length;
    }

    @Override
    public void close() {}

    @Override
    public boolean isNullAt(int rowId) {
      return values[rowId] == null;
    }

    @Override
    public int getInt(int rowId) {
      return ((Number) values[rowId]).intValue();
    }

    @Override
    public long getLong(int rowId) {
      return ((Number) values[rowId]).longValue();
    }

    @Override
    public String getString(int rowId) {
      return (String) values[rowId];
    }

    @Override
    public ArrayValue getArray(int rowId) {
      List<?> list = (List<?>) values[rowId];
      DataType element = ((ArrayType) type).getElementType();
      Values elements = new Values(element, list.toArray());
      return new ArrayValue() {
        @Override
        public int getSize() {
          return list.size();
        }

        @Override
        public ColumnVector getElements() {
          return elements;
        }
      };
    }
  }
}
