package io.lethe.internal.spark;

import java.io.File;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.ChecksumFs;
import org.apache.hadoop.fs.DelegateToFileSystem;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FsConstants;
import org.apache.hadoop.fs.FsServerDefaults;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.apache.hadoop.fs.local.LocalConfigKeys;
import org.apache.hadoop.fs.permission.FsPermission;

/**
 * The {@code file:} file system of Lethe's embedded local Spark: Hadoop's own local file system
 * (checksums and all), except that it reads and sets file attributes through {@code java.nio}
 * instead of forking a process.
 *
 * <p>Without Hadoop's native library, which no Spark jar ships, Hadoop's local file system forks
 * {@code chmod} for every file and directory it creates, {@code readlink} for every status a
 * rename looks up, and {@code ls -ld} for every status whose permissions are read. A Delta commit
 * renames through {@link org.apache.hadoop.fs.FileContext} (four {@code readlink} and a
 * {@code chmod}); a sub-model's save and a listing pay more. Measured on 2 cores: the 65 sub-model
 * saves of a forget at S = 128 spent most of their 6.5 s forking, and a test class of six forget
 * tests forked 1,343 processes in 107 s. The attributes are the same; a sticky bit, a symbolic
 * link and a file system without POSIX permissions go to Hadoop's own way. Only the embedded local
 * session uses it ({@code io.lethe.api.LetheSpark}, both as {@code fs.file.impl} and, through
 * {@link Fs}, as {@code fs.AbstractFileSystem.file.impl}); on a cluster the platform's file systems
 * are left as they are.
 */
public final class LocalFiles extends LocalFileSystem {
  private static final boolean POSIX = FileSystems.getDefault().supportedFileAttributeViews().contains("posix");

  public LocalFiles() {
    super(new Raw());
  }

  /** The same for {@link org.apache.hadoop.fs.FileContext}, which Delta's log store commits through. */
  public static final class Fs extends ChecksumFs {
    public Fs(URI uri, Configuration conf) throws IOException, URISyntaxException {
      super(new RawFs(conf));
    }
  }

  /** Hadoop's {@code RawLocalFs} (its constructors are not public) over {@link Raw}. */
  static final class RawFs extends DelegateToFileSystem {
    RawFs(Configuration conf) throws IOException, URISyntaxException {
      super(FsConstants.LOCAL_FS_URI, new Raw(), conf, FsConstants.LOCAL_FS_URI.getScheme(), false);
    }

    @Override
    public int getUriDefaultPort() {
      return -1;
    }

    @Override
    @SuppressWarnings("deprecation")
    public FsServerDefaults getServerDefaults(Path f) throws IOException {
      return LocalConfigKeys.getServerDefaults();
    }

    @Override
    @SuppressWarnings("deprecation")
    public FsServerDefaults getServerDefaults() throws IOException {
      return LocalConfigKeys.getServerDefaults();
    }

    @Override
    public boolean isValidName(String src) {
      return true;
    }
  }

  /** Hadoop's raw local file system with attributes read and set in process. */
  static final class Raw extends RawLocalFileSystem {
    @Override
    public void setPermission(Path path, FsPermission permission) throws IOException {
      if (!POSIX || permission.getStickyBit()) {
        super.setPermission(path, permission);
        return;
      }
      Files.setPosixFilePermissions(pathToFile(path).toPath(), PosixFilePermissions.fromString(permission.toString()));
    }

    @Override
    public FileStatus getFileStatus(Path path) throws IOException {
      if (!POSIX) {
        return super.getFileStatus(path);
      }
      File file = pathToFile(path);
      PosixFileAttributes a;
      try {
        a = Files.readAttributes(file.toPath(), PosixFileAttributes.class);
      } catch (NoSuchFileException | java.nio.file.NotDirectoryException gone) {
        throw new FileNotFoundException("File " + path + " does not exist");
      } catch (java.nio.file.FileSystemException e) {
        if (!file.exists()) { // a parent that is a file, say: Hadoop says it does not exist
          throw new FileNotFoundException("File " + path + " does not exist");
        }
        throw e;
      }
      return new FileStatus(a.size(), a.isDirectory(), 1, getDefaultBlockSize(path), a.lastModifiedTime().toMillis(),
          a.lastAccessTime().toMillis(),
          FsPermission.valueOf((a.isDirectory() ? "d" : "-") + PosixFilePermissions.toString(a.permissions())),
          a.owner().getName(), a.group().getName(),
          new Path(file.getPath()).makeQualified(getUri(), getWorkingDirectory()));
    }

    @Override
    public FileStatus getFileLinkStatus(Path path) throws IOException {
      if (POSIX && !Files.isSymbolicLink(pathToFile(path).toPath())) {
        return getFileStatus(path);
      }
      return super.getFileLinkStatus(path);
    }
  }
}
