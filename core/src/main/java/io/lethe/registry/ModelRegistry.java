package io.lethe.registry;

import io.lethe.LetheException;
import io.lethe.model.ShardEnsembleModel;
import io.lethe.run.HadoopFiles;
import io.lethe.run.Json;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.hadoop.fs.FileAlreadyExistsException;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Published ensembles and the sub-models they are made of, under one models location:
 * {@code submodels/shard=NNNNN/vSSSSSSSS-id/} holds a sub-model fitted on store version S, and
 * {@code ensembles/vNNNNNNNN/ensemble.json} makes ensemble version N. A version exists once its
 * ensemble.json is in place; that file is written last and appears whole, so a reader never sees
 * half a version. Sub-models are shared between versions; a shard that was not retrained keeps its
 * exact artifact.
 */
public final class ModelRegistry {
  private static final Logger LOG = LoggerFactory.getLogger(ModelRegistry.class);
  private static final Pattern VERSION_DIR = Pattern.compile("v(\\d{8})");
  private static final Pattern SHARD_DIR = Pattern.compile("shard=(\\d+)");
  private static final Pattern SUBMODEL_DIR = Pattern.compile("v(\\d+)-[0-9a-f]+");
  private static final String RETIRED = "retired";
  private static final int PUBLISH_ATTEMPTS = 20;

  private final SparkSession spark;
  private final HadoopFiles files;
  private final Path root;

  public ModelRegistry(SparkSession spark, String modelsPath) {
    this.spark = spark;
    this.files = new HadoopFiles(spark.sparkContext().hadoopConfiguration());
    this.root = files.qualify(modelsPath);
  }

  public Path root() {
    return root;
  }

  public Path ensembleDir(long version) {
    return new Path(new Path(root, "ensembles"), String.format("v%08d", version));
  }

  /** Saves a fitted sub-model under a new directory named by its shard and store version. */
  public SubModelEntry saveSubModel(int shard, long storeVersion, PipelineModel model, long rows, long seed,
      double fitSeconds) {
    String relative = String.format("submodels/shard=%05d/v%08d-%s", shard, storeVersion,
        UUID.randomUUID().toString().substring(0, 8));
    try {
      model.write().save(new Path(root, relative).toString());
    } catch (IOException e) {
      throw new LetheException("Cannot save the sub-model of shard " + shard + ": " + e.getMessage(), e);
    }
    return new SubModelEntry(shard, "../../" + relative, storeVersion, rows, seed, Instant.now().toString(), fitSeconds);
  }

  /** Published versions, oldest first. */
  public List<Long> versions() {
    return files.list(new Path(root, "ensembles")).stream()
        .filter(FileStatus::isDirectory)
        .map(s -> VERSION_DIR.matcher(s.getPath().getName()))
        .filter(Matcher::matches)
        .map(m -> Long.parseLong(m.group(1)))
        .filter(v -> files.exists(new Path(ensembleDir(v), EnsembleManifest.FILE_NAME)))
        .sorted()
        .toList();
  }

  public Optional<EnsembleManifest> latest() {
    List<Long> versions = versions();
    return versions.isEmpty() ? Optional.empty() : Optional.of(manifest(versions.get(versions.size() - 1)));
  }

  public EnsembleManifest manifest(long version) {
    Path file = new Path(ensembleDir(version), EnsembleManifest.FILE_NAME);
    if (!files.exists(file)) {
      throw new LetheException("No published ensemble version " + version + " in " + root);
    }
    return Json.read(files.readString(file), EnsembleManifest.class, "ensemble manifest " + file);
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
        throw new LetheException("The sub-model of shard " + e.shard() + " of ensemble version " + manifest.version()
            + " is missing at " + p + "; restore it, or retrain the shard (train --shards " + e.shard() + ")");
      }
    }
  }

  /** Loads a published version as a spark.ml model. */
  public ShardEnsembleModel load(long version) {
    manifest(version);
    return ShardEnsembleModel.load(ensembleDir(version).toString());
  }

  /**
   * Publishes a new version with the given sub-models. Every sub-model must exist on storage
   * first; the version number is claimed exclusively, so two publishers never share one.
   */
  public EnsembleManifest publish(EnsembleManifest draft) {
    requireSubModels(draft);
    long next = versions().stream().mapToLong(Long::longValue).max().orElse(0) + 1;
    for (int attempt = 0; attempt < PUBLISH_ATTEMPTS; attempt++, next++) {
      Path dir = ensembleDir(next);
      if (!claim(dir)) {
        continue;
      }
      EnsembleManifest manifest = draft.withVersion(next, Instant.now().toString());
      files.writeNew(new Path(dir, EnsembleManifest.FILE_NAME), Json.write(manifest));
      return manifest;
    }
    throw new LetheException("Cannot claim a new ensemble version in " + root + " after " + PUBLISH_ATTEMPTS + " attempts");
  }

  private boolean claim(Path dir) {
    FileSystem fs = files.fs(dir);
    try {
      fs.mkdirs(dir);
      fs.create(new Path(dir, "_claim"), false).close();
      return true;
    } catch (FileAlreadyExistsException taken) {
      return false;
    } catch (IOException e) {
      if (files.exists(new Path(dir, "_claim"))) {
        return false;
      }
      throw new LetheException("Cannot create ensemble version directory " + dir + ": " + e.getMessage(), e);
    }
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
    List<Long> versions = new ArrayList<>();
    for (long v : versions()) {
      if (manifest(v).shards().stream().anyMatch(e -> trainedOnDeletedRows.test(e.shard(), e.storeVersion()))) {
        versions.add(v);
      }
    }
    List<String> dirs = subModelDirs().stream().filter(d -> trainedOnDeletedRows.test(d.shard(), d.storeVersion()))
        .map(SubModelDir::relativePath).sorted().toList();
    return new Retirement(Instant.now().toString(), batchId, reason, versions, dirs);
  }

  /**
   * Deletes every ensemble version and sub-model directory that fails the test (trained on rows
   * deleted since), after recording them under {@code retired/}. Ensemble versions go first, so
   * no remaining version points at a deleted sub-model. The latest version and its sub-models are
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
    for (long v : plan.ensembleVersions()) {
      Path dir = ensembleDir(v);
      files.deleteRecursively(new Path(dir, EnsembleManifest.FILE_NAME));
      files.deleteRecursively(dir);
    }
    for (String dir : plan.subModels()) {
      files.deleteRecursively(new Path(root, dir));
    }
    return plan;
  }

  /** Every retirement recorded, oldest first. */
  public List<Retirement> retirements() {
    return files.list(new Path(root, RETIRED)).stream()
        .filter(s -> s.isFile() && s.getPath().getName().endsWith(".json"))
        .sorted(Comparator.comparing(s -> s.getPath().getName()))
        .map(s -> Json.read(files.readString(s.getPath()), Retirement.class, "retirement record " + s.getPath()))
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
