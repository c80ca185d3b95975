package io.lethe.internal.run;

import io.lethe.InvalidConfigException;
import io.lethe.LetheException;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;

/**
 * A location Lethe reads or writes is a path (a Hadoop URI or a local path) or a catalog table name:
 * {@code schema.table} or {@code catalog.schema.table}, two or three identifiers with no {@code /}
 * or {@code :}. A named Delta table is read and written at the storage location the catalog
 * gives it (Lethe's bookkeeping reads its log there, in the driver), so it must be a table the
 * session may reach by path: a Hive metastore table, or a Unity Catalog external table.
 */
public final class Tables {
  private static final Pattern NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*){1,2}");

  private Tables() {}

  /** Whether the location is written as a table name (two or three identifiers, no / or :). */
  public static boolean looksLikeName(String location) {
    return location != null && NAME.matcher(location.trim()).matches();
  }

  /** The namespace of a name: {@code schema} or {@code catalog.schema}. */
  static String namespace(String name) {
    return name.substring(0, name.lastIndexOf('.'));
  }

  public static boolean exists(SparkSession spark, String name) {
    try {
      return spark.catalog().tableExists(name);
    } catch (Exception unknownCatalog) {
      return false;
    }
  }

  private static boolean namespaceExists(SparkSession spark, String name) {
    try {
      return spark.catalog().databaseExists(namespace(name));
    } catch (Exception unknownCatalog) {
      return false;
    }
  }

  /**
   * Whether one of Lethe's own tables (the store, the ledger, the publish log) is given by name.
   * A name whose schema the catalog does not have is an error: Lethe creates tables, not schemas.
   */
  public static boolean isOwnTableName(SparkSession spark, String location, String key) {
    if (!looksLikeName(location)) {
      return false;
    }
    if (!exists(spark, location) && !namespaceExists(spark, location)) {
      throw new InvalidConfigException(key + "=" + location + " names a table in schema " + namespace(location)
          + ", which the catalog does not have: create it (CREATE SCHEMA " + namespace(location)
          + "), or give a path (with a /)");
    }
    return true;
  }

  /**
   * Whether a location to read (a source, an id table, held-out rows) or to write (score's output)
   * is a table name: it looks like one and the catalog has the table, or its schema for an output.
   * Anything else (ids.txt, data.csv) is a path.
   */
  public static boolean isName(SparkSession spark, String location) {
    return looksLikeName(location) && (exists(spark, location) || namespaceExists(spark, location));
  }

  /**
   * Where Lethe creates a named table of its own: under {@code tables.location} when that is set
   * (an external table, {@code <root>/<table>}: what Unity Catalog needs for path access), else
   * null (a managed table where the catalog puts it).
   */
  public static String externalLocation(String root, String name) {
    if (root == null || root.isBlank()) {
      return null;
    }
    String table = name.substring(name.lastIndexOf('.') + 1);
    return root.endsWith("/") ? root + table : root + "/" + table;
  }

  /**
   * Creates an empty Delta table of Lethe's own by name, unless the catalog has it: with these
   * table properties, and as an external table under {@code tablesLocation} when that is set.
   * Another writer creating it at the same time is no error. Returns the table's location.
   *
   * @param what the table in messages (the ledger, the publish log)
   */
  public static String createIfAbsent(SparkSession spark, String name, StructType schema,
      Map<String, String> properties, String tablesLocation, String what) {
    if (!exists(spark, name)) {
      try {
        var writer = spark.createDataFrame(List.of(), schema).writeTo(name).using("delta");
        for (Map.Entry<String, String> p : properties.entrySet()) {
          writer = writer.tableProperty(p.getKey(), p.getValue());
        }
        String external = externalLocation(tablesLocation, name);
        (external != null ? writer.tableProperty("location", external) : writer).create();
      } catch (Exception e) {
        if (!exists(spark, name)) {
          throw new LetheException("Cannot create the " + what + " table " + name + ": " + LetheException.firstLine(e),
              e);
        }
      }
    }
    return location(spark, name);
  }

  /** The storage location of a named table, as its catalog records it. */
  public static String location(SparkSession spark, String name) {
    List<Row> rows;
    try {
      rows = spark.sql("DESCRIBE TABLE EXTENDED " + name).collectAsList();
    } catch (Exception e) {
      throw new LetheException("Cannot describe the table " + name + ": " + LetheException.firstLine(e), e);
    }
    for (Row r : rows) {
      if ("Location".equals(r.getString(0)) && r.getString(1) != null && !r.getString(1).isBlank()) {
        return r.getString(1).trim();
      }
    }
    throw new LetheException("The catalog records no storage location for the table " + name
        + "; Lethe reads its tables by location, so use a table with one (an external table on Unity Catalog)");
  }
}
