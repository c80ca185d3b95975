package io.lethe.types;

import io.lethe.Evolving;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What an ensemble is: its sub-models and what each was trained on. A registry keeps it in its
 * publish log (and a copy as ensemble.json in the version's directory); a saved ensemble keeps it as
 * ensemble.json, written last, so a directory without it is not (yet) an ensemble.
 *
 * @param version the registry version (0 for an ensemble saved outside a registry)
 * @param storePath the store its sub-models were trained from
 * @param task classification or regression
 * @param classes for classification, the label values in class-index order
 * @param aggregation soft, hard or weighted
 * @param estimator the estimator name the sub-models were fitted with
 * @param estimatorParams the estimator parameters as given
 * @param shards one entry per shard, in shard order
 */
@Evolving
public record EnsembleManifest(
    int formatVersion,
    long version,
    String createdAt,
    String storePath,
    String task,
    List<String> classes,
    String aggregation,
    String estimator,
    Map<String, String> estimatorParams,
    List<SubModelEntry> shards) {

  public static final int FORMAT_VERSION = 1;
  public static final String FILE_NAME = "ensemble.json";

  public EnsembleManifest {
    classes = List.copyOf(classes);
    estimatorParams = Map.copyOf(estimatorParams);
    shards = shards.stream().sorted(Comparator.comparingInt(SubModelEntry::shard)).toList();
  }

  public Optional<SubModelEntry> shard(int shard) {
    return shards.stream().filter(e -> e.shard() == shard).findFirst();
  }

  /** Whether it lists sub-models and a task: what a manifest read from storage must have to be used. */
  public boolean complete() {
    return shards != null && !shards.isEmpty() && task != null;
  }

  public long rows() {
    return shards.stream().mapToLong(SubModelEntry::rows).sum();
  }

  public EnsembleManifest withShards(List<SubModelEntry> newShards) {
    return new EnsembleManifest(formatVersion, version, createdAt, storePath, task, classes, aggregation, estimator,
        estimatorParams, newShards);
  }

  public EnsembleManifest withVersion(long newVersion, String newCreatedAt) {
    return new EnsembleManifest(formatVersion, newVersion, newCreatedAt, storePath, task, classes, aggregation,
        estimator, estimatorParams, shards);
  }
}
