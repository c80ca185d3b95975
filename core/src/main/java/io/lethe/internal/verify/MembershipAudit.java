package io.lethe.internal.verify;

import io.lethe.types.ForgetEvidence;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.monotonically_increasing_id;
import static org.apache.spark.sql.functions.rand;

import io.lethe.internal.forget.ForgetAudit;
import io.lethe.internal.model.Evaluation;
import io.lethe.internal.model.ShardEnsembleModel;
import io.lethe.internal.registry.ModelRegistry;
import io.lethe.internal.run.Futures;
import io.lethe.internal.run.HadoopFiles;
import io.lethe.internal.run.Json;
import io.lethe.internal.store.ShardedStore;
import io.lethe.internal.store.StoreSample;
import io.lethe.internal.train.TrainSettings;
import io.lethe.types.AttackResult;
import io.lethe.types.ForgetEvidence.Measurement;
import io.lethe.types.PerExampleEvidence;
import io.lethe.types.StoreLayout;
import io.lethe.types.Task;
import io.lethe.types.UpdateEvidence;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.FutureTask;
import org.apache.hadoop.fs.Path;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The membership audit of a forget run: at the moment between publishing and retiring, samples
 * the forgotten rows (from the store version before the delete, by time travel), retained rows of
 * the hit shards and never-seen held-out rows, and runs {@link MembershipAttack}'s attacks with the
 * ensemble before and the ensemble after the forget, and {@link DifferenceAttack} on the update from
 * one to the other, with a control update fitted without random retained people. The samples and
 * the control's sub-models live in memory for the length of the audit; only aggregates are
 * written, to {@code verify.path/membership/<batch>.json}, where verify finds them.
 */
public final class MembershipAudit implements ForgetAudit {
  private static final Logger LOG = LoggerFactory.getLogger(MembershipAudit.class);
  private static final long SEED = 17;

  private final ShardedStore store;
  private final ModelRegistry registry;
  private final Dataset<Row> heldOut;
  private final VerifySettings settings;
  private final TrainSettings training;

  /**
   * @param heldOut rows with the store's features and label that no model was trained on
   * @param training how the sub-models are fitted: the difference attack's control fits hit shards again
   */
  public MembershipAudit(ShardedStore store, ModelRegistry registry, Dataset<Row> heldOut, VerifySettings settings,
      TrainSettings training) {
    this.store = store;
    this.registry = registry;
    this.heldOut = heldOut;
    this.settings = settings;
    this.training = training;
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
    // The two ensembles are read from storage while the samples are drawn.
    FutureTask<Map<String, ShardEnsembleModel>> loading = Futures.beside("lethe-audit-models", () -> ensembles(m));
    long start = System.nanoTime();
    try {
      // The store's samples are read in the driver (Delta Kernel) where they can be: no Delta query
      // planning of either version, and no Spark job. When the delete's commit followed the plan's
      // version, the version before holds both: the rows it deleted and, the others, the delete's.
      Optional<List<StoreSample>> both = m.deleteVersion() == m.versionBefore() + 1
          ? StoreSample.readSplit(store, m.versionBefore(), m.hitShards(), m.idColumn(), m.ids(),
              settings.attackRows(), SEED)
          : Optional.empty();
      StoreSample forgottenSample = both.map(b -> b.get(0)).or(() -> StoreSample.read(store, m.versionBefore(),
          m.hitShards(), m.idColumn(), m.ids(), settings.attackRows(), SEED)).orElseGet(() -> sample(
              store.rowsMatching(m.idColumn(), m.ids(), m.hitShards(), m.versionBefore())));
      StoreSample retainedSample = both.map(b -> b.get(1)).or(() -> StoreSample.read(store, m.deleteVersion(),
          m.hitShards(), null, null, settings.attackRows(), SEED)).orElseGet(() -> sample(store.read(
              m.deleteVersion()).where(col(StoreLayout.SHARD_COLUMN).isin(m.hitShards().toArray()))));
      // The reference attack places each row in a shard by its subject: held-out rows without a
      // subject column get a made-up one (they are in no shard's training data either way).
      String subject = layout.subjectColumn();
      // One row more than the sample takes: fewer, and the sample is every held-out row.
      StoreSample drawn = sample(List.of(heldOut.columns()).contains(subject) ? heldOut
          : heldOut.withColumn(subject, monotonically_increasing_id().cast("string")), settings.attackRows() + 1);
      boolean everyHeldOutRow = drawn.count() <= settings.attackRows();
      StoreSample unseenSample = everyHeldOutRow ? drawn : new StoreSample(first(drawn.rows(), settings.attackRows()),
          settings.attackRows());
      Dataset<Row> forgotten = forgottenSample.rows();
      Dataset<Row> retained = retainedSample.rows();
      Dataset<Row> unseen = unseenSample.rows();
      long forgottenRows = forgottenSample.count();
      long retainedRows = retainedSample.count();
      long unseenRows = unseenSample.count();

      double sampled = seconds(start);
      Map<String, ShardEnsembleModel> models = Futures.join(loading, "loading the ensembles before and after");
      double loaded = seconds(start);
      List<String> notes = new ArrayList<>();
      if (m.ensembleBefore() != null && !models.containsKey("before")) {
        notes.add("the ensemble before the forget (version " + m.ensembleBefore() + ") is no longer on storage");
      }
      // Held-out rows all in the sample are scored in the driver; others as a cached query.
      Dataset<Row> evaluation = everyHeldOutRow ? unseen : heldOut;
      if (!everyHeldOutRow && !heldOut.storageLevel().useMemory()) { // the caller's cache is the caller's to drop
        evaluation = heldOut.cache();
        cached.add(evaluation);
      }
      long heldOutRows = everyHeldOutRow ? unseenRows : evaluation.count();
      Double before = models.containsKey("before") ? Evaluation.score(models.get("before"), evaluation, layout) : null;
      Double after = models.containsKey("after") ? Evaluation.score(models.get("after"), evaluation, layout) : null;

      double scored = seconds(start);
      List<Measurement> attacks = new ArrayList<>();
      UpdateEvidence update = null;
      PerExampleEvidence perExample = null;
      if (layout.task() == Task.REGRESSION) {
        notes.add("membership attacks need class probabilities; the store's task is regression");
      } else if (forgottenRows == 0 || unseenRows == 0) {
        notes.add("no forgotten rows could be read at store version " + m.versionBefore() + " or no held-out rows");
      } else {
        // The per-example test (mostly its shadow models' fitting job) runs in a thread of its own
        // beside the attacks below (mostly work in the driver).
        FutureTask<PerExampleEvidence> perExampleTest = Futures.beside("lethe-audit-per-example", () -> {
          // Not inside the caller's SQL query (a procedure): this thread's queries are their own.
          store.spark().sparkContext().setLocalProperty("spark.sql.execution.id", null);
          return perExample(m, models, forgotten, forgottenRows, retained, retainedRows, unseen);
        });
        try {
          Map<String, Dataset<Row>> populations = new LinkedHashMap<>();
          populations.put("forgotten", forgotten);
          if (retainedRows > 0) { // the hit shards may have no rows left
            populations.put("retained", retained);
          }
          boolean referenceNoted = false;
          MembershipAttack.Population tagged = MembershipAttack.population(populations, unseen, layout);
          for (Map.Entry<String, ShardEnsembleModel> model : models.entrySet()) {
            boolean reference = MembershipAttack.referenceApplies(model.getValue());
            if (!reference && !referenceNoted) {
              notes.add("the reference attack needs 3 or more shards of probabilistic sub-models");
              referenceNoted = true;
            }
            List<String> runs = reference ? List.of("threshold", "reference") : List.of("threshold");
            for (String attack : runs) {
              MembershipAttack.against(attack, model.getValue(), tagged, layout)
                  .forEach((population, result) -> attacks.add(new Measurement(population, model.getKey(), result)));
            }
          }
          // Where the audit's time goes, for whoever profiles it (counts and seconds only).
          LOG.info("Forget batch {}: samples of {} forgotten, {} retained and {} unseen rows drawn in {} s, the"
              + " ensembles before and after read {} s later, their held-out {} in {} s, the membership attacks in {} s",
              m.batchId(), forgottenRows, retainedRows, unseenRows, String.format("%.2f", sampled),
              String.format("%.2f", loaded - sampled), Evaluation.metricName(layout),
              String.format("%.2f", scored - loaded), String.format("%.2f", seconds(start) - scored));
          if (models.containsKey("before") && models.containsKey("after") && retainedRows > 1) {
            long updateStart = System.nanoTime();
            update = update(m, models.get("before"), models.get("after"), forgotten, forgottenRows, retained,
                retainedRows, cached);
            LOG.info("Forget batch {}: the difference attack on the update and its control took {} s", m.batchId(),
                String.format("%.2f", seconds(updateStart)));
          }
        } catch (RuntimeException | Error e) {
          // The attacks' failure is the one to report; none of the test's work outlives the audit.
          Futures.await(perExampleTest);
          throw e;
        }
        perExample = Futures.join(perExampleTest, "running the per-example test");
      }
      return new ForgetEvidence(ForgetEvidence.FORMAT_VERSION, m.batchId(), Instant.now().toString(),
          m.versionBefore(), m.deleteVersion(), m.ensembleBefore(), m.ensembleAfter(), forgottenRows, retainedRows,
          unseenRows, Evaluation.metricName(layout), heldOutRows, before, after, attacks,
          notes.isEmpty() ? null : String.join("; ", notes), update, perExample);
    } finally {
      cached.forEach(Dataset::unpersist);
    }
  }

  private static double seconds(long since) {
    return (System.nanoTime() - since) / 1e9;
  }

  /**
   * The ensembles before and after the forget that are on storage, by "before" and "after"; the
   * sub-models they share (all but the retrained shards') read once.
   */
  private Map<String, ShardEnsembleModel> ensembles(Moment m) {
    Map<String, ShardEnsembleModel> models = new LinkedHashMap<>();
    Map<Path, PipelineModel> read = new java.util.HashMap<>();
    if (m.ensembleBefore() != null) {
      try {
        models.put("before", ShardEnsembleModel.load(registry, m.ensembleBefore(), read));
      } catch (RuntimeException gone) { // a resumed run: an earlier run retired it already
      }
    }
    if (m.ensembleAfter() != null) {
      models.put("after", ShardEnsembleModel.load(registry, m.ensembleAfter(), read));
    }
    return models;
  }

  /**
   * The difference attack on the forget's update, and on a control update of the same shards that
   * removes as many random retained people as the forget removed rows, fitted in tasks at the
   * delete's version ({@link DifferenceAttack#onRemoval}). The control removes no forgotten row and
   * keeps no model it builds. Where the shards cannot be fitted in tasks, the control is left out
   * and the note says so.
   */
  private UpdateEvidence update(ForgetAudit.Moment m, ShardEnsembleModel before, ShardEnsembleModel after,
      Dataset<Row> forgotten, long forgottenRows, Dataset<Row> retained, long retainedRows, List<Dataset<Row>> cached) {
    StoreLayout layout = store.layout();
    List<AttackResult> real = DifferenceAttack.run(before, after, forgotten, retained, layout);
    String subject = layout.subjectColumn();
    int removing = (int) Math.min(forgottenRows, retainedRows / 2);
    int at = List.of(retained.columns()).indexOf(subject);
    Dataset<Row> removed;
    List<Object> people;
    Dataset<Row> kept;
    if (retained.isLocal()) { // the sample in the driver: the random people drawn there, no Spark job
      List<Row> rows = new ArrayList<>(retained.collectAsList());
      java.util.Collections.shuffle(rows, new java.util.Random(SEED + 1));
      List<Row> drawn = rows.subList(0, Math.min(removing, rows.size()));
      people = drawn.stream().map(r -> r.get(at)).distinct().toList();
      java.util.Set<Object> gone = new java.util.HashSet<>(people);
      removed = store.spark().createDataFrame(drawn, retained.schema());
      kept = store.spark().createDataFrame(rows.stream().filter(r -> !gone.contains(r.get(at))).toList(),
          retained.schema());
    } else {
      removed = retained.orderBy(rand(SEED + 1)).limit(removing).cache();
      cached.add(removed);
      people = removed.select(subject).distinct().collectAsList().stream().map(r -> r.get(0)).toList();
      kept = retained.where(col(subject).isin(people.toArray()).unary_$bang());
    }
    Optional<List<AttackResult>> control = DifferenceAttack.onRemoval(store, training, after, m.deleteVersion(),
        people, removed, kept);
    return control.map(c -> new UpdateEvidence(real, c, null)).orElseGet(() -> new UpdateEvidence(real, List.of(),
        "no control: the hit shards of " + training.estimator() + " cannot be fitted in tasks"));
  }

  /**
   * The per-example test ({@link PerExampleAttack}) when the batch is small enough to afford it (at
   * most verify.per-example-rows forgotten rows), with as many retained and never-seen rows: null
   * when it is not asked for, a note when it cannot run.
   */
  private PerExampleEvidence perExample(ForgetAudit.Moment m, Map<String, ShardEnsembleModel> models,
      Dataset<Row> forgotten, long forgottenRows, Dataset<Row> retained, long retainedRows, Dataset<Row> unseen) {
    int rows = settings.perExampleRows();
    if (rows == 0 || forgottenRows > rows || !models.containsKey("after")) {
      return null;
    }
    if (retainedRows == 0) {
      return PerExampleEvidence.skipped("the hit shards have no rows left to control the per-example test with");
    }
    PerExampleEvidence e = PerExampleAttack.run(store, training, models.get("before"), models.get("after"),
        m.deleteVersion(), m.hitShards(), forgotten, first(retained, rows), first(unseen, rows), settings.shadowModels());
    LOG.info("Forget batch {}: the per-example test on {} forgotten rows with {} shadow models a hit shard took {} s{}",
        m.batchId(), forgottenRows, e.shadowModels(), String.format("%.2f", e.seconds()),
        e.note() == null ? "" : " (" + e.note() + ")");
    return e;
  }

  /** The first rows of a sample, still a local relation when it is one (so read in the driver). */
  private Dataset<Row> first(Dataset<Row> rows, int n) {
    if (!rows.isLocal()) {
      return rows.limit(n);
    }
    List<Row> all = rows.collectAsList();
    return all.size() <= n ? rows : store.spark().createDataFrame(all.subList(0, n), rows.schema());
  }

  /**
   * At most verify.attack-rows rows, drawn at random with a fixed seed, held in the driver as a
   * local relation (the shard left out).
   */
  private StoreSample sample(Dataset<Row> rows) {
    return sample(rows, settings.attackRows());
  }

  /** At most {@code limit} rows, drawn as {@link #sample(Dataset)} draws them. */
  private StoreSample sample(Dataset<Row> rows, int limit) {
    Dataset<Row> drawn = rows.drop(StoreLayout.SHARD_COLUMN).orderBy(rand(SEED)).limit(limit);
    List<Row> held = drawn.collectAsList();
    return new StoreSample(store.spark().createDataFrame(held, drawn.schema()), held.size());
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
