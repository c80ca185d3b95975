package io.lethe.internal.run;

import io.lethe.LetheException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;

/**
 * Small files on any Hadoop file system (file://, hdfs://, s3a://, ...), through the session's
 * Hadoop configuration. Lethe never uses java.io.File for its locations.
 */
public final class HadoopFiles {
  /** Schemes of the object stores the Hadoop client reaches: no atomic rename, atomic single uploads. */
  private static final Set<String> OBJECT_STORES = Set.of("s3a", "s3", "s3n", "gs", "abfs", "abfss", "wasb",
      "wasbs", "oss", "cosn", "obs");

  private final Configuration conf;

  public HadoopFiles(Configuration conf) {
    this.conf = conf;
  }

  public FileSystem fs(Path path) {
    try {
      return path.getFileSystem(conf);
    } catch (IOException e) {
      throw new LetheException("Cannot reach the file system of " + path + ": " + e.getMessage(), e);
    }
  }

  /** The fully qualified form of a location, so that manifests name it unambiguously. */
  public Path qualify(String location) {
    Path path = new Path(location);
    return fs(path).makeQualified(path);
  }

  public boolean exists(Path path) {
    try {
      return fs(path).exists(path);
    } catch (IOException e) {
      throw new LetheException("Cannot check " + path + ": " + e.getMessage(), e);
    }
  }

  public String readString(Path path) {
    try (InputStream in = fs(path).open(path)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new LetheException("Cannot read " + path + ": " + e.getMessage(), e);
    }
  }

  /**
   * Writes a small file so that readers see all of it or none of it, without relying on rename
   * where rename is not atomic. On an object store (s3a://, gs://, abfs[s]://, ...) the object is
   * uploaded in one request when the stream closes and appears whole. Elsewhere (file://,
   * hdfs://, where a file is visible while it is written) the bytes go to a hidden temporary file
   * beside the target, which is then renamed into place, atomic there. Fails if the target exists.
   */
  public void writeNew(Path target, String content) {
    FileSystem fs = fs(target);
    byte[] bytes = content.getBytes(StandardCharsets.UTF_8);
    if (isObjectStore(target)) {
      try (OutputStream out = fs.create(target, false)) {
        out.write(bytes);
      } catch (IOException e) {
        throw new LetheException("Cannot write " + target + ": " + e.getMessage(), e);
      }
      return;
    }
    Path tmp = new Path(target.getParent(), "." + target.getName() + "." + UUID.randomUUID() + ".tmp");
    try {
      try (OutputStream out = fs.create(tmp, false)) {
        out.write(bytes);
      }
      // HDFS refuses to rename onto an existing file; a local disk would replace it, hence the check.
      if (fs.exists(target) || !fs.rename(tmp, target)) {
        fs.delete(tmp, false);
        throw new LetheException("Cannot publish " + target + ": it already exists or its folder is missing");
      }
    } catch (IOException e) {
      deleteQuietly(tmp);
      throw new LetheException("Cannot write " + target + ": " + e.getMessage(), e);
    }
  }

  /** Whether a location is on an object store, where rename is a copy and a closed upload is atomic. */
  public boolean isObjectStore(Path path) {
    String scheme = fs(path).getUri().getScheme();
    return scheme != null && OBJECT_STORES.contains(scheme.toLowerCase(Locale.ROOT));
  }

  /** Writes a small file in one piece as {@link #writeNew} does, replacing any file already there. */
  public void overwrite(Path target, String content) {
    deleteRecursively(target);
    writeNew(target, content);
  }

  public void mkdirs(Path path) {
    try {
      fs(path).mkdirs(path);
    } catch (IOException e) {
      throw new LetheException("Cannot create " + path + ": " + e.getMessage(), e);
    }
  }

  public List<FileStatus> list(Path dir) {
    try {
      FileSystem fs = fs(dir);
      if (!fs.exists(dir)) {
        return List.of();
      }
      return new ArrayList<>(List.of(fs.listStatus(dir)));
    } catch (IOException e) {
      throw new LetheException("Cannot list " + dir + ": " + e.getMessage(), e);
    }
  }

  /** Every file (not directory) under a location, at any depth; none when it does not exist. */
  public List<Path> filesUnder(Path dir) {
    try {
      FileSystem fs = fs(dir);
      if (!fs.exists(dir)) {
        return List.of();
      }
      List<Path> out = new ArrayList<>();
      RemoteIterator<LocatedFileStatus> it = fs.listFiles(dir, true);
      while (it.hasNext()) {
        out.add(it.next().getPath());
      }
      return out;
    } catch (IOException e) {
      throw new LetheException("Cannot list " + dir + ": " + e.getMessage(), e);
    }
  }

  public void deleteRecursively(Path path) {
    try {
      fs(path).delete(path, true);
    } catch (IOException e) {
      throw new LetheException("Cannot delete " + path + ": " + e.getMessage(), e);
    }
  }

  private void deleteQuietly(Path path) {
    try {
      fs(path).delete(path, false);
    } catch (IOException ignored) {
      // best effort: the temporary file is hidden and never read
    }
  }
}
