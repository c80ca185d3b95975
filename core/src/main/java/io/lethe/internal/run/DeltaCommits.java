package io.lethe.internal.run;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;

/**
 * One commit of a Delta table as the Delta protocol stores it: {@code _delta_log/NNN.json}, a JSON
 * action a line (commitInfo, add, remove, cdc, txn, ...). Read directly when a question about a
 * single commit needs no table scan.
 */
public final class DeltaCommits {
  private static final Pattern COMMIT_FILE = Pattern.compile("\\d{20}\\.json");

  private DeltaCommits() {}

  /** The file of a table's commit. */
  public static Path file(Path table, long version) {
    return inLog(table, String.format("%020d.json", version));
  }

  private static Path inLog(Path table, String name) {
    return new Path(new Path(table, "_delta_log"), name);
  }

  /**
   * The file of a table's newest commit, found by listing its log (one listing, no Spark job), or
   * empty when the log holds no commit. Every Delta commit writes its JSON file, by an atomic
   * rename or put-if-absent, so the newest one names the table's current version.
   */
  public static Optional<FileStatus> newest(HadoopFiles files, Path table) {
    return files.list(new Path(table, "_delta_log")).stream()
        .filter(st -> st.isFile() && COMMIT_FILE.matcher(st.getPath().getName()).matches())
        .max(Comparator.comparingLong(DeltaCommits::version));
  }

  /** The version a commit file holds. */
  public static long version(FileStatus commit) {
    return Long.parseLong(commit.getPath().getName().substring(0, 20));
  }

  /**
   * The number of files in a version of a table, from the checksum file Delta writes beside the
   * version's commit ({@code NNN.crc}, its {@code numFiles}); empty when the version has none, or
   * one that cannot be read (Delta writes it after the commit, and reads none it cannot parse).
   */
  public static java.util.OptionalLong filesInChecksum(HadoopFiles files, Path table, long version) {
    Path checksum = inLog(table, String.format("%020d.crc", version));
    try {
      if (!files.exists(checksum)) {
        return java.util.OptionalLong.empty();
      }
      JsonNode n = Json.read(files.readString(checksum), JsonNode.class, "Delta checksum " + checksum)
          .path("numFiles");
      return n.canConvertToLong() ? java.util.OptionalLong.of(n.asLong()) : java.util.OptionalLong.empty();
    } catch (RuntimeException e) { // a checksum half written or damaged: the caller goes without it
      return java.util.OptionalLong.empty();
    }
  }

  /** The actions of a table's commit, in order; the commit file must exist. */
  public static List<JsonNode> actions(HadoopFiles files, Path table, long version) {
    Path commit = file(table, version);
    List<JsonNode> actions = new ArrayList<>();
    for (String line : files.readString(commit).split("\n")) {
      if (!line.isBlank()) {
        actions.add(Json.read(line, JsonNode.class, "Delta commit " + commit));
      }
    }
    return actions;
  }
}
