package io.lethe;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.lethe.internal.run.Json;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import jdk.jshell.JShell;
import jdk.jshell.Snippet;
import jdk.jshell.SnippetEvent;
import jdk.jshell.SourceCodeAnalysis;
import org.junit.jupiter.api.Test;

/**
 * Every notebook under notebooks/ runs headless: each code cell goes through JShell (what Java
 * kernels such as IJava run), in order, against the built classes and their dependencies. A cell
 * that does not compile or throws fails the test, so the notebooks never rot.
 */
class NotebooksTest extends LetheTestBase {

  /** The code cells of a notebook, each as one source text. */
  static List<String> codeCells(Path notebook) throws IOException {
    JsonNode nb = Json.read(Files.readString(notebook), JsonNode.class, "notebook " + notebook);
    assertThat(nb.path("metadata").path("kernelspec").path("language").asText()).isEqualTo("java");
    List<String> cells = new ArrayList<>();
    for (JsonNode cell : nb.path("cells")) {
      if (cell.path("cell_type").asText().equals("code")) {
        StringBuilder source = new StringBuilder();
        cell.path("source").forEach(line -> source.append(line.asText()));
        cells.add(source.toString());
      }
    }
    return cells;
  }

  /** Runs the cells in one JShell, in this JVM; returns what they printed. */
  static String run(List<String> cells) throws IOException {
    spark(); // the suite's session: the notebook's LetheSpark.getOrCreate finds it
    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(printed, true, StandardCharsets.UTF_8);
    PrintStream stdout = System.out;
    // A local execution engine runs the snippets in this JVM: their System.out is this one's.
    System.setOut(out);
    try (JShell shell = JShell.builder().executionEngine("local").out(out).err(out).build()) {
      shell.addToClasspath(home().resolve("core/target/classes").toString());
      shell.addToClasspath(home().resolve("jobs/target/classes").toString());
      for (String entry : Files.readString(Path.of(System.getProperty("lethe.test.classpath"))).trim()
          .split(File.pathSeparator)) {
        shell.addToClasspath(entry);
      }
      SourceCodeAnalysis analysis = shell.sourceCodeAnalysis();
      for (int c = 0; c < cells.size(); c++) {
        String remaining = cells.get(c);
        while (!remaining.isBlank()) {
          SourceCodeAnalysis.CompletionInfo info = analysis.analyzeCompletion(remaining);
          String source = info.source() != null ? info.source() : remaining;
          for (SnippetEvent e : shell.eval(source)) {
            String where = "cell " + (c + 1) + ": " + source.strip().lines().findFirst().orElse("");
            assertThat(e.status()).as(where + "\n" + diagnostics(shell, e.snippet()))
                .isNotEqualTo(Snippet.Status.REJECTED);
            assertThat(e.exception()).as(where + "\nprinted:\n" + printed).isNull();
          }
          remaining = info.source() != null ? info.remaining() : "";
        }
      }
    } finally {
      System.setOut(stdout);
    }
    stdout.println(printed.toString(StandardCharsets.UTF_8));
    return printed.toString(StandardCharsets.UTF_8);
  }

  static String diagnostics(JShell shell, Snippet snippet) {
    return String.join("\n", shell.diagnostics(snippet).map(d -> d.getMessage(null)).toList());
  }

  @Test
  void theWalkthroughRunsEveryCell() throws IOException {
    Path notebook = home().resolve("notebooks/lethe-walkthrough.ipynb");
    String printed = run(codeCells(notebook));
    assertThat(printed).contains("Ingested 3000 rows").contains("held-out accuracy 0.")
        .contains("PASS membership.forgotten").contains("forgotten 3").contains("reference attack")
        .doesNotContain("FAIL ");
  }

  @Test
  void everyNotebookIsRunByTheSuite() throws IOException {
    // The Java walkthrough runs here; the PySpark one's SQL runs in ProceduresTest.
    try (Stream<Path> all = Files.list(home().resolve("notebooks"))) {
      assertThat(all.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".ipynb")))
          .containsExactlyInAnyOrder("lethe-walkthrough.ipynb", "lethe-sql.ipynb");
    }
  }
}
