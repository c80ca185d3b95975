package io.lethe.internal.registry;

import io.lethe.CommitConflictException;
import io.lethe.CorruptRegistryException;
import io.lethe.InvalidRequestException;
import io.lethe.LetheException;
import io.lethe.internal.run.HadoopFiles;
import io.lethe.internal.run.Json;
import io.lethe.internal.store.CommitRetry;
import io.lethe.types.EnsembleManifest;
import io.lethe.types.Retirement;
import io.lethe.types.SubModelEntry;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Published ensembles and the sub-models they are made of, under one models location:
 * {@code submodels/shard=NNNNN/vSSSSSSSS-id/} holds a sub-model fitted on store version S, and
 * {@code published/} is the publish log, an append-only Delta table of events: a version's
 * {@code published} row carries its manifest, a {@code retired} row ends it. A version exists once
 * its row is committed: the commit is the publish, so readers see a whole version or none on any
 * storage Delta supports, including object stores where rename is a copy. The version number is
 * claimed by that commit, an idempotent Delta write (application id and version) that concurrent
 * publishers of the same number conflict on; the loser retries with the next number. After the
 * commit a copy of the manifest is written to {@code ensembles/vNNNNNNNN/ensemble.json}, so that
 * the directory loads with {@code ShardEnsembleModel.load}. Sub-models are shared between versions;
 * a shard that was not retrained keeps its exact artifact.
 *
 * <p>A strategy's state files live beside their sub-model, except secrets (a name ending in
 * {@value #SECRET_SUFFIX}, such as certified removal's noise): those live under a separate secrets
 * location, never under the models', at the sub-model's own relative path, and are retired with it.
 * Whoever can read the models cannot read them.
 */
public final class ModelRegistry {
  private static final Logger LOG = LoggerFactory.getLogger(ModelRegistry.class);
  private static final Pattern VERSION_DIR = Pattern.compile("v(\\d{8})");
  private static final Pattern SHARD_DIR = Pattern.compile("shard=(\\d+)");
  private static final Pattern SUBMODEL_DIR = Pattern.compile("v(\\d+)-[0-9a-f]+");
  private static final String RETIRED = "retired";
  private static final String PUBLISHED = "published";
  private static final int PUBLISH_ATTEMPTS = 20;
  private static final String EVENT_PUBLISHED = "published";
  private static final String EVENT_RETIRED = "retired";


  private final SparkSession spark;
  private final HadoopFiles files;
  private final Path root;
  private final Path secrets;
  private final PublishLog log;

  /** A state file whose name ends so is a secret: kept under the secrets location. */
  public static final String SECRET_SUFFIX = ".secret.json";

  /** The registry at {@code modelsPath}, its publish log under it, its secrets beside it. */
  public ModelRegistry(SparkSession spark, String modelsPath) {
    this(spark, modelsPath, "", "", "");
  }

  /**
   * @param publishLog where the publish log is: blank for {@code <modelsPath>/published}, a path,
   *     or a catalog table name (the first publish creates the table; sub-models stay under
   *     {@code modelsPath})
   * @param tablesLocation where a named publish log is created as an external table ({@code
   *     tables.location}); blank for a managed table
   * @param secretsPath where secret state files live ({@code models.secrets-path}): blank for
   *     {@code <modelsPath>-secrets}, beside the models; never under {@code modelsPath}
   */
  public ModelRegistry(SparkSession spark, String modelsPath, String publishLog, String tablesLocation,
      String secretsPath) {
    this.spark = spark;
    this.files = new HadoopFiles(spark.sparkContext().hadoopConfiguration());
    this.root = files.qualify(modelsPath);
    this.secrets = files.qualify(secretsPath.isBlank() ? root.toString().replaceAll("/+$", "") + "-secrets"
        : secretsPath);
    String models = root.toString().replaceAll("/+$", "") + "/";
    if ((secrets.toString() + "/").startsWith(models)) {
      throw new io.lethe.InvalidConfigException("models.secrets-path (" + secrets + ") is under models.path (" + root
          + "): whoever reads the models would read the secrets; give it a location of its own");
    }
    this.log = new PublishLog(spark, files, publishLog.isBlank() ? new Path(root, PUBLISHED).toString() : publishLog,
        tablesLocation);
  }

  public Path root() {
    return root;
  }

  /** Where secret state files live. */
  public Path secrets() {
    return secrets;
  }

  /** Where a sub-model's state file of this name lives: beside it, or under the secrets location. */
  private Path stateFilePath(Path subModelDir, String name) {
    if (!name.endsWith(SECRET_SUFFIX)) {
      return new Path(subModelDir, name);
    }
    java.net.URI relative = root.toUri().relativize(subModelDir.toUri());
    if (relative.isAbsolute() || relative.getPath().startsWith("/")) {
      throw new CorruptRegistryException("The sub-model " + subModelDir + " is outside " + root
          + ": its secret state file " + name + " has no place under " + secrets);
    }
    return new Path(new Path(secrets, relative.getPath()), name);
  }

  /** The publish log: a Delta table of published versions (null: a named log not created yet). */
  public Path publishLog() {
    return log.path();
  }

  public Path ensembleDir(long version) {
    return new Path(new Path(root, "ensembles"), String.format("v%08d", version));
  }

  /** The file in a sub-model's directory that holds its shard's statistics, when it keeps them. */
  public static final String STATISTICS_FILE = "lethe-statistics.json";

  /** Saves a fitted sub-model under a new directory named by its shard and store version. */
  public SubModelEntry saveSubModel(int shard, long storeVersion, PipelineModel model, long rows, long seed,
      double fitSeconds) {
    return saveSubModel(shard, storeVersion, model, rows, seed, fitSeconds, SubModelEntry.SHARD_RETRAIN,
        SubModelEntry.JOBS, Map.of());
  }

  /**
   * Saves a sub-model made by {@code strategy}, with its strategy's state files written as JSON in
   * the same directory, secrets under the secrets location (by file name: its shard's statistics,
   * its certified state, its checkpoints): they hold sums of the rows, the model's secret noise or
   * weights trained on the rows, so they live and are retired with the sub-model.
   */
  public SubModelEntry saveSubModel(int shard, long storeVersion, PipelineModel model, long rows, long seed,
      double seconds, String strategy, String engine, Map<String, Object> stateFiles) {
    String relative = String.format("submodels/shard=%05d/v%08d-%s", shard, storeVersion,
        UUID.randomUUID().toString().substring(0, 8));
    Path dir = new Path(root, relative);
    try {
      PipelineWriter.save(spark, files, model, dir);
    } catch (IOException e) {
      throw new LetheException("Cannot save the sub-model of shard " + shard + ": " + e.getMessage(), e);
    }
    stateFiles.forEach((name, content) -> files.writeNew(stateFilePath(dir, name), Json.write(content)));
    return new SubModelEntry(shard, "../../" + relative, storeVersion, rows, seed, Instant.now().toString(), seconds,
        strategy, engine);
  }

  /** Whether a published sub-model keeps a state file of this name (beside it, or a secret). */
  public boolean hasStateFile(long version, SubModelEntry entry, String name) {
    return files.exists(stateFilePath(subModelPath(version, entry), name));
  }

  /**
   * A state file kept beside a published sub-model (a strategy's statistics, certificate or
   * checkpoints), read as the type its owner names; empty when the sub-model keeps none. The
   * registry stores state files by name and knows none of their types.
   */
  public <T> Optional<T> stateFile(long version, SubModelEntry entry, String name, Class<T> type) {
    if (!hasStateFile(version, entry, name)) {
      return Optional.empty();
    }
    Path file = stateFilePath(subModelPath(version, entry), name);
    return Optional.of(readRecord(files.readString(file), type, name + " at " + file));
  }

  /** The manifests of every published version not retired since, oldest first, read in one pass. */
  public List<EnsembleManifest> published() {
    return published(log.rows());
  }

  private List<EnsembleManifest> published(List<Row> rows) {
    Set<Long> retired = rows.stream().filter(r -> EVENT_RETIRED.equals(r.getString(1))).map(r -> r.getLong(0))
        .collect(Collectors.toSet());
    return rows.stream().filter(r -> EVENT_PUBLISHED.equals(r.getString(1)) && !retired.contains(r.getLong(0)))
        .map(r -> manifestOf(r.getLong(0), r.getString(3)))
        .sorted(Comparator.comparingLong(EnsembleManifest::version)).toList();
  }

  /** Published versions, oldest first. */
  public List<Long> versions() {
    return published().stream().map(EnsembleManifest::version).toList();
  }

  public Optional<EnsembleManifest> latest() {
    List<EnsembleManifest> all = published();
    return all.isEmpty() ? Optional.empty() : Optional.of(all.get(all.size() - 1));
  }

  public EnsembleManifest manifest(long version) {
    return published().stream().filter(m -> m.version() == version).findFirst()
        .orElseThrow(() -> new InvalidRequestException("No published ensemble version " + version + " in " + root));
  }

  /** Where a version's sub-model lives. */
  public Path subModelPath(long version, SubModelEntry entry) {
    return new Path(ensembleDir(version), entry.path());
  }

  /** Fails with a clear message when a sub-model of the ensemble is missing from storage. */
  public void requireSubModels(EnsembleManifest manifest) {
    for (SubModelEntry e : manifest.shards()) {
      Path p = subModelPath(manifest.version(), e);
      if (!files.exists(new Path(p, "metadata"))) {
        throw new CorruptRegistryException("The sub-model of shard " + e.shard() + " of ensemble version " + manifest.version()
            + " is missing at " + p + "; restore it, or retrain the shard (train --shards " + e.shard() + ")");
      }
    }
  }

  /**
   * Publishes a new version with the given sub-models. Every sub-model must exist on storage
   * first. The version number is claimed by the publish log's commit, so two publishers never
   * share one: a commit that conflicts with a concurrent one is retried with a fresh number.
   */
  public EnsembleManifest publish(EnsembleManifest draft) {
    requireSubModels(draft);
    // One budget for the whole publish: claims of a number another publisher took (tried again at
    // once with the next number) and Kernel conflicts (tried again after a backoff) both spend it.
    int[] claims = {0};
    EnsembleManifest manifest = new CommitRetry(PUBLISH_ATTEMPTS).run("publish of an ensemble version", () -> {
      while (claims[0] < PUBLISH_ATTEMPTS) {
        claims[0]++;
        long next = log.rows().stream().mapToLong(r -> r.getLong(0)).max().orElse(0) + 1;
        EnsembleManifest claimed = draft.withVersion(next, Instant.now().toString());
        // Skipped by Delta when a publisher already committed this number; conflicts when one
        // commits it concurrently. Either way the number is not ours, and the next one is tried.
        if (log.append(List.of(RowFactory.create(next, EVENT_PUBLISHED, claimed.createdAt(), Json.write(claimed))),
            next)) {
          return claimed;
        }
      }
      throw new CommitConflictException("Cannot claim a new ensemble version in " + root + " after " + PUBLISH_ATTEMPTS
          + " attempts");
    });
    // A copy for spark.ml loaders of the directory; the log's row is what makes the version.
    files.overwrite(new Path(ensembleDir(manifest.version()), EnsembleManifest.FILE_NAME), Json.write(manifest));
    return manifest;
  }

  /** Reads a JSON record of the registry's (a manifest, a retirement, a sub-model's state): one that does not parse is corrupt. */
  public static <T> T readRecord(String json, Class<T> type, String what) {
    try {
      return Json.read(json, type, what);
    } catch (LetheException e) {
      throw new CorruptRegistryException(e.getMessage(), e);
    }
  }

  private EnsembleManifest manifestOf(long version, String json) {
    String what = "ensemble manifest of version " + version + " in " + log.describe();
    EnsembleManifest manifest = readRecord(json, EnsembleManifest.class, what);
    if (!manifest.complete() || manifest.version() != version) {
      throw new CorruptRegistryException("Corrupt " + what + ": it lists no sub-models or no task, or another version");
    }
    return manifest;
  }

  /** Every sub-model directory on storage, whether a published version uses it or not. */
  public List<SubModelDir> subModelDirs() {
    List<SubModelDir> out = new ArrayList<>();
    for (FileStatus shardDir : files.list(new Path(root, "submodels"))) {
      Matcher shard = SHARD_DIR.matcher(shardDir.getPath().getName());
      if (!shardDir.isDirectory() || !shard.matches()) {
        continue;
      }
      for (FileStatus dir : files.list(shardDir.getPath())) {
        Matcher m = SUBMODEL_DIR.matcher(dir.getPath().getName());
        if (dir.isDirectory() && m.matches()) {
          out.add(new SubModelDir(Integer.parseInt(shard.group(1)), Long.parseLong(m.group(1)),
              "submodels/" + shardDir.getPath().getName() + "/" + dir.getPath().getName()));
        }
      }
    }
    return out;
  }

  /**
   * What {@link #retire} would delete for the given test, without deleting anything: the
   * ensemble versions holding a sub-model that fails it, and the sub-model directories that do.
   */
  public Retirement planRetirement(SubModelTest trainedOnDeletedRows, String batchId, String reason) {
    List<Row> rows = log.rows();
    List<EnsembleManifest> live = published(rows);
    Set<Long> versions = new TreeSet<>(live.stream()
        .filter(m -> m.shards().stream().anyMatch(e -> trainedOnDeletedRows.test(e.shard(), e.storeVersion())))
        .map(EnsembleManifest::version).toList());
    // Directories of versions the log has retired: left by a retirement that stopped after its
    // commit. Numbers above the highest in the log are being published by someone right now.
    Set<Long> published = live.stream().map(EnsembleManifest::version).collect(Collectors.toSet());
    long highest = rows.stream().mapToLong(r -> r.getLong(0)).max().orElse(0);
    files.list(new Path(root, "ensembles")).stream().filter(FileStatus::isDirectory)
        .map(st -> VERSION_DIR.matcher(st.getPath().getName())).filter(Matcher::matches)
        .map(m -> Long.parseLong(m.group(1))).filter(v -> v <= highest && !published.contains(v))
        .forEach(versions::add);
    List<String> dirs = subModelDirs().stream().filter(d -> trainedOnDeletedRows.test(d.shard(), d.storeVersion()))
        .map(SubModelDir::relativePath).sorted().toList();
    return new Retirement(Instant.now().toString(), batchId, reason, new ArrayList<>(versions), dirs);
  }

  /**
   * Deletes every ensemble version and sub-model directory that fails the test (trained on rows
   * deleted since), after recording them under {@code retired/}. Ensemble versions go first (one
   * commit to the publish log, then their directories), so no remaining version points at a
   * deleted sub-model. The latest version and its sub-models are
   * never retired, since readers load it: when it fails the test (a delete by a concurrent forget
   * run landed after it was published), the run that made that delete publishes its successor and
   * retires it.
   */
  public Retirement retire(SubModelTest trainedOnDeletedRows, String batchId, String reason) {
    Optional<EnsembleManifest> latest = latest();
    if (latest.isPresent()
        && latest.get().shards().stream().anyMatch(e -> trainedOnDeletedRows.test(e.shard(), e.storeVersion()))) {
      LOG.warn("The latest ensemble version {} holds a sub-model trained on rows deleted after it was published;"
          + " it stays until the forget run of that delete publishes its successor", latest.get().version());
    }
    // Sparing the latest version's sub-models spares the latest version too: none of its entries fails.
    SubModelTest retirable = latest.isEmpty() ? trainedOnDeletedRows : (shard, storeVersion) ->
        trainedOnDeletedRows.test(shard, storeVersion) && latest.get().shard(shard)
            .map(e -> e.storeVersion() != storeVersion).orElse(true);
    Retirement plan = planRetirement(retirable, batchId, reason);
    if (plan.isEmpty()) {
      return plan;
    }
    String stamp = plan.retiredAt().replaceAll("[^0-9]", "");
    files.writeNew(new Path(new Path(root, RETIRED), stamp + "-" + batchId + ".json"), Json.write(plan));
    Set<Long> published = Set.copyOf(versions());
    List<Row> events = plan.ensembleVersions().stream().filter(published::contains)
        .map(v -> RowFactory.create(v, EVENT_RETIRED, plan.retiredAt(), null)).toList();
    if (!events.isEmpty()) {
      new CommitRetry(PUBLISH_ATTEMPTS).run("retirement of ensemble versions", () -> log.append(events, null));
    }
    for (long v : plan.ensembleVersions()) {
      files.deleteRecursively(ensembleDir(v));
    }
    for (String dir : plan.subModels()) {
      files.deleteRecursively(new Path(root, dir));
      files.deleteRecursively(new Path(secrets, dir));
    }
    return plan;
  }

  /** Every retirement recorded, oldest first. */
  public List<Retirement> retirements() {
    return files.list(new Path(root, RETIRED)).stream()
        .filter(s -> s.isFile() && s.getPath().getName().endsWith(".json"))
        .sorted(Comparator.comparing(s -> s.getPath().getName()))
        .map(s -> readRecord(files.readString(s.getPath()), Retirement.class, "retirement record " + s.getPath()))
        .toList();
  }

  /** Whether a sub-model of a shard, fitted on a store version, must go. */
  @FunctionalInterface
  public interface SubModelTest {
    boolean test(int shard, long storeVersion);
  }

  public SparkSession spark() {
    return spark;
  }
}
