package io.lethe;

import static org.apache.spark.sql.functions.col;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.lethe.demo.AdultData;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tables by name on a real catalog: Spark's Hive metastore (embedded Derby), with three-level names
 * through spark_catalog. Ingest from a catalog table, train, forget the people an id table names,
 * verify against held-out rows in a table, status and score into a table: Lethe's own tables (the
 * store, the ledger, the publish log) are created in the catalog, and sub-models stay under a path.
 * Runs in its own JVM (the suite's "catalog" execution), whose session has Hive support.
 */
class CatalogTablesTest extends LetheTestBase {
  @TempDir
  static Path dir;

  static Run lethe(String... args) {
    List<String> all = new ArrayList<>(List.of(args[0],
        "-D", "store.path=spark_catalog.lethe.store",
        "-D", "ledger.path=spark_catalog.lethe.ledger",
        "-D", "models.publish-log=spark_catalog.lethe.published",
        "-D", "models.path=" + dir.resolve("models"),
        "-D", "tables.location=" + dir.resolve("tables").toUri(),
        "-D", "runs.path=" + dir.resolve("runs"),
        "-D", "verify.path=" + dir.resolve("verify"),
        "-D", "ledger.key=" + LEDGER_KEY,
        "-D", "purge.retention-hours=0",
        "-D", "store.subject-column=" + AdultData.SUBJECT,
        "-D", "store.label-column=" + AdultData.LABEL,
        "-D", "store.shards=3",
        "-D", "train.param.maxIter=20"));
    all.addAll(List.of(args).subList(1, args.length));
    return runLethe(all);
  }

  @Test
  void everyLocationTakesACatalogTableNameEndToEnd() {
    assertThat(spark().conf().get("spark.sql.catalogImplementation")).as("a real metastore").isEqualTo("hive");
    spark().sql("CREATE SCHEMA IF NOT EXISTS spark_catalog.lethe");
    adultTrain(900).write().format("delta").saveAsTable("spark_catalog.lethe.people");
    adultTest(300).withColumn(AdultData.SUBJECT, col(AdultData.SUBJECT).plus(100_000))
        .write().format("delta").saveAsTable("spark_catalog.lethe.held_out");
    spark().createDataFrame(List.of(org.apache.spark.sql.RowFactory.create("21"),
            org.apache.spark.sql.RowFactory.create("400")),
        new org.apache.spark.sql.types.StructType().add("person", "string"))
        .write().format("delta").saveAsTable("spark_catalog.lethe.requests");

    Run ingest = lethe("ingest", "--source", "spark_catalog.lethe.people");
    assertThat(ingest.code()).as(ingest.err()).isZero();
    assertThat(ingest.summary().path("outputs").path("rows").asLong()).isEqualTo(900);
    Run train = lethe("train");
    assertThat(train.code()).as(train.err()).isZero();

    Run forget = lethe("forget", "--ids-file", "spark_catalog.lethe.requests", "--ids-column", "person");
    assertThat(forget.code()).as(forget.err()).isZero();
    assertThat(forget.summary().path("outputs").path("forgotten").asInt()).isEqualTo(2);

    Run verify = lethe("verify", "-D", "verify.test=spark_catalog.lethe.held_out");
    assertThat(verify.code()).as(verify.err()).isZero();
    JsonNode report = verify.summary().path("outputs").path("report");
    assertThat(report.path("passed").asBoolean()).isTrue();
    assertThat(report.path("utility").path("source").asText()).isEqualTo("held-out");
    assertThat(report.path("utility").path("rows").asInt()).isEqualTo(300);

    JsonNode status = lethe("status").summary().path("outputs");
    assertThat(status.path("store").path("rowsPerShard").toString()).isNotEqualTo("{}");
    assertThat(status.path("published").path("version").asLong()).isEqualTo(2);
    assertThat(status.path("ledger").path("requestsByStatus").path("forgotten").asInt()).isEqualTo(2);

    Run score = lethe("score", "--input", "spark_catalog.lethe.held_out", "--output", "spark_catalog.lethe.scored");
    assertThat(score.code()).as(score.err()).isZero();
    assertThat(spark().table("spark_catalog.lethe.scored").count()).isEqualTo(300);

    // Lethe's own tables are in the metastore, as Delta tables; the ledger and publish log hold rows.
    for (String table : List.of("store", "ledger", "published", "scored")) {
      assertThat(spark().catalog().tableExists("spark_catalog.lethe." + table)).as(table).isTrue();
    }
    List<Row> detail = spark().sql("DESCRIBE DETAIL spark_catalog.lethe.store").collectAsList();
    assertThat(detail.get(0).<String>getAs("format")).isEqualTo("delta");
    // With tables.location, external tables there (what Unity Catalog needs for path access).
    for (String table : List.of("store", "ledger", "published")) {
      String location = spark().sql("DESCRIBE DETAIL spark_catalog.lethe." + table).head().getAs("location");
      assertThat(location).as(table).endsWith(dir.resolve("tables").resolve(table).toString());
      assertThat(spark().sql("DESCRIBE TABLE EXTENDED spark_catalog.lethe." + table).where("col_name = 'Type'")
          .head().getString(1)).as(table).isEqualTo("EXTERNAL");
    }
    assertThat(spark().table("spark_catalog.lethe.store").count()).isEqualTo(898);
    assertThat(spark().table("spark_catalog.lethe.ledger").where(col("step").equalTo("complete")).count())
        .isEqualTo(2);
    assertThat(spark().table("spark_catalog.lethe.published").count()).as("published 1 and 2, retired 1")
        .isEqualTo(3);
    assertThat(dir.resolve("models").resolve("submodels")).isDirectory();

    // Without tables.location, a managed table in the metastore's warehouse.
    Run managed = lethe("ingest", "--source", "spark_catalog.lethe.people", "-D", "tables.location=",
        "-D", "store.path=spark_catalog.lethe.managed_store");
    assertThat(managed.code()).as(managed.err()).isZero();
    assertThat(spark().sql("DESCRIBE TABLE EXTENDED spark_catalog.lethe.managed_store").where("col_name = 'Type'")
        .head().getString(1)).isEqualTo("MANAGED");

    // A name in a schema the catalog does not have is refused with one message.
    Run noSchema = lethe("status", "-D", "store.path=nowhere.store");
    assertThat(noSchema.code()).isEqualTo(1);
    assertThat(noSchema.err()).contains("store.path=nowhere.store names a table in schema nowhere");
  }
}
