package io.lethe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real headless Chromium (Debian's package; .ci/run installs it) that loads a page from disk,
 * for tests of Lethe's HTML reports. Where no Chromium is installed the test is skipped, unless
 * LETHE_REQUIRE_BROWSER is set (as in CI), when it fails.
 */
final class HeadlessBrowser {
  private final Path binary;

  private HeadlessBrowser(Path binary) {
    this.binary = binary;
  }

  /** The installed Chromium ($CHROMIUM, else the usual paths). */
  static HeadlessBrowser find() {
    List<String> candidates = new ArrayList<>();
    if (System.getenv("CHROMIUM") != null) {
      candidates.add(System.getenv("CHROMIUM"));
    }
    candidates.addAll(List.of("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"));
    for (String c : candidates) {
      if (Files.isExecutable(Path.of(c))) {
        return new HeadlessBrowser(Path.of(c));
      }
    }
    boolean required = System.getenv("LETHE_REQUIRE_BROWSER") != null;
    assertThat(required).as("LETHE_REQUIRE_BROWSER is set but no Chromium is installed (apt-get install chromium)")
        .isFalse();
    assumeTrue(false, "No Chromium installed: the report is not checked in a browser (apt-get install chromium)");
    return null;
  }

  /** The DOM of the page after it loaded and rendered. */
  String dumpDom(Path page, Path work) throws IOException, InterruptedException {
    return new String(run(work, "--dump-dom", page.toUri().toString()), StandardCharsets.UTF_8);
  }

  /** A PNG screenshot of the page. */
  Path screenshot(Path page, Path work, Path png) throws IOException, InterruptedException {
    run(work, "--screenshot=" + png, "--window-size=1280,2400", page.toUri().toString());
    return png;
  }

  private byte[] run(Path work, String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of(binary.toString(), "--headless", "--no-sandbox", "--disable-gpu",
        "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--user-data-dir=" + Files.createTempDirectory(work, "chromium-profile")));
    command.addAll(List.of(args));
    Path err = Files.createTempFile(work, "chromium", ".log");
    Process p = new ProcessBuilder(command).redirectError(err.toFile()).start();
    byte[] out = p.getInputStream().readAllBytes();
    assertThat(p.waitFor(90, TimeUnit.SECONDS)).as("chromium finished").isTrue();
    assertThat(p.exitValue()).as("chromium exit code; stderr: %s", Files.readString(err)).isZero();
    return out;
  }
}
