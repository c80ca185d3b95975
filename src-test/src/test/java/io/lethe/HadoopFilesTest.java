package io.lethe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lethe.internal.run.HadoopFiles;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Small files on an object store, where rename is a copy and cannot publish anything atomically:
 * a stand-in file system under the s3a scheme (local files, but every rename fails) shows that
 * Lethe writes them in one upload and never renames; on a local disk it still renames.
 */
class HadoopFilesTest {
  @TempDir
  Path dir;

  Configuration conf;

  /** Local files behind s3a://lethe-test/, with rename refused as an object store cannot do it atomically. */
  public static final class NoRenameStore extends RawLocalFileSystem {
    @Override
    public URI getUri() {
      return URI.create("s3a://lethe-test/");
    }

    @Override
    public String getScheme() {
      return "s3a";
    }

    @Override
    public boolean rename(org.apache.hadoop.fs.Path src, org.apache.hadoop.fs.Path dst) throws IOException {
      throw new IOException("rename is a copy on an object store: " + src + " -> " + dst);
    }
  }

  @BeforeEach
  void objectStore() {
    conf = new Configuration();
    conf.set("fs.s3a.impl", NoRenameStore.class.getName());
    conf.setBoolean("fs.s3a.impl.disable.cache", true);
  }

  @Test
  void onAnObjectStoreASmallFileIsOneUploadAndNeverARename() throws IOException {
    HadoopFiles files = new HadoopFiles(conf);
    org.apache.hadoop.fs.Path target = new org.apache.hadoop.fs.Path("s3a://lethe-test" + dir.resolve("run.json"));
    assertThat(files.isObjectStore(target)).isTrue();

    files.writeNew(target, "{\"status\": \"succeeded\"}");
    assertThat(Files.readString(dir.resolve("run.json"))).isEqualTo("{\"status\": \"succeeded\"}");
    try (var left = Files.list(dir)) {
      assertThat(left.map(p -> p.getFileName().toString())).as("no temporary file").containsExactly("run.json");
    }
    assertThatThrownBy(() -> files.writeNew(target, "again")).isInstanceOf(LetheException.class)
        .hasMessageContaining("Cannot write");
    files.overwrite(target, "replaced");
    assertThat(files.readString(target)).isEqualTo("replaced");
  }

  @Test
  void onALocalDiskASmallFileIsRenamedIntoPlace() throws IOException {
    HadoopFiles files = new HadoopFiles(conf);
    org.apache.hadoop.fs.Path target = new org.apache.hadoop.fs.Path(dir.resolve("report.html").toUri());
    assertThat(files.isObjectStore(target)).isFalse();
    files.writeNew(target, "<!DOCTYPE html>");
    assertThat(files.readString(target)).isEqualTo("<!DOCTYPE html>");
    assertThatThrownBy(() -> files.writeNew(target, "again")).isInstanceOf(LetheException.class)
        .hasMessageContaining("already exists");
    try (var left = Files.list(dir)) {
      // (Hadoop's local file system keeps a .crc checksum beside each file.)
      assertThat(left.map(p -> p.getFileName().toString())).as("the temporary file is gone")
          .contains("report.html").noneMatch(name -> name.endsWith(".tmp"));
    }
  }
}
