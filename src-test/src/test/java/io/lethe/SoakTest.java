package io.lethe;

import static org.apache.spark.sql.functions.col;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.lethe.internal.model.ShardEnsembleModel;
import io.lethe.internal.registry.ModelRegistry;
import io.lethe.internal.run.Json;
import io.lethe.internal.store.ShardedStore;
import io.lethe.types.EnsembleManifest;
import io.lethe.types.SubModelEntry;
import io.lethe.types.VerifyReport;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * The soak: forget, append ({@code ingest --append}), {@code train --stale} and purge run as
 * separate JVM processes on one store, two at a time, and are killed with SIGKILL at seeded random
 * moments inside their work (after the job's first log line), 30 times, then run again until they
 * finish. A run that ends before its kill moment is not killed: the kill windows then shrink
 * toward the work the kind's runs were seen to take, and forget batches are added (up to 12) until
 * 30 runs have been killed, whatever the machine's speed.
 *
 * <p>After every kill, before the run goes again: no row is gone that no started forget asked for,
 * every append landed whole or not at all, every published ensemble loads (no half-written
 * sub-model is read), and every run summary on storage reads whole. After every op finishes, also
 * what it promised: a forget's people are gone and no published version holds a sub-model trained
 * before a delete in its shard; an append's people are there once. At the end, all of it again
 * (the rows by a Spark query), verify for every batch, and no sub-model directory fitted before a
 * later delete in its shard left on storage. Where each kill landed (the step the process's log
 * had reached) is printed.
 *
 * <p>It runs in its own Maven profile ({@code ./mvnw -Psoak verify}), which {@code .ci/run} runs
 * after the suite; {@code -Dlethe.soak.seed=N} picks other moments. The jobs' JVMs start from a
 * class-data sharing archive that a first status run writes as it exits (as {@code ./lethe} does
 * with its own), about 3 s sooner each on 2 cores.
 */
@Tag("soak")
class SoakTest extends LetheTestBase {
  private static final long SEED = Long.getLong("lethe.soak.seed", 20_261_206L);
  private static final int KILLS = 30;
  /** An op is killed this many times at most: 7 ops can take 42 kills. */
  private static final int KILLS_PER_OP = 6;
  private static final int PEOPLE = 1600;
  private static final int APPENDS = 2;
  private static final int APPEND_PEOPLE = 40;
  private static final int BATCHES = 3;
  /**
   * Forget batches the soak may add after the first ones while fewer than {@link #KILLS} runs
   * have been killed: a run that finishes before its kill moment is not killed, so on a faster
   * machine (or after faster code) the ops planned may end before 30 kills.
   */
  private static final int MAX_BATCHES = 12;
  private static final String ARCHIVE = "class-archive";
  private static final String THE_END = "the end";
  /**
   * How long each kind of op works after its start-up at first, about, on 2 cores beside another:
   * the kill moments are drawn within it. Once a run of the kind has ended before its kill moment,
   * its work's length is known and the window shrinks to the longest of those lengths (a resumed
   * run has less left to do), but to no less than {@link #SHORTEST_WINDOW} of the first, so that
   * kills land inside the work on a machine of any speed and still reach its later steps.
   */
  private static final Map<String, Double> WORK_SECONDS = Map.of("forget", 9.0, "append", 9.0, "purge", 8.0,
      "train-stale", 8.0);
  /** The least share of its first kill window a kind's window shrinks to. */
  private static final double SHORTEST_WINDOW = 0.6;

  /** Kept when the test fails: the jobs' logs and the store tell what happened. */
  @TempDir(cleanup = CleanupMode.ON_SUCCESS)
  static Path dir;

  private final AtomicInteger kills = new AtomicInteger();
  private final AtomicInteger checks = new AtomicInteger();
  /** Seconds spent in each kind of check between runs (the lanes wait for them). */
  private final Map<String, Double> checkSeconds = new ConcurrentHashMap<>();
  private final List<String> landed = new CopyOnWriteArrayList<>();
  private final Map<String, String> batchIds = new ConcurrentHashMap<>();
  /** Ops that have begun (a first attempt started) and that have finished. */
  private final Set<String> begun = ConcurrentHashMap.newKeySet();
  private final Set<String> finished = ConcurrentHashMap.newKeySet();
  /** The people each forget asks for, and each append adds. */
  private final Map<String, List<Long>> forgetting = new TreeMap<>();
  private final Map<String, List<Long>> appending = new TreeMap<>();
  /** By kind, the work seconds (after start-up) of runs that ended before their kill moment. */
  private final Map<String, List<Double>> worked = new ConcurrentHashMap<>();
  private volatile Path archive;
  private volatile boolean failed;
  private LetheConfig config;
  private long started;

  /** One operation: a job's arguments, run until it finishes. */
  private record Op(String name, List<String> args) {}

  @Test
  void processesKilledAnywhereLoseNothing() throws Exception {
    started = System.nanoTime();
    Map<String, String> settings = new HashMap<>(Map.of("train.param.maxIter", "10", LetheConfig.FORGET_PURGE, "false",
        // Each job's JVM starts a little sooner without Spark's web UI.
        "spark.ui.enabled", "false"));
    config = adultConfig(4, dir, settings);
    // While this JVM makes the store, a status run (which finds none yet) writes, as it exits, the
    // class archive that every run after it starts from.
    java.util.concurrent.CompletableFuture<Attempt> archiving = java.util.concurrent.CompletableFuture.supplyAsync(
        () -> attempt(new Op(ARCHIVE, List.of("status")), 0, settings(config), -1, true));
    ingestAndTrain(config, adultTrain(PEOPLE));

    // Two lanes of ops, run at the same time: the forgets (batches of two people of the first
    // ingest); and the appends of new people (Adult's next rows, each set in its own Parquet
    // folder), with a train --stale and a purge after them in turn.
    List<Op> others = new ArrayList<>();
    for (int a = 0; a < APPENDS; a++) {
      long from = PEOPLE + (long) a * APPEND_PEOPLE;
      Path source = dir.resolve("append-" + a);
      adultTrain(PEOPLE + APPENDS * APPEND_PEOPLE).where(col("person_id").geq(from)
          .and(col("person_id").lt(from + APPEND_PEOPLE))).coalesce(1).write().parquet(source.toString());
      appending.put("append-" + a, LongStream.range(from, from + APPEND_PEOPLE).boxed().toList());
      others.add(new Op("append-" + a, List.of("ingest", "--append", "--source", source.toString(), "--format",
          "parquet")));
      others.add(a % 2 == 0 ? new Op("train-stale-" + a, List.of("train", "--stale")) : new Op("purge-" + a,
          List.of("purge")));
    }
    Random pick = new Random(SEED);
    List<Long> people = new ArrayList<>(LongStream.range(0, PEOPLE).boxed().toList());
    Collections.shuffle(people, pick);
    // The forgets: BATCHES of them, then more (up to MAX_BATCHES) while fewer than KILLS runs
    // have been killed. Each batch's people are noted before it begins.
    java.util.Iterator<Op> forgets = new java.util.Iterator<>() {
      private int b;

      @Override
      public boolean hasNext() {
        return b < BATCHES || (b < MAX_BATCHES && kills.get() < KILLS && !failed);
      }

      @Override
      public Op next() {
        List<Long> ids = List.of(people.get(2 * b), people.get(2 * b + 1));
        synchronized (SoakTest.this) { // the checks read it
          forgetting.put("forget-" + b, ids);
        }
        return new Op("forget-" + b++, List.of("forget", "--ids",
            ids.stream().map(String::valueOf).collect(Collectors.joining(","))));
      }
    };

    archiving.get(120, TimeUnit.SECONDS);

    ExecutorService lanes = Executors.newFixedThreadPool(2);
    List<Future<?>> running = new ArrayList<>();
    int lane = 0;
    for (java.util.Iterator<Op> ops : List.of(forgets, others.iterator())) {
      Random random = new Random(SEED + ++lane);
      running.add(lanes.submit(() -> runAll(ops, random, settings(config))));
    }
    for (Future<?> f : running) {
      f.get();
    }
    lanes.shutdown();
    System.out.printf("Soak: %d SIGKILLs and %d checks (%.0f s of them) in %.0f s, landing at:%n", kills.get(),
        checks.get(), checkSeconds.values().stream().mapToDouble(Double::doubleValue).sum(),
        (System.nanoTime() - started) / 1e9);
    landed.forEach(l -> System.out.println("  " + l));
    System.out.println("Soak: seconds per kind of check " + checkSeconds);
    System.out.printf("Soak: %d forget batches; the work of runs that ended before their kill moment, by kind: %s%n",
        forgetting.size(), worked);

    // At the end: everything, for every batch, and no orphan sub-model directory.
    checkRows(THE_END);
    checkPublished(THE_END);
    checkLoads(THE_END);
    ModelRegistry registry = lethe().internals().registry();
    Map<Integer, Long> lastDelete = lethe().internals().store().lastRemovalsSince(0);
    assertThat(registry.subModelDirs()).as("sub-model directories fitted before a later delete in their shard")
        .allSatisfy(d -> assertThat(d.storeVersion()).as(d.relativePath())
            .isGreaterThanOrEqualTo(lastDelete.getOrDefault(d.shard(), 0L)));
    for (Map.Entry<String, String> batch : batchIds.entrySet()) {
      checkVerify(batch.getKey(), batch.getValue(), THE_END);
    }
    assertThat(batchIds).hasSize(forgetting.size()).hasSizeGreaterThanOrEqualTo(BATCHES);
    assertThat(kills.get()).as("processes killed").isGreaterThanOrEqualTo(KILLS);
    assertThat(landed).as("kills that landed in a run's work, not in its start-up").filteredOn(l -> !l.contains(
        "(starting")).hasSizeGreaterThanOrEqualTo(KILLS / 2);
  }

  /** Runs each op until it finishes, killing some attempts at a random moment, checking after each. */
  private void runAll(java.util.Iterator<Op> ops, Random random, List<String> settings) {
    try {
      runOps(ops, random, settings);
    } catch (RuntimeException | AssertionError e) {
      failed = true; // the other lane stops at its next attempt
      throw e;
    }
  }

  private void runOps(java.util.Iterator<Op> ops, Random random, List<String> settings) {
    while (ops.hasNext()) {
      Op op = ops.next();
      begun.add(op.name());
      for (int attempt = 0; ; attempt++) {
        if (failed) {
          return;
        }
        // Every run is killed, up to KILLS_PER_OP times per op, until KILLS runs have been.
        boolean kill = kills.get() < KILLS && attempt < KILLS_PER_OP;
        // Seconds into the run's work (after its start-up): about as long as the work takes.
        double after = random.nextDouble() * window(kind(op));
        Attempt result = attempt(op, attempt, settings, kill ? after : -1, false);
        if (result.killed()) {
          String when = "the kill of " + op.name() + " attempt " + attempt;
          timedCheck("checkRows", () -> checkRows(when));
          if (!op.name().startsWith("append")) { // an append writes no model
            timedCheck("checkLoads", () -> checkLoads(when));
          }
          timedCheck("checkSummaries", () -> checkSummaries(when));
          continue;
        }
        if (result.code() == 0) {
          finished.add(op.name());
          String when = op.name() + " finished";
          timedCheck("checkRows", () -> checkRows(when));
          timedCheck("checkLoads", () -> checkLoads(when));
          JsonNode batch = result.summary() == null ? null : result.summary().path("outputs").path("batchId");
          if (batch != null && !batch.isMissingNode()) {
            batchIds.put(op.name(), batch.asText());
            // Forgets run one at a time, in one lane, and only they delete rows: no delete is
            // under way. (Verify runs at the end, for every batch.)
            timedCheck("checkPublished", () -> checkPublished(when));
          }
          break;
        }
        // Exit 4: a conflict or a stopped run, which the same command finishes.
        assertThat(result.code()).as(op.name() + " attempt " + attempt + ":\n" + result.log()).isEqualTo(4);
      }
    }
  }

  private static String kind(Op op) {
    return op.name().replaceAll("-[0-9]+$", "");
  }

  /** Seconds after a run's start-up within which it is killed: see {@link #WORK_SECONDS}. */
  private double window(String kind) {
    double first = WORK_SECONDS.getOrDefault(kind, 8.0);
    List<Double> seconds = worked.getOrDefault(kind, List.of());
    return seconds.isEmpty() ? first
        : Math.max(SHORTEST_WINDOW * first, seconds.stream().mapToDouble(Double::doubleValue).max().orElseThrow());
  }

  private void timedCheck(String kind, Runnable check) {
    long t0 = System.nanoTime();
    check.run();
    checkSeconds.merge(kind, (System.nanoTime() - t0) / 1e9, Double::sum);
  }

  private io.lethe.api.Lethe lethe() {
    return io.lethe.api.Lethe.get(spark(), config);
  }

  /**
   * No row is gone that no started forget asked for, and no finished forget's row is left; every
   * append landed whole or not at all, and a finished one landed once. What has finished is read
   * before the store, what has begun after it: a run that moves on meanwhile cannot fail the check.
   */
  private synchronized void checkRows(String when) {
    checks.incrementAndGet();
    Set<String> done = Set.copyOf(finished);
    ShardedStore store = lethe().internals().store();
    long version = store.currentVersion();
    Set<Long> known = new HashSet<>(LongStream.range(0, PEOPLE).boxed().toList());
    appending.values().forEach(known::addAll);
    Map<Long, Long> perPerson = new HashMap<>();
    if (when.equals(THE_END)) { // by a Spark query
      for (Row r : store.read(version).groupBy("person_id").count().collectAsList()) {
        perPerson.put(r.getLong(0), r.getLong(1));
      }
    } else { // by Delta Kernel, in this JVM: faster between runs
      store.match("person_id", known.stream().map(String::valueOf).toList(), null, version).forEach((id, shards) ->
          perPerson.put(Long.parseLong(id), shards.values().stream().mapToLong(Long::longValue).sum()));
      long inLog = store.rowsPerShardFromLog(version, store.layout().allShards()).values().stream()
          .mapToLong(Long::longValue).sum();
      assertThat(perPerson.values().stream().mapToLong(Long::longValue).sum())
          .as("after %s: rows of known people, against the rows of store version %d", when, version).isEqualTo(inLog);
    }
    Set<String> started = Set.copyOf(begun);
    Map<Long, String> forgetOf = new HashMap<>();
    forgetting.forEach((op, ids) -> ids.forEach(id -> forgetOf.put(id, op)));
    for (long p = 0; p < PEOPLE; p++) {
      String op = forgetOf.get(p);
      long rows = perPerson.getOrDefault(p, 0L);
      String what = "after " + when + ": rows of person " + p;
      if (op == null || !started.contains(op)) {
        assertThat(rows).as(what + ", whom no started forget asked for").isEqualTo(1L);
      } else if (done.contains(op)) {
        assertThat(rows).as(what + ", forgotten by " + op).isZero();
      } else {
        assertThat(rows).as(what + ", asked for by " + op + ", running").isLessThanOrEqualTo(1L);
      }
    }
    for (Map.Entry<String, List<Long>> append : appending.entrySet()) {
      Set<Long> counts = append.getValue().stream().map(p -> perPerson.getOrDefault(p, 0L)).collect(Collectors.toSet());
      String what = "after " + when + ": rows per person of " + append.getKey();
      if (done.contains(append.getKey())) {
        assertThat(counts).as(what + ", finished").containsExactly(1L);
      } else if (!started.contains(append.getKey())) {
        assertThat(counts).as(what + ", not begun").containsExactly(0L);
      } else {
        assertThat(counts).as(what + ", running: all or nothing").hasSize(1).allSatisfy(c ->
            assertThat(c).isLessThanOrEqualTo(1L));
      }
    }
    assertThat(perPerson.keySet()).as("after " + when + ": people in the store").isSubsetOf(known);
  }

  /** Every published ensemble loads, whole: a version retired meanwhile may be gone, no other. */
  private synchronized void checkLoads(String when) {
    checks.incrementAndGet();
    ModelRegistry registry = lethe().internals().registry();
    for (EnsembleManifest m : registry.published()) {
      try {
        ShardEnsembleModel model = ShardEnsembleModel.load(registry, m.version());
        for (SubModelEntry e : m.shards()) {
          assertThat(model.subModel(e.shard()).stages()).as("after %s: version %d, shard %d", when, m.version(),
              e.shard()).isNotEmpty();
        }
      } catch (RuntimeException e) {
        boolean stillPublished = lethe().internals().registry().published().stream().anyMatch(p -> p.version() == m.version());
        if (stillPublished) {
          throw new AssertionError("after " + when + ": published version " + m.version() + " does not load", e);
        }
      }
    }
  }

  /** No published version holds a sub-model trained before a delete in its shard. */
  private synchronized void checkPublished(String when) {
    checks.incrementAndGet();
    Map<Integer, Long> lastDelete = lethe().internals().store().lastRemovalsSince(0);
    for (EnsembleManifest m : lethe().internals().registry().published()) {
      for (SubModelEntry e : m.shards()) {
        assertThat(e.storeVersion()).as("after %s: version %d, shard %d trained at or after its last delete", when,
            m.version(), e.shard()).isGreaterThanOrEqualTo(lastDelete.getOrDefault(e.shard(), 0L));
      }
    }
  }

  /** Every run summary on storage reads whole: none is half-written. */
  private synchronized void checkSummaries(String when) {
    checks.incrementAndGet();
    Path runs = Path.of(config.get(LetheConfig.RUNS_PATH));
    if (!Files.exists(runs)) {
      return;
    }
    try (Stream<Path> files = Files.walk(runs)) {
      for (Path f : files.filter(f -> f.getFileName().toString().endsWith(".json")
          && !f.getFileName().toString().startsWith(".")).toList()) {
        assertThat(Json.read(Files.readString(f), JsonNode.class, "summary")).as("after %s: %s", when, f).isNotNull();
      }
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private synchronized void checkVerify(String op, String batch, String when) {
    checks.incrementAndGet();
    VerifyReport report = lethe().internals().verifier().verify(batch, null);
    assertThat(report.checks()).as(op).allSatisfy(c -> assertThat(c.passed()).as("after %s: %s %s: %s (retrains %s; files in %s)",
        when, op, c.id(), c.finding(), report.retrain(), dir).isTrue());
  }

  private record Attempt(boolean killed, int code, JsonNode summary, String log) {}

  /**
   * Starts the job in its own JVM; kills it with SIGKILL {@code killAfter} seconds after its work
   * began (its first line logged), if it runs that long. With {@code dump} the JVM writes the
   * class-data sharing archive the runs after it start from.
   */
  private Attempt attempt(Op op, int attempt, List<String> settings, double killAfter, boolean dump) {
    try {
      Path out = dir.resolve(op.name() + "-" + attempt + ".out");
      Path log = dir.resolve(op.name() + "-" + attempt + ".log");
      Path jsa = dir.resolve("soak.jsa");
      List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "-Xmx1g", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto",
          // The JVM's own warnings (an archive that does not match) to standard error, not into the summary.
          "-Xlog:disable", "-Xlog:all=warning:stderr"));
      if (dump) {
        command.add("-XX:ArchiveClassesAtExit=" + jsa);
      } else if (archive != null) {
        command.add("-XX:SharedArchiveFile=" + archive);
      }
      for (String flag : System.getProperty("lethe.jvm.flags", "").trim().split("\\s+")) {
        if (!flag.isEmpty()) {
          command.add(flag);
        }
      }
      command.add("-Dlog4j2.configurationFile=" + home().resolve("conf/log4j2.properties"));
      command.addAll(List.of("-cp", Files.readString(Path.of(System.getProperty("lethe.test.classpath"))).trim(),
          "io.lethe.jobs.Lethe"));
      command.addAll(op.args());
      command.addAll(settings);
      ProcessBuilder builder = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(log.toFile());
      builder.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
      Process process = builder.start();
      long begun = System.nanoTime();
      if (killAfter >= 0) {
        // Its work begins with its first line logged, once Spark is up (20 s at most).
        while (process.isAlive() && lastStep(log).startsWith("(starting") && System.nanoTime() - begun < 20e9) {
          Thread.sleep(100);
        }
        double startUp = (System.nanoTime() - begun) / 1e9;
        if (!process.waitFor((long) (killAfter * 1000), TimeUnit.MILLISECONDS)) {
          process.destroyForcibly(); // SIGKILL
          process.waitFor();
          kills.incrementAndGet();
          landed.add(String.format("%s, %.1f s into its work (start-up %.1f s, at %.0f s): %s", op.name(), killAfter,
              startUp, (System.nanoTime() - started) / 1e9, lastStep(log)));
          return new Attempt(true, -1, null, null);
        }
        // It ended before its kill moment: its work's length sets the kind's kill window.
        worked.computeIfAbsent(kind(op), k -> new CopyOnWriteArrayList<>())
            .add((System.nanoTime() - begun) / 1e9 - startUp);
      }
      if (!process.waitFor(240, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new AssertionError(op.name() + " did not finish in 240 s:\n" + Files.readString(log));
      }
      System.out.printf("Soak: %s attempt %d finished (exit %d) in %.1f s, at %.0f s%n", op.name(), attempt,
          process.exitValue(), (System.nanoTime() - begun) / 1e9, (System.nanoTime() - started) / 1e9);
      if (dump && Files.exists(jsa)) {
        archive = jsa;
      }
      String stdout = Files.readString(out);
      JsonNode summary = stdout.startsWith("{") ? Json.read(stdout, JsonNode.class, "summary") : null;
      return new Attempt(false, process.exitValue(), summary, tail(log));
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** The last line of a killed process's log that names what it was doing. */
  private static String lastStep(Path log) throws IOException {
    List<String> lines = Files.exists(log) ? Files.readAllLines(log, java.nio.charset.StandardCharsets.ISO_8859_1)
        : List.of();
    for (int i = lines.size() - 1; i >= 0; i--) {
      String l = lines.get(i);
      if (l.contains(" INFO ") && !l.contains("SparkContext") && !l.contains("Executor")) {
        return l.length() > 160 ? l.substring(0, 160) : l;
      }
    }
    return "(starting: no line logged)";
  }

  private static String tail(Path log) throws IOException {
    List<String> lines = Files.readAllLines(log, java.nio.charset.StandardCharsets.ISO_8859_1);
    return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
  }

  /** The configuration as -D options for the jobs. */
  private static List<String> settings(LetheConfig config) {
    List<String> out = new ArrayList<>();
    for (String key : config.keys()) {
      String value = config.get(key);
      if (value != null && !value.isEmpty()) {
        out.addAll(List.of("-D", key + "=" + value));
      }
    }
    return out;
  }

}
