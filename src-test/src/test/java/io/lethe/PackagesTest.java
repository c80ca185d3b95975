package io.lethe;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.spi.ToolProvider;
import org.junit.jupiter.api.Test;

/**
 * The core's package dependencies, read from its classes with the JDK's jdeps: no packages depend
 * on each other in a circle, and each layer depends only on those below it. And no core source
 * file grows past 400 lines.
 */
class PackagesTest {

  static Map<String, Set<String>> packageGraph() {
    ToolProvider jdeps = ToolProvider.findFirst("jdeps").orElseThrow();
    StringWriter out = new StringWriter();
    int code = jdeps.run(new PrintWriter(out), new PrintWriter(new StringWriter()), "-verbose:package", "-filter:none",
        LetheTestBase.home().resolve("core/target/classes").toString());
    assertThat(code).as(out.toString()).isZero();
    Map<String, Set<String>> graph = new TreeMap<>();
    Matcher m = Pattern.compile("(?m)^\\s+(io\\.lethe[\\w.]*)\\s+->\\s+(io\\.lethe[\\w.]*)\\s").matcher(out.toString());
    while (m.find()) {
      graph.computeIfAbsent(m.group(1), k -> new TreeSet<>());
      if (!m.group(1).equals(m.group(2))) {
        graph.get(m.group(1)).add(m.group(2));
      }
    }
    return graph;
  }

  /** The strongly connected components of more than one package (Tarjan). */
  static List<Set<String>> circles(Map<String, Set<String>> graph) {
    Map<String, Integer> index = new HashMap<>();
    Map<String, Integer> low = new HashMap<>();
    Deque<String> stack = new ArrayDeque<>();
    List<Set<String>> out = new ArrayList<>();
    int[] next = {0};
    for (String v : graph.keySet()) {
      if (!index.containsKey(v)) {
        connect(v, graph, index, low, stack, out, next);
      }
    }
    return out;
  }

  private static void connect(String v, Map<String, Set<String>> graph, Map<String, Integer> index,
      Map<String, Integer> low, Deque<String> stack, List<Set<String>> out, int[] next) {
    index.put(v, next[0]);
    low.put(v, next[0]++);
    stack.push(v);
    for (String w : graph.getOrDefault(v, Set.of())) {
      if (!index.containsKey(w)) {
        connect(w, graph, index, low, stack, out, next);
        low.put(v, Math.min(low.get(v), low.get(w)));
      } else if (stack.contains(w)) {
        low.put(v, Math.min(low.get(v), index.get(w)));
      }
    }
    if (low.get(v).equals(index.get(v))) {
      Set<String> component = new TreeSet<>();
      String w;
      do {
        w = stack.pop();
        component.add(w);
      } while (!w.equals(v));
      if (component.size() > 1) {
        out.add(component);
      }
    }
  }

  @Test
  void theCoresPackagesHaveNoCircle() {
    Map<String, Set<String>> graph = packageGraph();
    assertThat(graph).as("jdeps read the core's packages").containsKeys("io.lethe", "io.lethe.internal.store", "io.lethe.api");
    assertThat(circles(graph)).as("circles among the core's packages").isEmpty();
    // Training (one shard's sub-model, the Strategy interface, shard retrain) sits below the strategies.
    assertThat(graph.get("io.lethe.internal.train")).doesNotContain("io.lethe.internal.unlearn", "io.lethe.internal.forget", "io.lethe.internal.verify",
        "io.lethe.api");
    // Configuration, storage, the registry and the model sit below training and unlearning.
    assertThat(graph.get("io.lethe")).noneMatch(p -> p.startsWith("io.lethe.internal.train") || p.startsWith("io.lethe.internal.unlearn"));
    assertThat(graph.get("io.lethe.internal.registry")).doesNotContain("io.lethe.internal.unlearn", "io.lethe.internal.train");
    // What runs inside a task (rows, statistics, features, local solvers) depends on nothing above it.
    assertThat(graph.get("io.lethe.internal.engine")).allMatch(p -> p.equals("io.lethe"));
  }

  /** The longest a core source file may be: a class over it holds more than one concept. */
  static final int MAX_LINES = 400;

  @Test
  void noCoreClassIsOverFourHundredLines() throws java.io.IOException {
    java.nio.file.Path sources = LetheTestBase.home().resolve("core/src/main/java");
    Map<String, Long> over = new TreeMap<>();
    List<java.nio.file.Path> files;
    try (var walk = java.nio.file.Files.walk(sources)) {
      files = walk.filter(f -> f.toString().endsWith(".java")).toList();
    }
    for (java.nio.file.Path f : files) {
      long lines;
      try (var read = java.nio.file.Files.lines(f)) {
        lines = read.count();
      }
      if (lines > MAX_LINES) {
        over.put(sources.relativize(f).toString(), lines);
      }
    }
    assertThat(files).as("the core's sources").hasSizeGreaterThan(50);
    assertThat(over).as("core classes over %d lines", MAX_LINES).isEmpty();
  }

  @Test
  void theCheckFindsACircle() {
    Map<String, Set<String>> graph = new TreeMap<>(Map.of("a", Set.of("b"), "b", Set.of("c"), "c", Set.of("a"),
        "d", Set.of("a")));
    assertThat(circles(graph)).containsExactly(Set.of("a", "b", "c"));
  }
}
