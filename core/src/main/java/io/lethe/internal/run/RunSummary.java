package io.lethe.internal.run;

import io.lethe.internal.run.StepTimes;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import org.apache.hadoop.fs.Path;

/**
 * The JSON record every job prints and stores: what it read, what it wrote, how long each step
 * took. Callers put counts, versions, shard numbers and paths in it, never subject ids.
 */
public final class RunSummary {
  private static final DateTimeFormatter FILE_TIME = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").withZone(ZoneOffset.UTC);

  private final String job;
  private final String runId = UUID.randomUUID().toString();
  private final Instant startedAt = Instant.now();
  private final Map<String, Object> inputs = new LinkedHashMap<>();
  private final Map<String, Object> outputs = new LinkedHashMap<>();
  private final StepTimes steps = new StepTimes();

  public RunSummary(String job) {
    this.job = job;
  }

  public RunSummary input(String key, Object value) {
    inputs.put(key, value);
    return this;
  }

  public RunSummary output(String key, Object value) {
    outputs.put(key, value);
    return this;
  }

  public StepTimes steps() {
    return steps;
  }

  /** The run's id: in the summary, on every Spark job of the run (job tag {@link #jobTag}), in log lines. */
  public String runId() {
    return runId;
  }

  /** The Spark job tag every job of the run carries, for the Spark UI and {@code cancelJobsWithTag}. */
  public String jobTag() {
    return "lethe-run-" + runId;
  }

  /** The summary as it stands, closed with a status ("succeeded" or "failed") and an error message. */
  public Map<String, Object> finish(String status, String error) {
    Instant now = Instant.now();
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("job", job);
    out.put("runId", runId);
    out.put("status", status);
    if (error != null) {
      out.put("error", error);
    }
    out.put("startedAt", startedAt.toString());
    out.put("finishedAt", now.toString());
    out.put("seconds", Duration.between(startedAt, now).toMillis() / 1000.0);
    out.put("inputs", inputs);
    out.put("outputs", outputs);
    out.put("stepSeconds", steps.asMap());
    out.put("stepCost", steps.costs());
    return out;
  }

  /** Writes the summary as runs/JOB-TIME-ID.json under a runs location and returns its path. */
  public Path write(HadoopFiles files, String runsPath, Map<String, Object> finished) {
    Path dir = files.qualify(runsPath);
    files.mkdirs(dir);
    Path file = new Path(dir, job + "-" + FILE_TIME.format(startedAt) + "-" + runId.substring(0, 8) + ".json");
    files.writeNew(file, Json.write(finished));
    return file;
  }
}
