package io.lethe;

import static org.assertj.core.api.Assertions.assertThat;

import io.lethe.spark.LetheSpark;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;

/** Lethe uses a session that exists as it is: a platform's settings are its own. */
class LetheSparkTest extends LetheTestBase {

  @Test
  void anExistingSessionKeepsItsSettings() {
    SparkSession existing = spark();
    String partitions = existing.conf().get("spark.sql.shuffle.partitions");
    String catalog = existing.conf().get("spark.sql.catalog.spark_catalog");
    existing.conf().set("spark.sql.shuffle.partitions", "7");
    try {
      SparkSession got = LetheSpark.getOrCreate("lethe another job", Map.of("spark.sql.shuffle.partitions", "3"));
      assertThat(got).as("the same session").isSameAs(existing);
      assertThat(got.conf().get("spark.sql.shuffle.partitions")).as("not reset to Lethe's local default or the"
          + " configuration's spark.* key").isEqualTo("7");
      assertThat(got.conf().get("spark.sql.catalog.spark_catalog")).isEqualTo(catalog);
      assertThat(got.conf().get("spark.sql.extensions")).contains("io.delta.sql.DeltaSparkSessionExtension");
    } finally {
      existing.conf().set("spark.sql.shuffle.partitions", partitions);
    }
  }
}
