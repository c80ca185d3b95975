package io.lethe;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import org.junit.jupiter.api.Test;

/**
 * The cluster jar runs on any Delta, Databricks Runtime's included, which ships its own Delta
 * without the open-source internal classes: no Lethe class may name one. Read in the built jar's
 * bytecode, where every class a class uses is named in its constant pool.
 */
class PublicApisTest {
  /** Delta's internal packages, in the JVM's internal form; io.delta.tables and io.delta.exceptions are public. */
  private static final String INTERNAL = "org/apache/spark/sql/delta/";

  @Test
  void noLetheClassInTheClusterJarReferencesDeltasInternalClasses() throws IOException {
    Path jar = LetheTestBase.home().resolve("jobs/target/lethe-jobs-0.1.0-SNAPSHOT-cluster.jar");
    assertThat(jar).as("the cluster jar is built before the suite runs (mvn verify)").exists();
    List<String> offenders = new ArrayList<>();
    int lethe = 0;
    try (JarFile file = new JarFile(jar.toFile())) {
      for (Enumeration<JarEntry> entries = file.entries(); entries.hasMoreElements();) {
        JarEntry entry = entries.nextElement();
        if (!entry.getName().startsWith("io/lethe/") || !entry.getName().endsWith(".class")) {
          continue;
        }
        lethe++;
        try (InputStream in = file.getInputStream(entry)) {
          // Constant-pool strings are modified UTF-8; class names are plain ASCII in it.
          String bytes = new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
          if (bytes.contains(INTERNAL)) {
            offenders.add(entry.getName());
          }
        }
      }
    }
    assertThat(lethe).as("Lethe classes in the jar").isGreaterThan(50);
    assertThat(offenders).as("classes naming org.apache.spark.sql.delta.*").isEmpty();
  }

  @Test
  void theCheckFindsAReferenceToAnInternalClass() throws IOException {
    // The check itself can fail: delta-spark's own jar names its internal classes everywhere.
    Path deltaJar = null;
    for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
      if (Path.of(entry).getFileName().toString().startsWith("delta-spark_")) {
        deltaJar = Path.of(entry);
      }
    }
    assertThat(deltaJar).isNotNull();
    try (JarFile file = new JarFile(deltaJar.toFile())) {
      JarEntry entry = file.getJarEntry("io/delta/tables/DeltaTable.class");
      try (InputStream in = file.getInputStream(entry)) {
        assertThat(new String(in.readAllBytes(), StandardCharsets.ISO_8859_1)).contains(INTERNAL);
      }
    }
    assertThat(Files.exists(deltaJar)).isTrue();
  }
}
