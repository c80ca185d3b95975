package io.lethe.internal.verify;

import io.lethe.types.ForgetEvidence;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.monotonically_increasing_id;
import static org.apache.spark.sql.functions.rand;

import io.lethe.internal.forget.ForgetAudit;
import io.lethe.internal.model.Evaluation;
import io.lethe.internal.model.ShardEnsembleModel;
import io.lethe.internal.registry.ModelRegistry;
import io.lethe.internal.run.HadoopFiles;
import io.lethe.internal.run.Json;
import io.lethe.internal.store.ShardedStore;
import io.lethe.types.ForgetEvidence.Measurement;
import io.lethe.types.StoreLayout;
import io.lethe.types.Task;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The membership audit of a forget run: at the moment between publishing and retiring, samples
 * the forgotten rows (from the store version before the delete, by time travel), retained rows of
 * the hit shards and never-seen held-out rows, and runs {@link MembershipAttack}'s attacks with the
 * ensemble before and the ensemble after the forget. The samples live in memory for the length of
 * the audit; only aggregates are written, to {@code verify.path/membership/<batch>.json}, where
 * verify finds them.
 */
public final class MembershipAudit implements ForgetAudit {
  private static final Logger LOG = LoggerFactory.getLogger(MembershipAudit.class);
  private static final long SEED = 17;

  private final ShardedStore store;
  private final ModelRegistry registry;
  private final Dataset<Row> heldOut;
  private final VerifySettings settings;

  /**
   * @param heldOut rows with the store's features and label that no model was trained on
   */
  public MembershipAudit(ShardedStore store, ModelRegistry registry, Dataset<Row> heldOut, VerifySettings settings) {
    this.store = store;
    this.registry = registry;
    this.heldOut = heldOut;
    this.settings = settings;
  }

  @Override
  public void record(Moment moment) {
    ForgetEvidence evidence = measure(moment);
    HadoopFiles files = new HadoopFiles(store.spark().sparkContext().hadoopConfiguration());
    Path path = evidencePath(files, settings, moment.batchId());
    files.mkdirs(path.getParent());
    files.overwrite(path, Json.write(evidence));
    LOG.info("Forget batch {}: membership evidence on {} forgotten, {} retained and {} unseen rows written to {}",
        moment.batchId(), evidence.forgottenRows(), evidence.retainedRows(), evidence.unseenRows(), path);
  }

  /** Measures utility and membership before and after; writes nothing. */
  public ForgetEvidence measure(Moment m) {
    StoreLayout layout = store.layout();
    List<Dataset<Row>> cached = new ArrayList<>();
    try {
      Dataset<Row> forgotten = sample(store.rowsMatching(m.idColumn(), m.ids(), m.hitShards(), m.versionBefore()),
          cached);
      Dataset<Row> retained = sample(store.read(m.deleteVersion())
          .where(col(StoreLayout.SHARD_COLUMN).isin(m.hitShards().toArray())), cached);
      // The reference attack places each row in a shard by its subject: held-out rows without a
      // subject column get a made-up one (they are in no shard's training data either way).
      String subject = layout.subjectColumn();
      Dataset<Row> unseen = sample(List.of(heldOut.columns()).contains(subject) ? heldOut
          : heldOut.withColumn(subject, monotonically_increasing_id().cast("string")), cached);
      long forgottenRows = forgotten.count();
      long retainedRows = retained.count();
      long unseenRows = unseen.count();

      Map<String, ShardEnsembleModel> models = new LinkedHashMap<>();
      List<String> notes = new ArrayList<>();
      if (m.ensembleBefore() != null) {
        try {
          models.put("before", ShardEnsembleModel.load(registry, m.ensembleBefore()));
        } catch (RuntimeException gone) { // a resumed run: an earlier run retired it already
          notes.add("the ensemble before the forget (version " + m.ensembleBefore() + ") is no longer on storage");
        }
      }
      if (m.ensembleAfter() != null) {
        models.put("after", ShardEnsembleModel.load(registry, m.ensembleAfter()));
      }
      Dataset<Row> evaluation = heldOut;
      if (!heldOut.storageLevel().useMemory()) { // the caller's cache is the caller's to drop
        evaluation = heldOut.cache();
        cached.add(evaluation);
      }
      long heldOutRows = evaluation.count();
      Double before = models.containsKey("before") ? Evaluation.score(models.get("before"), evaluation, layout) : null;
      Double after = models.containsKey("after") ? Evaluation.score(models.get("after"), evaluation, layout) : null;

      List<Measurement> attacks = new ArrayList<>();
      if (layout.task() == Task.REGRESSION) {
        notes.add("membership attacks need class probabilities; the store's task is regression");
      } else if (forgottenRows == 0 || unseenRows == 0) {
        notes.add("no forgotten rows could be read at store version " + m.versionBefore() + " or no held-out rows");
      } else {
        Map<String, Dataset<Row>> populations = new LinkedHashMap<>();
        populations.put("forgotten", forgotten);
        if (retainedRows > 0) { // the hit shards may have no rows left
          populations.put("retained", retained);
        }
        boolean referenceNoted = false;
        for (Map.Entry<String, ShardEnsembleModel> model : models.entrySet()) {
          boolean reference = MembershipAttack.referenceApplies(model.getValue());
          if (!reference && !referenceNoted) {
            notes.add("the reference attack needs 3 or more shards of probabilistic sub-models");
            referenceNoted = true;
          }
          List<String> runs = reference ? List.of("threshold", "reference") : List.of("threshold");
          for (String attack : runs) {
            MembershipAttack.against(attack, model.getValue(), populations, unseen, layout)
                .forEach((population, result) -> attacks.add(new Measurement(population, model.getKey(), result)));
          }
        }
      }
      return new ForgetEvidence(ForgetEvidence.FORMAT_VERSION, m.batchId(), Instant.now().toString(),
          m.versionBefore(), m.deleteVersion(), m.ensembleBefore(), m.ensembleAfter(), forgottenRows, retainedRows,
          unseenRows, Evaluation.metricName(layout), heldOutRows, before, after, attacks,
          notes.isEmpty() ? null : String.join("; ", notes));
    } finally {
      cached.forEach(Dataset::unpersist);
    }
  }

  /** At most verify.attack-rows rows, drawn at random with a fixed seed, held in memory. */
  private Dataset<Row> sample(Dataset<Row> rows, List<Dataset<Row>> cached) {
    Dataset<Row> out = rows.drop(StoreLayout.SHARD_COLUMN).orderBy(rand(SEED)).limit(settings.attackRows()).cache();
    cached.add(out);
    return out;
  }

  /** Where a batch's evidence is. */
  public static Path evidencePath(HadoopFiles files, VerifySettings settings, String batchId) {
    return new Path(new Path(files.qualify(settings.path()), "membership"), batchId + ".json");
  }

  /** A batch's evidence, if its forget run recorded one. */
  public static Optional<ForgetEvidence> read(SparkSession spark, VerifySettings settings, String batchId) {
    HadoopFiles files = new HadoopFiles(spark.sparkContext().hadoopConfiguration());
    Path path = evidencePath(files, settings, batchId);
    return files.exists(path) ? Optional.of(Json.read(files.readString(path), ForgetEvidence.class,
        "membership evidence " + path)) : Optional.empty();
  }
}
