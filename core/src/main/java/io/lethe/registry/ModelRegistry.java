package io.lethe.registry;

import io.lethe.LetheException;
import io.lethe.model.ShardEnsembleModel;
import io.lethe.run.HadoopFiles;
import io.lethe.run.Json;
import java.io.IOException;
import java.time.Instant;
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

/**
 * Published ensembles and the sub-models they are made of, under one models location:
 * {@code submodels/shard=NNNNN/vSSSSSSSS-id/} holds a sub-model fitted on store version S, and
 * {@code ensembles/vNNNNNNNN/ensemble.json} makes ensemble version N. A version exists once its
 * ensemble.json is in place; that file is written last and appears whole, so a reader never sees
 * half a version. Sub-models are shared between versions; a shard that was not retrained keeps its
 * exact artifact.
 */
public final class ModelRegistry {
  private static final Pattern VERSION_DIR = Pattern.compile("v(\\d{8})");
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
    for (SubModelEntry e : draft.shards()) {
      Path p = subModelPath(0, e);
      if (!files.exists(p)) {
        throw new LetheException("Refusing to publish: the sub-model of shard " + e.shard() + " is missing at " + p);
      }
    }
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

  public SparkSession spark() {
    return spark;
  }
}
