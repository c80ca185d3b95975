package io.lethe.internal.verify;


import io.lethe.internal.registry.ModelRegistry;
import io.lethe.internal.run.HadoopFiles;
import io.lethe.internal.store.ShardedStore;
import io.lethe.internal.train.Strategy;
import io.lethe.internal.train.Training;
import io.lethe.internal.unlearn.Strategies;
import io.lethe.types.EnsembleManifest;
import io.lethe.types.Retirement;
import io.lethe.types.SubModelEntry;
import io.lethe.types.VerifyReport.Check;
import io.lethe.types.VerifyReport;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.apache.hadoop.fs.Path;

/** Verify's checks of the models: none published or stored that was trained on the rows, and how each hit shard's sub-model was made. */
final class ModelChecks {
  private final ShardedStore store;
  private final ModelRegistry registry;

  ModelChecks(ShardedStore store, ModelRegistry registry) {
    this.store = store;
    this.registry = registry;
  }

  Check modelsPublished(Optional<EnsembleManifest> latest, Set<Integer> hit, Long deleteVersion) {
    if (latest.isEmpty()) {
      return new Check("models.published", true, "no ensemble is published", Map.of());
    }
    EnsembleManifest m = latest.get();
    List<Integer> stale = Training.shardsTrainedOnDeletedRows(store, m);
    // A hit shard's sub-model trained before the batch's recorded delete version is stale only if
    // rows left its shard after it: a run resumed after the delete had committed records a later
    // version than the one that removed the rows, and a sub-model trained between the two saw none.
    List<Integer> before = m.shards().stream()
        .filter(e -> hit.contains(e.shard()) && deleteVersion != null && e.storeVersion() < deleteVersion
            && stale.contains(e.shard()))
        .map(SubModelEntry::shard).toList();
    Set<Integer> bad = new TreeSet<>(before);
    bad.addAll(stale);
    boolean ok = bad.isEmpty();
    Map<String, Object> figures = new LinkedHashMap<>();
    figures.put("ensembleVersion", m.version());
    figures.put("hitShardsTrainedBeforeTheDelete", before);
    figures.put("shardsTrainedOnDeletedRows", stale);
    return new Check("models.published", ok, ok
        ? "every sub-model of ensemble version " + m.version() + " was trained after the batch's delete"
        : "ensemble version " + m.version() + " holds sub-models trained before the delete of their rows: shards "
            + bad, figures);
  }

  /**
   * Nothing trained on deleted rows is left on storage, and everything recorded as retired is gone:
   * no published version of the log, and no file under its directory, found by listing the
   * registry's file system.
   */
  Check modelsRetired(Optional<EnsembleManifest> latest) {
    Map<Integer, Long> removals = Training.removalsSinceOldestSubModel(store, registry);
    // The latest version is checked by models.published; here, everything else on storage.
    Retirement stale = registry.planRetirement((shard, v) -> v < removals.getOrDefault(shard, -1L)
        && latest.flatMap(m -> m.shard(shard)).map(e -> e.storeVersion() != v).orElse(true), "verify", "verify");
    HadoopFiles files = new HadoopFiles(store.spark().sparkContext().hadoopConfiguration());
    List<String> onStorage = files.filesUnder(registry.root()).stream().map(Path::toString).toList();
    Set<Long> published = Set.copyOf(registry.versions());
    List<String> present = new ArrayList<>();
    long recorded = 0;
    for (Retirement r : registry.retirements()) {
      for (long v : r.ensembleVersions()) {
        recorded++;
        if (published.contains(v) || holdsFiles(onStorage, registry.ensembleDir(v))) {
          present.add("ensembles v" + v);
        }
      }
      for (String dir : r.subModels()) {
        recorded++;
        if (holdsFiles(onStorage, new Path(registry.root(), dir))) {
          present.add(dir);
        }
      }
    }
    boolean ok = stale.isEmpty() && present.isEmpty();
    Map<String, Object> figures = new LinkedHashMap<>();
    figures.put("staleEnsembleVersions", stale.ensembleVersions());
    figures.put("staleSubModelDirectories", stale.subModels().size());
    figures.put("retiredArtifactsRecorded", recorded);
    figures.put("retiredArtifactsStillOnStorage", present.size());
    return new Check("models.retired", ok, ok
        ? "no ensemble version or sub-model trained on deleted rows is on storage; all " + recorded
            + " retired artifacts are gone"
        : stale.ensembleVersions().size() + " ensemble version(s) and " + stale.subModels().size()
            + " sub-model director(ies) trained on deleted rows remain; " + present.size()
            + " retired artifact(s) are still on storage", figures);
  }

  private static boolean holdsFiles(List<String> files, Path dir) {
    String prefix = dir.toString() + "/";
    return files.stream().anyMatch(f -> f.startsWith(prefix));
  }

  /** How a published sub-model was made, and what that guarantees. */
  VerifyReport.ShardStrategy strategy(EnsembleManifest manifest, SubModelEntry entry) {
    Strategy s = Strategies.ofSubModel(entry.strategy());
    Strategy.Guarantee g = s.guaranteeOf(registry, manifest, entry);
    return new VerifyReport.ShardStrategy(entry.shard(), s.id(), g.exact(), g.words(), g.certificate());
  }
}
