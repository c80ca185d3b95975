package io.lethe.internal.engine;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;

/**
 * A shard row (numeric values as doubles, categorical values as strings, the label) as one byte
 * array, for the shuffle that routes each shard's rows to its task: a byte array costs the shuffle's
 * serializer a length and a copy, where a Row costs it a walk over boxed values and their classes.
 * Missing numeric values are NaN (as the imputer treats null and NaN alike); a missing string is
 * length -1.
 */
public final class RowCodec implements java.io.Serializable {
  private final int numeric;
  private final int categorical;

  public RowCodec(int numeric, int categorical) {
    this.numeric = numeric;
    this.categorical = categorical;
  }

  /** Encodes the row's first numeric + categorical + 1 columns (numeric..., categorical..., label). */
  public byte[] encode(Row row) {
    byte[][] strings = new byte[categorical][];
    int size = 8 * (numeric + 1) + 4 * categorical;
    for (int j = 0; j < categorical; j++) {
      strings[j] = row.isNullAt(numeric + j) ? null : row.getString(numeric + j).getBytes(StandardCharsets.UTF_8);
      size += strings[j] == null ? 0 : strings[j].length;
    }
    ByteBuffer out = ByteBuffer.allocate(size);
    for (int i = 0; i < numeric; i++) {
      out.putDouble(row.isNullAt(i) ? Double.NaN : row.getDouble(i));
    }
    for (byte[] s : strings) {
      out.putInt(s == null ? -1 : s.length);
      if (s != null) {
        out.put(s);
      }
    }
    int label = numeric + categorical;
    // A row without a label (one outside the store's classes) keeps it missing: the statistics refuse it.
    out.putDouble(row.isNullAt(label) ? Double.NaN : row.getDouble(label));
    return out.array();
  }

  /** The row again, as the statistics read it: a NaN label comes back missing. */
  public Row decode(byte[] bytes) {
    ByteBuffer in = ByteBuffer.wrap(bytes);
    Object[] values = new Object[numeric + categorical + 1];
    for (int i = 0; i < numeric; i++) {
      values[i] = in.getDouble();
    }
    for (int j = 0; j < categorical; j++) {
      int length = in.getInt();
      if (length >= 0) {
        values[numeric + j] = new String(bytes, in.position(), length, StandardCharsets.UTF_8);
        in.position(in.position() + length);
      }
    }
    double label = in.getDouble();
    values[numeric + categorical] = Double.isNaN(label) ? null : label;
    return RowFactory.create(values);
  }
}
