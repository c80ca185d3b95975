package io.lethe;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.format_string;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.lethe.demo.AdultData;
import io.lethe.internal.run.Json;
import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cluster jar as users run it: submitted with Spark's own SparkSubmit to a real standalone
 * cluster on loopback (a master and a worker of two cores started from the Spark jars, each job's
 * executor in a JVM of its own, so every closure, UDF and model crosses a process boundary), with
 * Delta passed by --jars as --packages would. One executor of two cores rather than two of one:
 * each executor JVM loads Spark, Delta and Lethe again, on the suite's two cores. Ingests and trains
 * on the suite's local session, then runs forget (whose retrain fits its hit shards in the
 * executor's tasks, as train does) and verify (which scores with the published ensemble) on the
 * cluster, and checks what they wrote.
 * Everything it starts is stopped.
 */
class StandaloneClusterTest extends LetheTestBase {
  /** Jars of the test classpath that a Spark distribution does not hold. */
  private static final List<String> NOT_SPARK = List.of("lethe-", "picocli-", "delta-", "junit-", "assertj-",
      "json-schema-validator-", "opentest4j-", "apiguardian-", "jackson-dataformat-yaml-", "hadoop-client-minicluster-",
      // Delta Kernel and its Jackson module travel in the cluster jar: the cluster does not have them.
      "jackson-datatype-jdk8-");

  @TempDir
  static Path dir;

  static Path sparkHome;
  static final List<String> deltaJars = new ArrayList<>();
  static final List<Process> started = new ArrayList<>();
  static String masterUrl;
  static int masterUi;
  static List<String> jvmFlags;

  record Submitted(int code, JsonNode summary, String err) {}

  @BeforeAll
  static void startCluster() throws Exception {
    // The flags Spark needs on Java 17, and the client compiler only: the cluster's JVMs (master,
    // workers, each job's driver and executors) live for seconds, where the optimizing compiler's
    // work never pays back.
    jvmFlags = java.util.stream.Stream.concat(Arrays.stream(System.getProperty("lethe.jvm.flags", "").trim()
        .split("\\s+")), java.util.stream.Stream.of("-XX:TieredStopAtLevel=1")).filter(f -> !f.isEmpty()).toList();
    sparkHome = Files.createDirectories(dir.resolve("spark-home/jars")).getParent();
    String classpath = Files.readString(Path.of(System.getProperty("lethe.test.classpath"))).trim();
    for (String entry : classpath.split(File.pathSeparator)) {
      Path jar = Path.of(entry);
      String name = jar.getFileName().toString();
      if (!name.endsWith(".jar")) {
        continue;
      }
      if (name.startsWith("delta-") && !name.startsWith("delta-kernel-")) {
        deltaJars.add(entry);
      }
      if (NOT_SPARK.stream().noneMatch(name::startsWith) && !Files.exists(sparkHome.resolve("jars").resolve(name))) {
        Files.createSymbolicLink(sparkHome.resolve("jars").resolve(name), jar);
      }
    }
    assertThat(deltaJars).hasSize(2);

    int port = freePort();
    masterUi = freePort();
    masterUrl = "spark://127.0.0.1:" + port;
    started.add(java("org.apache.spark.deploy.master.Master", "512m", dir.resolve("master.log"),
        List.of("--host", "127.0.0.1", "--port", Integer.toString(port), "--webui-port", Integer.toString(masterUi))));
    Path work = Files.createDirectories(dir.resolve("worker"));
    started.add(java("org.apache.spark.deploy.worker.Worker", "256m", dir.resolve("worker.log"),
        List.of("--host", "127.0.0.1", "--cores", "2", "--memory", "1g", "--webui-port",
            Integer.toString(freePort()), "--work-dir", work.toString(), masterUrl)));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
    int alive = 0;
    while (alive < 1) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("The standalone cluster did not come up; master log:\n"
            + Files.readString(dir.resolve("master.log")));
      }
      Thread.sleep(500);
      alive = masterState().path("aliveworkers").asInt(0);
    }
  }

  @AfterAll
  static void stopCluster() throws InterruptedException {
    // Workers first (they stop their executors), then the master.
    for (int i = started.size() - 1; i >= 0; i--) {
      Process p = started.get(i);
      List<ProcessHandle> children = p.descendants().toList();
      p.destroy();
      if (!p.waitFor(20, TimeUnit.SECONDS)) {
        p.destroyForcibly();
      }
      children.forEach(ProcessHandle::destroyForcibly);
    }
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  static JsonNode masterState() {
    try {
      HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + masterUi + "/json/")).timeout(Duration.ofSeconds(5)).build(),
          HttpResponse.BodyHandlers.ofString());
      return Json.read(r.body(), JsonNode.class, "master state");
    } catch (IOException | RuntimeException notUpYet) {
      return Json.mapper().createObjectNode();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** A JVM on the Spark distribution's jars, as Spark's scripts start one, with SPARK_HOME set. */
  static Process java(String mainClass, String heap, Path log, List<String> args) throws IOException {
    return sparkJvm(mainClass, heap, args).redirectErrorStream(true).redirectOutput(log.toFile()).start();
  }

  static ProcessBuilder sparkJvm(String mainClass, String heap, List<String> args) {
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx" + heap));
    command.addAll(jvmFlags);
    command.addAll(List.of("-cp", sparkHome.resolve("jars") + File.separator + "*", mainClass));
    command.addAll(args);
    ProcessBuilder builder = new ProcessBuilder(command);
    environment(builder);
    return builder;
  }

  /** What Spark's scripts set: where Spark is, its Scala version (a worker builds executor commands from them). */
  static void environment(ProcessBuilder builder) {
    builder.environment().put("SPARK_HOME", sparkHome.toString());
    builder.environment().put("SPARK_SCALA_VERSION", "2.13");
    builder.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
  }

  /** The test's locations and settings, as -D options after a job name. */
  static List<String> settings() {
    return List.of("-D", "store.path=" + dir.resolve("store"), "-D", "models.path=" + dir.resolve("models"),
        "-D", "runs.path=" + dir.resolve("runs"), "-D", "ledger.path=" + dir.resolve("ledger"),
        "-D", "verify.path=" + dir.resolve("verify"), "-D", "ledger.key=" + LEDGER_KEY,
        "-D", "purge.retention-hours=0", "-D", "store.subject-column=customer", "-D", "store.label-column=income",
        "-D", "store.shards=4", "-D", "store.salt=cluster-test",
        // Open-source Delta 4.1.0's REORG ... APPLY (PURGE) fails in a real cluster's executors.
        "-D", "forget.rewrite-files=true",
        // Each L-BFGS iteration is a Spark job, a round trip to the executors: fewer of them.
        "-D", "train.param.maxIter=20");
  }

  /** spark-submit of the cluster jar in client mode; the job's JSON summary is its standard output. */
  static Submitted submit(String... jobArgs) throws Exception {
    Path jar = home().resolve("jobs/target/lethe-jobs-0.1.0-SNAPSHOT-cluster.jar");
    List<String> args = new ArrayList<>(List.of("--master", masterUrl, "--deploy-mode", "client",
        "--class", "io.lethe.jobs.Lethe", "--jars", String.join(",", deltaJars),
        "--conf", "spark.executor.memory=700m", "--conf", "spark.executor.cores=2", "--conf", "spark.cores.max=2",
        "--conf", "spark.executor.extraJavaOptions=" + String.join(" ", jvmFlags),
        // Small-table settings: Delta's default of 50 state-reconstruction partitions would be 50
        // tasks per log read, each a round trip to an executor.
        "--conf", "spark.sql.shuffle.partitions=2", "--conf", "spark.default.parallelism=2",
        "--conf", "spark.databricks.delta.snapshotPartitions=2",
        "--conf", "spark.sql.sources.parallelPartitionDiscovery.parallelism=2", "--conf", "spark.ui.enabled=false",
        "--conf", "spark.scheduler.mode=FAIR",
        jar.toString(), jobArgs[0]));
    args.addAll(settings());
    args.addAll(List.of(jobArgs).subList(1, jobArgs.length));
    Path out = dir.resolve(jobArgs[0] + ".out");
    Path err = dir.resolve(jobArgs[0] + ".err");
    ProcessBuilder builder = sparkJvm("org.apache.spark.deploy.SparkSubmit", "1g", args)
        .redirectOutput(out.toFile()).redirectError(err.toFile());
    long start = System.nanoTime();
    Process p = builder.start();
    if (!p.waitFor(5, TimeUnit.MINUTES)) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
      throw new IllegalStateException("spark-submit " + jobArgs[0] + " did not finish in 5 minutes");
    }
    System.out.printf("spark-submit %s: exit %d in %.1f s%n", jobArgs[0], p.exitValue(),
        (System.nanoTime() - start) / 1e9);
    String stdout = Files.readString(out);
    System.out.println(stdout);
    JsonNode summary = stdout.startsWith("{") ? Json.read(stdout, JsonNode.class, "summary") : null;
    return new Submitted(p.exitValue(), summary, Files.readString(err));
  }

  /** The lines of a driver log that say what went wrong. */
  static String tail(String text) {
    return text.lines().filter(l -> l.contains("ERROR") || l.contains("Reason") || l.contains("error:")
        || l.startsWith("FAIL ")
        || l.startsWith("Caused by")).limit(40).collect(java.util.stream.Collectors.joining("\n"));
  }

  @Test
  void forgetAndVerifyRunOnAStandaloneClusterAfterALocalIngestAndTrain() throws Exception {
    Path csv = dir.resolve("people-csv");
    adultTrain(1200).withColumn("customer", format_string("person-%06d", col(AdultData.SUBJECT)))
        .drop(AdultData.SUBJECT).coalesce(1).write().option("header", "true").csv(csv.toString());

    // The store is written and trained here, on the suite's local session; every job after runs on the cluster.
    List<String> ingestArgs = new ArrayList<>(List.of("ingest"));
    ingestArgs.addAll(settings());
    ingestArgs.addAll(List.of("--source", csv.toString(), "--format", "csv", "--option", "header=true",
        "--option", "inferSchema=true"));
    Run ingest = runLethe(ingestArgs);
    assertThat(ingest.code()).as(ingest.err()).isZero();
    assertThat(ingest.summary().path("outputs").path("rows").asLong()).isEqualTo(1200);

    List<String> trainArgs = new ArrayList<>(List.of("train"));
    trainArgs.addAll(settings());
    Run train = runLethe(trainArgs);
    assertThat(train.code()).as(train.err()).isZero();
    assertThat(train.summary().path("outputs").path("trainedShards").toString()).isEqualTo("[0,1,2,3]");

    // The forget retrains its hit shards as train fits shards: one Spark job, each shard a task in the
    // worker's executor.
    Submitted forget = submit("forget", "--ids", "person-000042,person-000777");
    assertThat(forget.code()).as(tail(forget.err())).isZero();
    assertThat(forget.summary().path("outputs").path("forgotten").asInt()).isEqualTo(2);
    assertThat(forget.summary().path("outputs").path("ensembleVersion").asLong()).isEqualTo(2);
    assertThat(forget.err()).contains("in a task on executor 0").doesNotContain("in a task on executor driver");

    // One hit shard retrained from scratch is enough to compare on the cluster.
    Submitted verify = submit("verify", "-D", "verify.retrain-shards=1");
    assertThat(verify.code()).as(tail(verify.err())).isZero();
    JsonNode report = verify.summary().path("outputs").path("report");
    assertThat(report.path("passed").asBoolean()).isTrue();
    // verify scored the store's rows with the published ensemble in the executors (the fused path
    // that score takes too).
    assertThat(report.path("utility").path("source").asText()).isEqualTo("store-sample");
    double majority = majorityRate(adultTrain(1200), AdultData.LABEL);
    assertThat(report.path("utility").path("ensemble").asDouble())
        .as("training accuracy of the ensemble, against always predicting the majority class (%.4f)", majority)
        .isGreaterThan(majority + 0.03);

    // What the jobs wrote, read back here.
    assertThat(spark().read().format("delta").load(dir.resolve("store").toString()).count()).isEqualTo(1198);
    assertThat(rowsOnStorage(dir.resolve("store").toString(), "customer", List.of("person-000042", "person-000777")))
        .isZero();
    // Every job ran its tasks in an executor of the worker: a JVM of its own.
    assertThat(masterState().path("completedapps").size()).isEqualTo(2);
    try (Stream<Path> apps = Files.list(dir.resolve("worker"))) {
      assertThat(apps.filter(a -> a.getFileName().toString().startsWith("app-"))).as("apps on the worker").hasSize(2);
    }
  }
}
