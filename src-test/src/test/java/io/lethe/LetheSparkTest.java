package io.lethe;

import static org.assertj.core.api.Assertions.assertThat;

import io.lethe.api.LetheSpark;
import io.lethe.internal.spark.LocalFiles;
import java.nio.file.Files;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;

/**
 * Lethe uses a session that exists as it is: a platform's settings are its own. The embedded local
 * session's file system sets permissions as Hadoop's does.
 * Isolated: it changes a setting of the suite's shared session for a moment.
 */
@org.junit.jupiter.api.parallel.Isolated
class LetheSparkTest extends LetheTestBase {

  @Test
  void anExistingSessionKeepsItsSettings() {
    SparkSession existing = spark();
    String partitions = existing.conf().get("spark.sql.shuffle.partitions");
    String catalog = existing.conf().get("spark.sql.catalog.spark_catalog");
    existing.conf().set("spark.sql.shuffle.partitions", "7");
    try {
      SparkSession got = LetheSpark.getOrCreate("lethe another job", Map.of("spark.sql.shuffle.partitions", "3"));
      assertThat(got).as("the same session").isSameAs(existing);
      assertThat(got.conf().get("spark.sql.shuffle.partitions")).as("not reset to Lethe's local default or the"
          + " configuration's spark.* key").isEqualTo("7");
      assertThat(got.conf().get("spark.sql.catalog.spark_catalog")).isEqualTo(catalog);
      assertThat(got.conf().get("spark.sql.extensions")).contains("io.delta.sql.DeltaSparkSessionExtension");
    } finally {
      existing.conf().set("spark.sql.shuffle.partitions", partitions);
    }
  }

  @Test
  void theLocalSessionsFileSystemSetsThePermissionsHadoopsWould() throws Exception {
    java.nio.file.Path dir = Files.createTempDirectory("lethe-local-files");
    FileSystem fs = new Path(dir.toUri()).getFileSystem(spark().sparkContext().hadoopConfiguration());
    assertThat(fs).isInstanceOf(LocalFiles.class);

    Path file = new Path(new Path(dir.toUri()), "new/dir/part-00000");
    try (var out = fs.create(file, false)) {
      out.write(1);
    }
    RawLocalFileSystem hadoops = new RawLocalFileSystem();
    hadoops.initialize(dir.toUri(), spark().sparkContext().hadoopConfiguration());
    Path theirs = new Path(new Path(dir.toUri()), "theirs/dir/part-00000");
    try (var out = hadoops.create(theirs, false)) {
      out.write(1);
    }
    for (String[] pair : new String[][] {{"new/dir/part-00000", "theirs/dir/part-00000"}, {"new/dir", "theirs/dir"}}) {
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve(pair[0]))))
          .as(pair[0]).isEqualTo(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve(pair[1]))));
    }
    assertThat(Files.exists(dir.resolve("new/dir/.part-00000.crc"))).as("checksums as before").isTrue();

    fs.setPermission(file, new org.apache.hadoop.fs.permission.FsPermission((short) 0600));
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("new/dir/part-00000"))))
        .isEqualTo("rw-------");
  }
}
