package io.lethe.store;

import com.fasterxml.jackson.databind.JsonNode;
import io.lethe.run.HadoopFiles;
import io.lethe.run.Json;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.fs.Path;

/**
 * One commit of a Delta table as the Delta protocol stores it: {@code _delta_log/NNN.json}, a JSON
 * action a line (commitInfo, add, remove, cdc, txn, ...). Read directly when a question about a
 * single commit needs no table scan.
 */
public final class DeltaCommits {
  private DeltaCommits() {}

  /** The file of a table's commit. */
  public static Path file(Path table, long version) {
    return new Path(new Path(table, "_delta_log"), String.format("%020d.json", version));
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
