package io.lethe.demo;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.regexp_replace;

import io.lethe.LetheConfig;
import io.lethe.LetheException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The UCI Adult census data as shipped in data/adult: one row per person, the row number as the
 * data-subject id.
 */
public final class AdultData {
  public static final String SUBJECT = "person_id";
  public static final String LABEL = "income";
  static final String SCHEMA = "age INT, workclass STRING, fnlwgt INT, education STRING, education_num INT, "
      + "marital_status STRING, occupation STRING, relationship STRING, race STRING, sex STRING, capital_gain INT, "
      + "capital_loss INT, hours_per_week INT, native_country STRING, income STRING";

  private AdultData() {}

  /**
   * Reads adult.data(.gz) or adult.test(.gz): the test file's header line is skipped and its labels'
   * trailing dot removed, and each row gets its 0-based row number as {@value #SUBJECT}.
   */
  public static Dataset<Row> read(SparkSession spark, String file) {
    Dataset<Row> raw;
    try {
      raw = spark.read().schema(SCHEMA).option("ignoreLeadingWhiteSpace", "true").option("comment", "|")
          .option("mode", "FAILFAST").csv(file)
          .withColumn(LABEL, regexp_replace(col(LABEL), "\\.$", ""));
    } catch (Exception e) {
      throw new LetheException("Cannot read the Adult data at " + file + ": " + LetheException.firstLine(e), e);
    }
    StructType schema = raw.schema().add(SUBJECT, DataTypes.LongType, false);
    // A gzip file is one partition read in order, so row numbers follow the file's lines.
    JavaRDD<Row> numbered = raw.javaRDD().zipWithIndex().map(t -> {
      List<Object> values = new ArrayList<>(t._1().size() + 1);
      for (int i = 0; i < t._1().size(); i++) {
        values.add(t._1().get(i));
      }
      values.add(t._2());
      return RowFactory.create(values.toArray());
    });
    return spark.createDataFrame(numbered, schema);
  }

  /** The bundled copy: data/adult under the Lethe checkout (system property lethe.home, else the working folder). */
  public static String bundledDir() {
    return System.getProperty("lethe.home", ".") + "/data/adult";
  }

  /** The store settings that fit Adult: subject, label, and every other column a feature. */
  public static Map<String, String> storeSettings() {
    return Map.of(
        LetheConfig.STORE_SUBJECT_COLUMN, SUBJECT,
        LetheConfig.STORE_LABEL_COLUMN, LABEL,
        LetheConfig.STORE_TASK, "classification");
  }
}
