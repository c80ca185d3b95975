package io.lethe.internal.spark;

import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.attribute.PosixFilePermissions;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.apache.hadoop.fs.permission.FsPermission;

/**
 * The {@code file:} file system of Lethe's embedded local Spark: Hadoop's own local file system
 * (checksums and all), except that it sets the permissions of each file and directory it creates
 * through {@code java.nio} instead of a {@code chmod} process.
 *
 * <p>Without Hadoop's native library, which no Spark jar ships, Hadoop's local file system forks
 * {@code chmod} for every file and directory it creates: a Delta commit, a sub-model's stage, a
 * ledger append each pay several. Measured on 2 cores, the 65 sub-model saves of a forget at
 * S = 128 spent most of their 6.5 s forking. The permissions set are the same; a sticky bit, which
 * {@code java.nio} cannot set, and a file system without POSIX permissions go to Hadoop's own way.
 * Only the embedded local session uses it ({@code io.lethe.api.LetheSpark}); on a cluster the platform's file
 * systems are left as they are.
 */
public final class LocalFiles extends LocalFileSystem {
  private static final boolean POSIX = FileSystems.getDefault().supportedFileAttributeViews().contains("posix");

  public LocalFiles() {
    super(new Raw());
  }

  /** Hadoop's raw local file system with permissions set in process. */
  static final class Raw extends RawLocalFileSystem {
    @Override
    public void setPermission(Path path, FsPermission permission) throws IOException {
      if (!POSIX || permission.getStickyBit()) {
        super.setPermission(path, permission);
        return;
      }
      Files.setPosixFilePermissions(pathToFile(path).toPath(), PosixFilePermissions.fromString(permission.toString()));
    }
  }
}
