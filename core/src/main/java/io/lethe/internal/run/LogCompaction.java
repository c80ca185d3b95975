package io.lethe.internal.run;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StructType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An append-only Delta table read from a compaction of it and the commits after it: a reader of
 * a table that grows with no bound (the publish log) opens a few files, however many commits it
 * has. A compaction is derived from the log and never replaces it.
 */
public final class LogCompaction {
  private static final Logger LOG = LoggerFactory.getLogger(LogCompaction.class);
  /** The folder of a table's compactions, which Delta leaves alone (its name starts with {@code _}). */
  public static final String COMPACTED = "_lethe_rows";
  private static final Pattern COMPACTION = Pattern.compile("\\d{20}\\.parquet");

  private final LogTable table;
  private final HadoopFiles files;
  private final DriverParquet parquet;
  private final int compactAfterCommits;

  public LogCompaction(Configuration hadoop, LogTable table, int compactAfterCommits) {
    this.table = table;
    this.files = new HadoopFiles(hadoop);
    this.parquet = new DriverParquet(hadoop);
    this.compactAfterCommits = compactAfterCommits;
  }

  /**
   * Every row of a version, as {@link LogTable#rows(OptionalLong, StructType)} gives them, for an
   * append-only table whose history grows with no bound: read from the newest
   * compaction at or before the version (one Parquet file holding every row of the table then, in
   * the table's {@code _lethe_rows/} folder, which Delta leaves alone) and the commits after it.
   * When {@code compactAfterCommits} or more commits came after it, this call writes a compaction
   * at the version (written whole or not at all; a failure to write one is logged, not raised) and
   * deletes all but the two newest. Without a compaction, or when the log no longer holds a commit
   * since it, or one of them removed rows, every file of the version is read.
   */
  public List<Row> rows(long version, StructType schema) {
    Path folder = new Path(new Path(table.path()), COMPACTED);
    Optional<FileStatus> newest = files.list(folder).stream()
        .filter(st -> st.isFile() && COMPACTION.matcher(st.getPath().getName()).matches())
        .filter(st -> compactionVersion(st) <= version)
        .max(Comparator.comparingLong(LogCompaction::compactionVersion));
    List<Row> rows = null;
    long since = -1;
    if (newest.isPresent()) {
      since = compactionVersion(newest.get());
      Optional<List<LogTable.DataFile>> tail = table.filesAdded(since, version);
      if (tail.isPresent()) {
        rows = new ArrayList<>(parquet.read(io.delta.kernel.utils.FileStatus.of(newest.get().getPath().toString(), newest.get().getLen(), 0),
            schema));
        rows.addAll(table.rows(tail.get(), schema));
      }
    }
    if (rows == null) {
      rows = table.rows(OptionalLong.of(version), schema);
      since = -1;
    }
    if (version - since >= compactAfterCommits) {
      try {
        parquet.write(new Path(folder, String.format("%020d.parquet", version)).toString(), rows, schema);
        List<FileStatus> all = new ArrayList<>(files.list(folder).stream()
            .filter(st -> st.isFile() && COMPACTION.matcher(st.getPath().getName()).matches()).toList());
        all.sort(Comparator.comparingLong(LogCompaction::compactionVersion).reversed());
        all.stream().skip(2).forEach(st -> files.deleteRecursively(st.getPath()));
      } catch (RuntimeException e) {
        LOG.warn("Could not write a compaction of the Delta table at {} ({}); it is read from its commits",
            table.path(), e.getClass().getSimpleName());
      }
    }
    return rows;
  }

  private static long compactionVersion(FileStatus st) {
    return Long.parseLong(st.getPath().getName().substring(0, 20));
  }

}
