package io.lethe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lethe.internal.spark.LocalFiles;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.CreateFlag;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileContext;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Options;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.apache.hadoop.fs.permission.FsPermission;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The embedded local session's file system, which reads and sets file attributes in process
 * instead of forking chmod, readlink and ls: the attributes it gives are Hadoop's own, through
 * FileSystem and through FileContext (which Delta's log store commits with).
 */
class LocalFilesTest {
  @TempDir
  Path dir;

  Configuration conf;
  FileSystem ours;
  RawLocalFileSystem hadoops;

  @BeforeEach
  void fileSystems() throws IOException {
    conf = new Configuration();
    conf.set("fs.file.impl", LocalFiles.class.getName());
    conf.set("fs.AbstractFileSystem.file.impl", LocalFiles.Fs.class.getName());
    conf.setBoolean("fs.file.impl.disable.cache", true);
    ours = FileSystem.get(URI.create("file:///"), conf);
    hadoops = new RawLocalFileSystem();
    hadoops.initialize(URI.create("file:///"), new Configuration());
  }

  static org.apache.hadoop.fs.Path path(Path p) {
    return new org.apache.hadoop.fs.Path(p.toUri());
  }

  static void assertSameStatus(FileStatus mine, FileStatus theirs) {
    assertThat(mine.getPath()).isEqualTo(theirs.getPath());
    assertThat(mine.isDirectory()).isEqualTo(theirs.isDirectory());
    assertThat(mine.isSymlink()).isEqualTo(theirs.isSymlink());
    if (!mine.isDirectory()) {
      assertThat(mine.getLen()).isEqualTo(theirs.getLen());
    }
    assertThat(mine.getModificationTime()).isEqualTo(theirs.getModificationTime());
    assertThat(mine.getPermission()).isEqualTo(theirs.getPermission());
    assertThat(mine.getOwner()).isEqualTo(theirs.getOwner());
    assertThat(mine.getGroup()).isEqualTo(theirs.getGroup());
  }

  @Test
  void statusesAndPermissionsAreHadoopsOwn() throws IOException {
    Path file = Files.writeString(dir.resolve("a.json"), "{}");
    Path sub = Files.createDirectory(dir.resolve("sub"));
    ours.setPermission(path(file), new FsPermission("640"));
    assertThat(Files.getPosixFilePermissions(file)).hasSize(3);
    for (Path p : java.util.List.of(file, sub)) {
      assertSameStatus(ours.getFileStatus(path(p)), hadoops.getFileStatus(path(p)));
      assertSameStatus(ours.getFileLinkStatus(path(p)), hadoops.getFileLinkStatus(path(p)));
    }
    assertThat(ours.getFileStatus(path(file)).getPermission()).isEqualTo(new FsPermission("640"));
    FileStatus[] listed = ours.listStatus(path(dir));
    assertThat(listed).hasSize(hadoops.listStatus(path(dir)).length);
    for (FileStatus s : listed) {
      assertSameStatus(s, hadoops.getFileStatus(s.getPath()));
    }
    // A symbolic link goes Hadoop's own way.
    Path link = Files.createSymbolicLink(dir.resolve("link.json"), file);
    assertSameStatus(ours.getFileLinkStatus(path(link)), hadoops.getFileLinkStatus(path(link)));
    assertSameStatus(ours.getFileStatus(path(link)), hadoops.getFileStatus(path(link)));
    // What is not there is not found, as Hadoop says it, also under a path that is a file.
    assertThatThrownBy(() -> ours.getFileStatus(path(dir.resolve("none")))).isInstanceOf(FileNotFoundException.class);
    assertThatThrownBy(() -> ours.getFileStatus(path(file.resolve("child")))).isInstanceOf(FileNotFoundException.class);
    assertThatThrownBy(() -> ours.getFileLinkStatus(path(dir.resolve("none"))))
        .isInstanceOf(FileNotFoundException.class);
  }

  @Test
  void fileContextCommitsAsDeltasLogStoreDoes() throws IOException {
    FileContext context = FileContext.getFileContext(URI.create("file:///"), conf);
    assertThat(context.getDefaultFileSystem()).isInstanceOf(LocalFiles.Fs.class);
    // Delta's HDFS log store: write a temporary file, then rename it onto the commit's name, never over one.
    org.apache.hadoop.fs.Path temp = path(dir.resolve(".00001.json.tmp"));
    org.apache.hadoop.fs.Path commit = path(dir.resolve("00001.json"));
    try (FSDataOutputStream out = context.create(temp, EnumSet.of(CreateFlag.CREATE),
        Options.CreateOpts.checksumParam(Options.ChecksumOpt.createDisabled()))) {
      out.write("{\"commitInfo\":{}}".getBytes(StandardCharsets.UTF_8));
    }
    context.rename(temp, commit, Options.Rename.NONE);
    assertThat(Files.readString(dir.resolve("00001.json"))).isEqualTo("{\"commitInfo\":{}}");
    assertThat(Files.exists(dir.resolve(".00001.json.tmp"))).isFalse();
    assertSameStatus(context.getFileLinkStatus(commit), hadoops.getFileLinkStatus(commit));
    try (FSDataOutputStream out = context.create(temp, EnumSet.of(CreateFlag.CREATE))) {
      out.write('x');
    }
    assertThatThrownBy(() -> context.rename(temp, commit, Options.Rename.NONE))
        .as("a commit that exists is never overwritten").isInstanceOf(IOException.class);
    assertThat(Files.readString(dir.resolve("00001.json"))).isEqualTo("{\"commitInfo\":{}}");
  }
}
