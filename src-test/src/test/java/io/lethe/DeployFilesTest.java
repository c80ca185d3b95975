package io.lethe;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.lethe.jobs.Lethe;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * deploy/ kept true to the jar: every job a DAG, bundle, Jobs API file or Kubernetes manifest runs
 * is a main class in the cluster jar, and its arguments parse with that job's real options. The
 * shell scripts and DAGs are syntax-checked, and the cluster page (docs/cluster.md) points at every file.
 */
// Reads configuration files by paths without a scheme: not beside HdfsTest, which sets the default file system.
@org.junit.jupiter.api.parallel.ResourceLock(value = HdfsTest.DEFAULT_FILE_SYSTEM,
    mode = org.junit.jupiter.api.parallel.ResourceAccessMode.READ)
class DeployFilesTest {
  static final Path DEPLOY = LetheTestBase.home().resolve("deploy");
  static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  /** A job invocation found in a deploy file. */
  record Invocation(String file, String mainClass, List<String> args) {}

  static List<Path> files(String glob) throws IOException {
    try (Stream<Path> all = Files.walk(DEPLOY)) {
      var matcher = DEPLOY.getFileSystem().getPathMatcher("glob:" + glob);
      return all.filter(p -> matcher.matches(DEPLOY.relativize(p))).sorted().toList();
    }
  }

  static List<String> strings(JsonNode array, Map<String, String> variables) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> {
      String v = n.asText();
      for (Map.Entry<String, String> var : variables.entrySet()) {
        v = v.replace("${var." + var.getKey() + "}", var.getValue());
      }
      out.add(v);
    });
    return out;
  }

  /** spark_jar_task entries of a Databricks bundle or Jobs API document. */
  static List<Invocation> databricks(Path file, JsonNode doc) {
    Map<String, String> variables = new java.util.HashMap<>();
    doc.path("variables").properties().forEach(e -> variables.put(e.getKey(), e.getValue().path("default").asText()));
    List<JsonNode> jobs = new ArrayList<>();
    if (doc.has("tasks")) {
      jobs.add(doc);
    }
    doc.path("resources").path("jobs").forEach(jobs::add);
    List<Invocation> out = new ArrayList<>();
    for (JsonNode job : jobs) {
      for (JsonNode task : job.path("tasks")) {
        JsonNode jar = task.path("spark_jar_task");
        out.add(new Invocation(file.getFileName() + ":" + task.path("task_key").asText(),
            jar.path("main_class_name").asText(), strings(jar.path("parameters"), variables)));
      }
    }
    return out;
  }

  static List<Invocation> kubernetes(Path file) throws IOException {
    List<Invocation> out = new ArrayList<>();
    try (var parser = YAML.getFactory().createParser(file.toFile())) {
      for (JsonNode doc : YAML.readValues(parser, JsonNode.class).readAll()) {
        if (!doc.path("kind").asText().endsWith("SparkApplication")) {
          continue; // the namespace, service account and its RBAC
        }
        JsonNode spec = doc.path("kind").asText().equals("ScheduledSparkApplication")
            ? doc.path("spec").path("template") : doc.path("spec");
        assertThat(doc.path("apiVersion").asText()).isEqualTo("sparkoperator.k8s.io/v1beta2");
        assertThat(spec.path("mainApplicationFile").asText()).isEqualTo("local:///opt/lethe/lethe-jobs.jar");
        out.add(new Invocation(file.getFileName() + ":" + doc.path("metadata").path("name").asText(),
            spec.path("mainClass").asText(), strings(spec.path("arguments"), Map.of())));
      }
    }
    return out;
  }

  /** The DAGs' lethe("task", "main class", [args]) calls; their common arguments are checked apart. */
  static List<Invocation> airflow(Path file) throws IOException {
    List<Invocation> out = new ArrayList<>();
    Matcher call = Pattern.compile("lethe\\(\"(\\w+)\", \"([\\w.]+)\", \\[(.*?)\\]\\)").matcher(Files.readString(file));
    while (call.find()) {
      List<String> args = new ArrayList<>(List.of("--conf", "lethe.properties", "-D", "verify.path=/v"));
      Matcher literal = Pattern.compile("\"([^\"]*)\"|(BATCH_FILE)").matcher(call.group(3));
      while (literal.find()) {
        args.add(literal.group(1) != null ? literal.group(1) : "requests.txt");
      }
      out.add(new Invocation(file.getFileName() + ":" + call.group(1), call.group(2), args));
    }
    return out;
  }

  static void assertRunsInTheJar(List<Invocation> invocations) throws Exception {
    Path jar = LetheTestBase.home().resolve("jobs/target/lethe-jobs-0.1.0-SNAPSHOT-cluster.jar");
    try (JarFile cluster = new JarFile(jar.toFile())) {
      for (Invocation i : invocations) {
        assertThat(cluster.getEntry(i.mainClass().replace('.', '/') + ".class")).as(i.file() + " main class").isNotNull();
        Class<?> job = Class.forName(i.mainClass());
        assertThat(job.getMethod("main", String[].class)).as(i.file()).isNotNull();
        var ctor = job.getDeclaredConstructor();
        ctor.setAccessible(true);
        // Throws (and fails the test) on an unknown option, a missing value or a missing required option.
        new CommandLine(ctor.newInstance()).parseArgs(i.args().toArray(new String[0]));
      }
    }
  }

  @Test
  void databricksBundleAndJobsApiFilesRunRealJobsWithRealOptions() throws Exception {
    List<Invocation> all = new ArrayList<>();
    for (Path f : files("databricks/**.{yml,json}")) {
      all.addAll(databricks(f, f.toString().endsWith(".json") ? new ObjectMapper().readTree(f.toFile())
          : YAML.readTree(f.toFile())));
    }
    assertThat(all).extracting(Invocation::mainClass).contains("io.lethe.jobs.ForgetJob", "io.lethe.jobs.VerifyJob",
        "io.lethe.jobs.PurgeJob", "io.lethe.jobs.StatusJob");
    assertThat(all).hasSize(8);
    assertRunsInTheJar(all);
  }

  @Test
  void kubernetesManifestsRunRealJobsWithRealOptions() throws Exception {
    List<Invocation> all = new ArrayList<>();
    for (Path f : files("kubernetes/*.yaml")) {
      all.addAll(kubernetes(f));
    }
    assertThat(all).extracting(Invocation::mainClass).contains("io.lethe.jobs.ForgetJob", "io.lethe.jobs.VerifyJob");
    assertRunsInTheJar(all);
    assertThat(Files.readString(DEPLOY.resolve("kubernetes/Dockerfile")))
        .contains("COPY --chown=spark:spark jobs/target/lethe-jobs-0.1.0-SNAPSHOT-cluster.jar /opt/lethe/lethe-jobs.jar");
  }

  @Test
  void airflowDagsRunRealJobsWithRealOptionsAndCompile() throws Exception {
    List<Invocation> all = new ArrayList<>();
    for (Path f : files("airflow/*.py")) {
      all.addAll(airflow(f));
    }
    assertThat(all).extracting(Invocation::file).containsExactlyInAnyOrder("lethe_daily.py:forget",
        "lethe_daily.py:verify", "lethe_maintenance.py:purge", "lethe_maintenance.py:status");
    assertRunsInTheJar(all);
    List<String> command = new ArrayList<>(List.of("python3", "-B", "-c",
        "import ast, sys\nfor f in sys.argv[1:]: ast.parse(open(f).read(), f)"));
    files("airflow/*.py").forEach(p -> command.add(p.toString()));
    assertThat(run(command)).as("python3 parses the DAGs").isZero();
  }

  @Test
  void theBundleFollowsTheDatabricksRules() throws Exception {
    // What `databricks bundle validate` and the platform require, checked offline (databricks/cli's
    // validate_target_mode.go and bundle schema; Unity Catalog's rules for volumes).
    JsonNode bundle = YAML.readTree(DEPLOY.resolve("databricks/databricks.yml").toFile());
    JsonNode prod = bundle.path("targets").path("prod");
    assertThat(prod.path("mode").asText()).isEqualTo("production");
    assertThat(prod.path("workspace").path("root_path").asText()).as("production needs its own root path").isNotBlank();
    assertThat(prod.path("run_as").size()).as("one identity to run as").isEqualTo(1);
    assertThat(prod.path("run_as").fieldNames().next()).isIn("service_principal_name", "user_name");
    assertThat(bundle.path("targets").path("dev").path("mode").asText()).isEqualTo("development");

    List<JsonNode> jobs = new ArrayList<>();
    bundle.path("resources").path("jobs").forEach(jobs::add);
    for (Path f : files("databricks/jobs/*.json")) {
      jobs.add(new ObjectMapper().readTree(f.toFile()));
    }
    Map<String, String> variables = new java.util.HashMap<>();
    bundle.path("variables").properties().forEach(e -> variables.put(e.getKey(), e.getValue().path("default").asText()));
    for (JsonNode job : jobs) {
      String name = job.path("name").asText();
      assertThat(job.path("schedule").path("quartz_cron_expression").asText()).as(name).isNotBlank();
      for (JsonNode cluster : job.path("job_clusters")) {
        JsonNode spec = cluster.path("new_cluster");
        // The task engine fits shards in tasks with the RDD API: dedicated (single-user) access only.
        assertThat(spec.path("data_security_mode").asText()).as(name).isIn("SINGLE_USER", "DATA_SECURITY_MODE_DEDICATED");
        assertThat(spec.path("single_user_name").asText()).as(name).isNotBlank();
        // A GA runtime of the jar's Spark: Databricks Runtime 18 LTS is Spark 4.1.0, Scala 2.13.
        String runtime = spec.path("spark_version").asText().replace("${var.spark_version}",
            variables.getOrDefault("spark_version", ""));
        assertThat(runtime).as(name).isEqualTo("18.x-scala2.13");
        assertThat(spec.path("spark_env_vars").path("LETHE_LEDGER_KEY").asText()).as(name + ": the key from a secret")
            .matches("\\{\\{secrets/[\\w-]+/[\\w-]+}}");
        assertThat(spec.path("spark_conf").toString()).as(name).doesNotContain("ledger");
      }
      for (JsonNode task : job.path("tasks")) {
        assertThat(task.path("max_retries").asInt(0)).as(name + ": a failed Lethe task is not retried blindly").isZero();
        List<String> args = strings(task.path("spark_jar_task").path("parameters"), variables);
        assertThat(args).as(name).noneMatch(a -> a.startsWith("ledger.key="));
        for (int i = 0; i < args.size(); i++) {
          String a = args.get(i);
          // Delta tables by three-level Unity Catalog name; Lethe's own created under tables.location,
          // a cloud URI (tables cannot live in a volume); sub-models and reports in a volume.
          if (a.startsWith("store.path=") || a.startsWith("ledger.path=") || a.startsWith("models.publish-log=")
              || (i > 0 && args.get(i - 1).equals("--ids-file"))) {
            assertThat(a.substring(a.indexOf('=') + 1)).as(name + ": " + a).matches("\\w+\\.\\w+\\.\\w+");
          }
          if (a.startsWith("tables.location=")) {
            assertThat(a).as(name).doesNotContain("/Volumes/").contains("://");
          }
        }
        if (args.stream().anyMatch(a -> a.startsWith("store.path="))) {
          assertThat(args).as(name + ": Lethe creates its tables as external ones")
              .anyMatch(a -> a.startsWith("tables.location="));
        }
      }
    }
    // forget, then verify in the daily job; purge on a schedule of its own.
    JsonNode daily = bundle.path("resources").path("jobs").path("lethe_daily_forget");
    assertThat(daily.path("tasks").get(1).path("depends_on").get(0).path("task_key").asText()).isEqualTo("forget");
    assertThat(daily.path("tasks").get(1).path("spark_jar_task").path("main_class_name").asText())
        .isEqualTo("io.lethe.jobs.VerifyJob");
    assertThat(bundle.path("resources").path("jobs").path("lethe_maintenance").path("tasks").get(0)
        .path("spark_jar_task").path("main_class_name").asText()).isEqualTo("io.lethe.jobs.PurgeJob");
    // The schema of those tables is the bundle's own (resources.schemas: catalog_name and name).
    JsonNode schema = bundle.path("resources").path("schemas").path("lethe");
    assertThat(schema.path("catalog_name").asText()).isNotBlank();
    assertThat(schema.path("name").asText()).isNotBlank();
  }

  @Test
  void airflowRetriesOnlyRunAgainAndKeepsTheKeyOutOfSparkConf() throws Exception {
    for (Path f : files("airflow/*.py")) {
      String dag = Files.readString(f);
      assertThat(dag).as(f + ": no key in Spark conf or the environment of spark-submit")
          .doesNotContain("env_vars=").doesNotContain("\"LETHE_LEDGER_KEY\"").doesNotContain("ledger.key=");
    }
    assertThat(Files.readString(DEPLOY.resolve("airflow/lethe_airflow.py"))).contains("\"ledger.key-file=\" + LETHE_KEY_FILE");
    // The retry rule itself, run by Python against stand-ins of Airflow's modules: the provider's
    // SparkSubmitOperator fails with its own message, "Cannot execute: ... Error code is: N."
    Path stubs = Files.createTempDirectory("airflow-stubs");
    Map<String, String> modules = Map.of(
        "airflow/__init__.py", "",
        "airflow/exceptions.py", "class AirflowException(Exception): pass\n"
            + "class AirflowFailException(AirflowException): pass\n",
        "airflow/models.py", "class Variable:\n    @staticmethod\n    def get(key, default=None):\n        return default\n",
        "airflow/providers/__init__.py", "",
        "airflow/providers/apache/__init__.py", "",
        "airflow/providers/apache/spark/__init__.py", "",
        "airflow/providers/apache/spark/operators/__init__.py", "",
        "airflow/providers/apache/spark/operators/spark_submit.py", "import os\n"
            + "from airflow.exceptions import AirflowException\n"
            + "class SparkSubmitOperator:\n    def __init__(self, **kwargs):\n        self.kwargs = kwargs\n"
            + "    def execute(self, context):\n        code = int(os.environ['EXIT'])\n"
            + "        if code:\n            raise AirflowException('Cannot execute: spark-submit ... Error code is: %d.' % code)\n");
    for (Map.Entry<String, String> m : modules.entrySet()) {
      Path p = stubs.resolve(m.getKey());
      Files.createDirectories(p.getParent());
      Files.writeString(p, m.getValue());
    }
    String probe = "import sys\nsys.path[:0] = [sys.argv[1], sys.argv[2]]\n"
        + "from airflow.exceptions import AirflowFailException, AirflowException\n"
        + "import lethe_airflow\n"
        + "task = lethe_airflow.lethe_job('forget', 'io.lethe.jobs.ForgetJob', [])\n"
        + "assert 'ledger.key-file=hdfs:///secure/lethe/ledger.key' in task.kwargs['application_args']\n"
        + "try:\n    task.execute({})\n    print('ok')\n"
        + "except AirflowFailException:\n    print('fail-no-retry')\n"
        + "except AirflowException:\n    print('retry')\n";
    Path script = stubs.resolve("probe.py");
    Files.writeString(script, probe);
    Map<Integer, String> expected = Map.of(0, "ok", 1, "fail-no-retry", 2, "fail-no-retry", 4, "retry",
        5, "fail-no-retry", 6, "fail-no-retry");
    for (Map.Entry<Integer, String> e : expected.entrySet()) {
      ProcessBuilder pb = new ProcessBuilder("python3", "-B", script.toString(), stubs.toString(),
          DEPLOY.resolve("airflow").toString()).redirectErrorStream(true);
      pb.environment().put("EXIT", e.getKey().toString());
      Process p = pb.start();
      String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).strip();
      assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
      assertThat(out).as("spark-submit exit " + e.getKey()).isEqualTo(e.getValue());
    }
  }

  @Test
  void kubernetesAppsMountTheKeyRunAsABoundAccountAndPurgeOnASchedule() throws Exception {
    // The spark operator's v1beta2 types and its chart's RBAC for the Spark service account.
    List<JsonNode> docs = new ArrayList<>();
    for (Path f : files("kubernetes/*.yaml")) {
      try (var parser = YAML.getFactory().createParser(f.toFile())) {
        docs.addAll(YAML.readValues(parser, JsonNode.class).readAll());
      }
    }
    JsonNode role = docs.stream().filter(d -> d.path("kind").asText().equals("Role")).findFirst().orElseThrow();
    List<String> resources = new ArrayList<>();
    role.path("rules").get(0).path("resources").forEach(r -> resources.add(r.asText()));
    assertThat(resources).contains("pods", "services", "configmaps", "persistentvolumeclaims");
    List<String> verbs = new ArrayList<>();
    role.path("rules").get(0).path("verbs").forEach(v -> verbs.add(v.asText()));
    assertThat(verbs).contains("create", "get", "list", "watch", "delete");
    JsonNode binding = docs.stream().filter(d -> d.path("kind").asText().equals("RoleBinding")).findFirst().orElseThrow();
    assertThat(binding.path("roleRef").path("name").asText()).isEqualTo(role.path("metadata").path("name").asText());
    String account = binding.path("subjects").get(0).path("name").asText();
    assertThat(docs).anySatisfy(d -> {
      assertThat(d.path("kind").asText()).isEqualTo("ServiceAccount");
      assertThat(d.path("metadata").path("name").asText()).isEqualTo(account);
    });

    List<String> scheduled = new ArrayList<>();
    for (JsonNode doc : docs) {
      if (!doc.path("kind").asText().endsWith("SparkApplication")) {
        continue;
      }
      boolean isScheduled = doc.path("kind").asText().equals("ScheduledSparkApplication");
      JsonNode spec = isScheduled ? doc.path("spec").path("template") : doc.path("spec");
      String name = doc.path("metadata").path("name").asText();
      if (isScheduled) {
        assertThat(doc.path("spec").path("schedule").asText()).as(name).isNotBlank();
        assertThat(doc.path("spec").path("concurrencyPolicy").asText()).as(name).isEqualTo("Forbid");
        scheduled.add(spec.path("mainClass").asText());
      }
      assertThat(spec.path("restartPolicy").path("type").asText()).as(name + ": no blind restarts").isEqualTo("Never");
      assertThat(spec.path("driver").path("serviceAccount").asText()).as(name).isEqualTo(account);
      // The key: a secret mounted in the driver as a file that ledger.key-file names; not in env or conf.
      JsonNode secret = spec.path("driver").path("secrets").get(0);
      assertThat(secret.path("secretType").asText()).as(name).isEqualTo("Generic");
      List<String> args = strings(spec.path("arguments"), Map.of());
      assertThat(args).as(name).anyMatch(a -> a.startsWith("ledger.key-file=" + secret.path("path").asText() + "/"));
      assertThat(spec.path("driver").has("env") || spec.path("driver").has("envFrom")).as(name).isFalse();
      assertThat(spec.path("sparkConf").toString()).as(name).doesNotContain("ledger");
    }
    assertThat(scheduled).containsExactlyInAnyOrder("io.lethe.jobs.ForgetJob", "io.lethe.jobs.VerifyJob",
        "io.lethe.jobs.PurgeJob", "io.lethe.jobs.StatusJob");
    // S3A: hadoop-aws of the Hadoop that Spark 4.1.0 ships, with the AWS SDK bundle it is built with.
    String dockerfile = Files.readString(DEPLOY.resolve("kubernetes/Dockerfile"));
    assertThat(dockerfile).contains("hadoop-aws/3.4.2/hadoop-aws-3.4.2.jar").contains("awssdk/bundle/2.29.52/");
    assertThat(org.apache.hadoop.util.VersionInfo.getVersion()).as("the Hadoop on Spark's classpath").isEqualTo("3.4.2");
  }

  @Test
  void submitScriptKnowsEveryJobAndParses() throws Exception {
    Path script = DEPLOY.resolve("spark-submit/lethe-submit.sh");
    assertThat(run(List.of("bash", "-n", script.toString()))).isZero();
    String text = Files.readString(script);
    CommandLine lethe = new CommandLine(new Lethe());
    for (String job : lethe.getSubcommands().keySet()) {
      if (job.equals("help") || job.equals("demo") || job.equals("bench")) {
        continue;
      }
      Object command = lethe.getSubcommands().get(job).getCommand();
      assertThat(text).as("lethe-submit.sh runs " + job).contains(job + ") class=" + command.getClass().getName());
    }
  }

  @Test
  void theClusterPagePointsAtEveryDeployFile() throws IOException {
    String readme = Files.readString(LetheTestBase.home().resolve("README.md"));
    String cluster = Files.readString(LetheTestBase.home().resolve("docs/cluster.md"));
    assertThat(readme).as("the README links the cluster page").contains("(docs/cluster.md)");
    try (Stream<Path> all = Files.walk(DEPLOY)) {
      for (Path f : all.filter(Files::isRegularFile).toList()) {
        assertThat(cluster).as("docs/cluster.md mentions " + f).contains("deploy/" + DEPLOY.relativize(f));
      }
    }
  }

  static int run(List<String> command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).inheritIO().start();
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    return p.exitValue();
  }
}
