package io.lethe;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.format_string;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.lethe.demo.AdultData;
import io.lethe.internal.registry.ModelRegistry;
import io.lethe.types.Retirement;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Lethe on a real HDFS: a NameNode and a DataNode started in this JVM (Hadoop's MiniDFSCluster,
 * at the Hadoop version Spark brings). Every location is an hdfs:// URI: the configuration file,
 * the source, the id file, the store, models, ledger, run summaries, held-out rows, scores and
 * reports. After ingest, train,
 * forget (with purge), score and verify, the file system is listed to show that no retired
 * artifact and no file holding a forgotten row remains.
 * For one job it sets the JVM-wide default file system that spark-submit would pass, so classes that
 * read configuration files by paths without a scheme do not run beside it ({@link #DEFAULT_FILE_SYSTEM}).
 */
@org.junit.jupiter.api.parallel.ResourceLock(HdfsTest.DEFAULT_FILE_SYSTEM)
class HdfsTest extends LetheTestBase {
  /** The JVM-wide default file system (spark.hadoop.fs.defaultFS among the system properties). */
  static final String DEFAULT_FILE_SYSTEM = "jvm-default-file-system";

  static final String FORGOTTEN_A = "person-000042";
  static final String FORGOTTEN_B = "person-000777";

  @TempDir
  static Path dir;

  static MiniDFSCluster cluster;
  static FileSystem hdfs;
  static String base;

  @BeforeAll
  static void startHdfs() throws Exception {
    Configuration conf = new Configuration();
    conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, dir.resolve("hdfs").toString());
    cluster = new MiniDFSCluster.Builder(conf).numDataNodes(1).build();
    cluster.waitActive();
    hdfs = cluster.getFileSystem();
    base = hdfs.getUri() + "/lethe";
    // One DataNode: blocks are written once (the client default of 3 would leave them under-replicated).
    spark().sparkContext().hadoopConfiguration().set("dfs.replication", "1");
  }

  @AfterAll
  static void stopHdfs() {
    if (cluster != null) {
      cluster.shutdown(true);
    }
  }

  static Run lethe(String... args) {
    List<String> all = new ArrayList<>(List.of(args[0]));
    all.addAll(List.of(
        "-D", "store.path=" + base + "/store",
        "-D", "models.path=" + base + "/models",
        "-D", "runs.path=" + base + "/runs",
        "-D", "ledger.path=" + base + "/ledger",
        "-D", "verify.path=" + base + "/verify",
        "-D", "verify.test=" + base + "/held-out",
        "-D", "verify.per-example-rows=0", // PerExampleTest's
        "-D", "ledger.key=" + LEDGER_KEY,
        "-D", "purge.retention-hours=0",
        "-D", "store.subject-column=customer",
        "-D", "store.label-column=income",
        "-D", "train.param.maxIter=20"));
    if (!List.of(args).contains("--conf")) {
      all.addAll(List.of("--conf", base + "/conf/lethe.properties"));
    }
    all.addAll(List.of(args).subList(1, args.length));
    return runLethe(all);
  }

  @Test
  void everyJobRunsOnHdfsAndListingShowsNothingForgottenRemains() throws Exception {
    adultTrain(1200).withColumn("customer", format_string("person-%06d", col(AdultData.SUBJECT)))
        .drop(AdultData.SUBJECT).coalesce(1).write().option("header", "true").csv(base + "/source");
    adultTest(400).withColumn("customer", format_string("test-%06d", col(AdultData.SUBJECT)))
        .drop(AdultData.SUBJECT).coalesce(1).write().option("header", "true").csv(base + "/held-out");
    try (OutputStream out = hdfs.create(new org.apache.hadoop.fs.Path("/lethe/requests/ids.txt"))) {
      out.write((FORGOTTEN_A + "\n" + FORGOTTEN_B + "\n").getBytes(StandardCharsets.UTF_8));
    }
    try (OutputStream out = hdfs.create(new org.apache.hadoop.fs.Path("/lethe/conf/lethe.properties"))) {
      out.write("store.shards = 3\nstore.salt = hdfs-test\n".getBytes(StandardCharsets.UTF_8));
    }

    // A configuration file given without a scheme is found on the default file system that
    // spark-submit passes as spark.hadoop.fs.defaultFS (the job reads it before any session exists).
    Run ingest;
    System.setProperty("spark.hadoop.fs.defaultFS", hdfs.getUri().toString());
    try {
      ingest = lethe("ingest", "--source", base + "/source", "--format", "csv", "--option", "header=true",
          "--option", "inferSchema=true", "--conf", "/lethe/conf/lethe.properties");
    } finally {
      System.clearProperty("spark.hadoop.fs.defaultFS");
    }
    assertThat(ingest.code()).as(ingest.err()).isZero();
    assertThat(ingest.summary().path("outputs").path("rows").asLong()).isEqualTo(1200);
    assertThat(hdfs.exists(new org.apache.hadoop.fs.Path("/lethe/store/_delta_log"))).isTrue();

    Run train = lethe("train");
    assertThat(train.code()).as(train.err()).isZero();
    assertThat(train.summary().path("outputs").path("trainedShards").toString()).as("3 shards, from the file on HDFS")
        .isEqualTo("[0,1,2]");

    Run forget = lethe("forget", "--ids-file", base + "/requests/ids.txt");
    assertThat(forget.code()).as(forget.err()).isZero();
    JsonNode outputs = forget.summary().path("outputs");
    assertThat(outputs.path("forgotten").asInt()).isEqualTo(2);
    assertThat(outputs.path("ensembleVersion").asLong()).isEqualTo(2);
    assertThat(outputs.path("retired").path("ensembleVersions").toString()).isEqualTo("[1]");
    assertThat(outputs.path("purge").path("filesDeleted").asLong()).isPositive();

    Run score = lethe("score", "--input", base + "/held-out", "--format", "csv", "--option", "header=true",
        "--option", "inferSchema=true", "--output", base + "/scored");
    assertThat(score.code()).as(score.err()).isZero();
    assertThat(spark().read().parquet(base + "/scored").count()).isEqualTo(400);

    Run verify = lethe("verify");
    assertThat(verify.code()).as(verify.err()).isZero();
    assertThat(verify.summary().path("outputs").path("report").path("passed").asBoolean()).isTrue();
    assertThat(verify.err()).contains("PASS models.retired").contains("PASS membership.forgotten");

    // Listed here, independently of verify: every retired artifact is gone from HDFS.
    ModelRegistry registry = new ModelRegistry(spark(), base + "/models");
    List<Retirement> retirements = registry.retirements();
    assertThat(retirements).hasSize(1);
    Retirement retired = retirements.get(0);
    assertThat(retired.subModels()).isNotEmpty();
    List<String> modelFiles = filesUnder(base + "/models").stream().map(Object::toString).toList();
    assertThat(modelFiles).as("files on HDFS").isNotEmpty();
    List<String> gone = new ArrayList<>(retired.subModels().stream()
        .map(d -> new org.apache.hadoop.fs.Path(registry.root(), d).toString()).toList());
    gone.add(registry.ensembleDir(1).toString());
    for (String artifact : gone) {
      assertThat(modelFiles).as("retired " + artifact).noneMatch(f -> f.startsWith(artifact + "/"));
    }
    assertThat(registry.versions()).containsExactly(2L);
    // No file of the store holds a forgotten row, and no summary, ledger, model, log or report
    // names a forgotten person.
    assertThat(rowsOnStorage(base + "/store", "customer", List.of(FORGOTTEN_A, FORGOTTEN_B))).isZero();
    for (String location : List.of("/runs", "/ledger", "/models", "/verify", "/store/_delta_log")) {
      assertThat(readAll(base + location)).as(location).doesNotContain(FORGOTTEN_A).doesNotContain(FORGOTTEN_B);
    }
  }
}
