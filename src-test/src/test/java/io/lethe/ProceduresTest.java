package io.lethe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.lethe.internal.run.Json;
import io.lethe.sql.LetheCatalog;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Lethe's SQL procedures end to end, through {@code spark.sql("CALL ...")} as SQL, PySpark and
 * Scala users call them: forget (dry run, then for real), status, requests, verify and purge, on a
 * trained Adult store; and bad arguments, each with one clear error.
 */
// Reads configuration files by paths without a scheme: not beside HdfsTest, which sets the default file system.
@org.junit.jupiter.api.parallel.ResourceLock(value = HdfsTest.DEFAULT_FILE_SYSTEM,
    mode = org.junit.jupiter.api.parallel.ResourceAccessMode.READ)
class ProceduresTest extends LetheTestBase {
  @TempDir
  static Path dir;

  static String batch;

  @BeforeAll
  static void trainAndRegister() throws Exception {
    LetheConfig config = sharedAdultConfig(dir);
    sharedAdult(dir);
    // The key goes in a configuration file (or $LETHE_LEDGER_KEY), the locations in catalog options.
    Path conf = dir.resolve("lethe.properties");
    Files.writeString(conf, "ledger.key=" + LEDGER_KEY + "\n");
    spark().conf().set("spark.sql.catalog.lethe", LetheCatalog.class.getName());
    spark().conf().set("spark.sql.catalog.lethe.conf", conf.toString());
    for (String key : config.keys()) {
      if (!key.equals(LetheConfig.LEDGER_KEY)) {
        spark().conf().set("spark.sql.catalog.lethe." + key, config.get(key));
      }
    }
    spark().conf().set("spark.sql.catalog.lethe.verify.path", dir.resolve("verify").toString());
  }

  static Row call(String sql) {
    List<Row> rows = spark().sql(sql).collectAsList();
    assertThat(rows).as(sql).hasSize(1);
    return rows.get(0);
  }

  @Test
  void theProceduresAreListed() {
    List<String> names = spark().sql("SHOW PROCEDURES IN lethe.system").collectAsList().stream()
        .map(r -> r.getString(r.fieldIndex("procedure_name"))).toList();
    assertThat(names).containsExactlyInAnyOrder("forget", "status", "requests", "verify", "purge");
  }

  @Test
  void aDryRunPlansAndChangesNothing() {
    long before = call("CALL lethe.system.status()").getAs("store_version");
    Row plan = call("CALL lethe.system.forget(ids => array('33', '401', '99999'), dry_run => true)");
    assertThat((Object) plan.getAs("batch_id")).isNull();
    assertThat((Boolean) plan.getAs("dry_run")).isTrue();
    assertThat((Integer) plan.getAs("requested")).isEqualTo(3);
    assertThat((Long) plan.getAs("found")).isEqualTo(2);
    assertThat((Long) plan.getAs("not_found")).isEqualTo(1);
    assertThat((Long) plan.getAs("rows_deleted")).as("rows it would delete").isEqualTo(2);
    assertThat(plan.getList(plan.fieldIndex("shards_retrained"))).isNotEmpty();
    assertThat((Long) call("CALL lethe.system.status()").getAs("store_version")).isEqualTo(before);
    java.nio.file.Path requests;
    try {
      requests = java.nio.file.Files.writeString(dir.resolve("requests.txt"), "401\n33\n401\n");
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    Row fresh = call("CALL lethe.system.forget(ids_file => '" + requests + "', new_only => true, max_ids => 1,"
        + " dry_run => true)");
    assertThat((Integer) fresh.getAs("requested")).as("the least id no request holds, of two").isEqualTo(1);
    assertThat((Long) fresh.getAs("found")).isEqualTo(1);
  }

  @Test
  void forgetStatusRequestsVerifyAndPurgeFromSql() {
    // Counted from the store as the test finds it: another test of the class may have forgotten others.
    Row before = call("CALL lethe.system.status()");
    Row forgot = call("CALL lethe.system.forget(ids => array('21', '400'))");
    batch = forgot.getAs("batch_id");
    assertThat(batch).isNotBlank();
    assertThat((Boolean) forgot.getAs("dry_run")).isFalse();
    assertThat((Long) forgot.getAs("rows_deleted")).isEqualTo(2);
    assertThat((Long) forgot.getAs("forgotten")).isEqualTo(2);
    assertThat((Long) forgot.getAs("purge_pending")).isZero();
    assertThat((Long) forgot.getAs("held")).as("forget.min-batch is 1: nothing waits").isZero();
    assertThat((Long) forgot.getAs("ensemble_version")).isEqualTo((Long) before.getAs("ensemble_version") + 1);
    assertThat(forgot.toString()).doesNotContain("'21'").doesNotContain("400,");

    Row status = call("CALL lethe.system.status()");
    assertThat((Long) status.getAs("rows")).isEqualTo((Long) before.getAs("rows") - 2);
    assertThat((Integer) status.getAs("shards")).isEqualTo(4);
    assertThat((Long) status.getAs("ensemble_version")).isEqualTo((Long) forgot.getAs("ensemble_version"));
    assertThat((Long) status.getAs("forgotten")).isEqualTo((Long) before.getAs("forgotten") + 2);
    assertThat((Long) status.getAs("overdue")).isZero();
    assertThat((Long) status.getAs("held")).isZero();
    assertThat(spark().sql("CALL lethe.system.requests()").count()).as("nothing is open").isZero();
    assertThat(spark().sql("CALL lethe.system.requests(overdue_only => true)").count()).isZero();

    List<Row> checks = spark().sql("CALL lethe.system.verify(batch => '" + batch + "')").collectAsList();
    assertThat(checks).extracting(r -> r.<String>getAs("check")).contains("ledger.complete", "data.current",
        "data.retained-versions", "models.published", "retrain.equivalence");
    assertThat(checks).allSatisfy(r -> assertThat(r.<String>getAs("status")).as(r.toString()).isEqualTo("passed"));
    assertThat(Path.of(java.net.URI.create(checks.get(0).<String>getAs("report")))).exists();
    // The latest batch is the default.
    assertThat(spark().sql("CALL lethe.system.verify()").collectAsList().get(0).<String>getAs("batch_id"))
        .isEqualTo(batch);

    Row purge = call("CALL lethe.system.purge()");
    assertThat((Long) purge.getAs("forgotten")).as("the forget purged already (retention 0)").isZero();
    assertThat((Long) purge.getAs("still_pending")).isZero();
  }

  @Test
  void badArgumentsGetOneClearError() {
    assertThatThrownBy(() -> spark().sql("CALL lethe.system.forget()"))
        .hasStackTraceContaining("forget takes one of ids => array('id', ...) and ids_file => 'path or table'");
    assertThatThrownBy(() -> spark().sql("CALL lethe.system.forget(ids => array('1'), by => 'people')"))
        .hasStackTraceContaining("Unknown id kind 'people': use subject or record");
    assertThatThrownBy(() -> spark().sql("CALL lethe.system.forget(ids => array('1', ' '))"))
        .hasStackTraceContaining("Id number 2 of the batch is empty");
    assertThatThrownBy(() -> spark().sql("CALL lethe.system.forget(ids_file => '" + dir.resolve("none.txt") + "')"))
        .hasStackTraceContaining("does not exist");
    // Before any forget of this class's tests there is no ledger yet, and verify says that instead.
    assertThatThrownBy(() -> spark().sql("CALL lethe.system.verify(batch => 'no-such-batch')"))
        .hasStackTraceContaining(Files.exists(dir.resolve("ledger").resolve("_delta_log"))
            ? "No forget batch no-such-batch" : "No ledger at");
    assertThatThrownBy(() -> spark().sql("CALL lethe.system.forgett(ids => array('1'))"))
        .hasStackTraceContaining("No procedure lethe.system.forgett");
    assertThatThrownBy(() -> spark().sql("CALL lethe.system.status(verbose => true)"))
        .hasMessageContaining("verbose");

    // A catalog given the ledger key as an option (Spark conf, shown in the UI) refuses it.
    spark().conf().set("spark.sql.catalog.lethe_leaky", LetheCatalog.class.getName());
    spark().conf().set("spark.sql.catalog.lethe_leaky.ledger.key", LEDGER_KEY);
    assertThatThrownBy(() -> spark().sql("CALL lethe_leaky.system.status()"))
        .hasStackTraceContaining("set $LETHE_LEDGER_KEY in the driver's environment instead");
    // Unknown configuration keys are named.
    spark().conf().set("spark.sql.catalog.lethe_typo", LetheCatalog.class.getName());
    spark().conf().set("spark.sql.catalog.lethe_typo.store.pth", "x");
    assertThatThrownBy(() -> spark().sql("CALL lethe_typo.system.status()"))
        .hasStackTraceContaining("Unknown configuration key 'store.pth'");
  }

  @Test
  void thePythonNotebooksSqlRunsInOrder() throws Exception {
    // No Python kernel with Spark runs here: the notebook's SQL runs from Java, in its order, on
    // this class's store and its "lethe" catalog (the notebook registers it the same way).
    JsonNode nb = Json.read(Files.readString(home().resolve("notebooks/lethe-sql.ipynb")), JsonNode.class, "notebook");
    assertThat(nb.path("metadata").path("kernelspec").path("language").asText()).isEqualTo("python");
    StringBuilder code = new StringBuilder();
    nb.path("cells").forEach(cell -> {
      if (cell.path("cell_type").asText().equals("code")) {
        cell.path("source").forEach(line -> code.append(line.asText()));
        code.append('\n');
      }
    });
    Matcher keys = Pattern.compile("\"([a-z]+\\.[a-z.-]+)\": f\"").matcher(code);
    Set<String> known = LetheConfig.load(null, Map.of()).keys();
    int options = 0;
    while (keys.find()) {
      assertThat(known).as("a catalog option the notebook sets").contains(keys.group(1));
      options++;
    }
    assertThat(options).isEqualTo(5);
    assertThat(code).contains("spark.conf.set(\"spark.sql.catalog.lethe\", \"" + LetheCatalog.class.getName() + "\")");

    Matcher calls = Pattern.compile("spark\\.sql\\(\"([^\"]+)\"\\)").matcher(code);
    List<String> statements = new java.util.ArrayList<>();
    while (calls.find()) {
      statements.add(calls.group(1));
    }
    assertThat(statements).hasSize(7);
    Map<String, List<Row>> results = new java.util.LinkedHashMap<>();
    for (String sql : statements) {
      results.put(sql, spark().sql(sql).collectAsList());
    }
    Row forgot = results.get("CALL lethe.system.forget(ids => array('11', '222', '800'))").get(0);
    assertThat((Long) forgot.getAs("rows_deleted")).isEqualTo(3);
    assertThat((Long) forgot.getAs("forgotten")).isEqualTo(3);
    assertThat(results.get("CALL lethe.system.verify()")).isNotEmpty().allSatisfy(r ->
        assertThat(r.<String>getAs("status")).as(r.toString()).isEqualTo("passed"));
  }
}
