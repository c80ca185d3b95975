package io.lethe.sql;

import static org.apache.spark.sql.types.DataTypes.BooleanType;
import static org.apache.spark.sql.types.DataTypes.DoubleType;
import static org.apache.spark.sql.types.DataTypes.IntegerType;
import static org.apache.spark.sql.types.DataTypes.LongType;
import static org.apache.spark.sql.types.DataTypes.StringType;
import static org.apache.spark.sql.types.DataTypes.TimestampType;

import io.lethe.InvalidRequestException;
import io.lethe.LetheConfig;
import io.lethe.api.Lethe;
import io.lethe.api.Status;
import io.lethe.internal.forget.IdFile;
import io.lethe.internal.ledger.LedgerKey;
import io.lethe.internal.run.HadoopFiles;
import io.lethe.internal.verify.VerifyPage;
import io.lethe.internal.verify.VerifySettings;
import io.lethe.types.ForgetPlan;
import io.lethe.types.ForgetRequest;
import io.lethe.types.ForgetResult;
import io.lethe.types.IdKind;
import io.lethe.types.LedgerSummary;
import io.lethe.types.PurgeReport;
import io.lethe.types.VerifyReport;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.connector.catalog.procedures.ProcedureParameter;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Lethe's SQL procedures, in {@code <catalog>.system}: forget, status, requests, verify, purge.
 * Each does what the job of the same name does and returns counts, versions, request ids (random)
 * and findings: never an id or a keyed hash.
 */
final class Procedures {
  private Procedures() {}

  static List<LetheProcedure> all(LetheConfig config) {
    return List.of(new Forget(config), new StatusProcedure(config), new Requests(config), new Verify(config),
        new Purge(config));
  }

  private static List<List<Object>> one(Object... values) {
    return List.of(Arrays.asList(values));
  }

  private static double seconds(long startNanos) {
    return (System.nanoTime() - startNanos) / 1e9;
  }

  /**
   * {@code forget(ids => array(...) | ids_file => '...', by => 'subject', dry_run => false, new_only =>
   * false, max_ids => 1000000)}.
   */
  static final class Forget extends LetheProcedure {
    Forget(LetheConfig config) {
      super("forget", "Forgets a batch of subjects (or records): ledger, delete, retrain the hit shards, publish,"
          + " retire, purge. dry_run => true returns the plan and changes nothing.", config);
    }

    @Override
    public ProcedureParameter[] parameters() {
      return new ProcedureParameter[] {
          optional("ids", DataTypes.createArrayType(StringType), "NULL", "the ids, as an array of strings"),
          optional("ids_file", StringType, "NULL", "or a file or table of ids (text, CSV, JSON lines, Parquet, Delta)"),
          optional("ids_format", StringType, "'auto'", "auto, text, csv, json, parquet or delta"),
          optional("ids_column", StringType, "NULL", "the id column of a CSV, JSON, Parquet or Delta id file"),
          optional("by", StringType, "'subject'", "subject or record"),
          optional("dry_run", BooleanType, "false", "return the plan only"),
          optional("new_only", BooleanType, "false", "take from ids_file only the ids no request of the ledger holds"
              + " (but those held for a batch)"),
          optional("max_ids", IntegerType, String.valueOf(IdFile.MAX_IDS), "with new_only, the most ids a call takes")};
    }

    @Override
    StructType output() {
      return new StructType().add("batch_id", StringType).add("dry_run", BooleanType).add("requested", IntegerType)
          .add("found", LongType).add("not_found", LongType).add("already_forgotten", LongType)
          .add("rows_deleted", LongType).add("shards_retrained", DataTypes.createArrayType(IntegerType))
          .add("store_version", LongType).add("ensemble_version", LongType).add("forgotten", LongType)
          .add("purge_pending", LongType).add("held", LongType).add("seconds", DoubleType);
    }

    @Override
    List<List<Object>> run(Lethe lethe, Arguments args) {
      long start = System.nanoTime();
      List<String> ids = args.strings("ids");
      String file = args.string("ids_file");
      if ((ids == null) == (file == null)) {
        throw new InvalidRequestException("forget takes one of ids => array('id', ...) and ids_file => 'path or table'");
      }
      IdKind kind = IdKind.parse(args.string("by"));
      ForgetRequest request;
      if (args.flag("new_only")) {
        if (file == null) {
          throw new InvalidRequestException("forget's new_only => true reads ids_file => 'path or table'");
        }
        request = IdFile.readNew(lethe.spark(), file, args.string("ids_format"), args.string("ids_column"), kind,
            lethe.internals().ledger(), LedgerKey.from(lethe.config()), args.integer("max_ids", IdFile.MAX_IDS)).request();
      } else {
        request = ids != null ? ForgetRequest.of(kind, ids)
            : IdFile.read(lethe.spark(), file, args.string("ids_format"), args.string("ids_column"), kind);
      }
      boolean dryRun = args.flag("dry_run");
      io.lethe.api.Forget forget = lethe.forget(request).membershipAudit(!dryRun);
      if (dryRun) {
        ForgetPlan p = forget.plan();
        return one(null, true, p.requested(), p.found(), p.notFound(), p.alreadyForgotten(), p.rowsToDelete(),
            p.shardsToRetrain(), p.storeVersion(), p.ensembleVersion(), 0L, 0L, p.held(), seconds(start));
      }
      ForgetResult r = forget.execute();
      ForgetPlan p = r.plan();
      return one(r.batchId(), false, p.requested(), p.found(), p.notFound(), p.alreadyForgotten(), p.rowsToDelete(),
          r.retrainedShards(), r.storeVersion(), r.ensembleVersion(), r.forgotten(), r.purgePending(), p.held(),
          seconds(start));
    }
  }

  /** {@code status()}: the store, the published ensemble and the ledger, in one row. */
  static final class StatusProcedure extends LetheProcedure {
    StatusProcedure(LetheConfig config) {
      super("status", "The store, the published ensemble and the forget requests at a glance, in one row.", config);
    }

    @Override
    public ProcedureParameter[] parameters() {
      return new ProcedureParameter[0];
    }

    @Override
    StructType output() {
      return new StructType().add("store_version", LongType).add("shards", IntegerType).add("rows", LongType)
          .add("ensemble_version", LongType).add("stale_shards", DataTypes.createArrayType(IntegerType))
          .add("forgotten", LongType).add("not_found", LongType).add("purge_pending", LongType)
          .add("in_progress", LongType).add("held", LongType).add("failed", LongType).add("overdue", LongType);
    }

    @Override
    List<List<Object>> run(Lethe lethe, Arguments args) {
      Status.Report s = lethe.status().execute();
      LedgerSummary l = s.ledger();
      long rows = s.rowsPerShard().values().stream().mapToLong(Long::longValue).sum();
      return one(s.storeVersion(), s.layout().shards(), rows,
          s.published() == null ? null : s.published().version(), s.staleShards(),
          l.requestsByStatus().getOrDefault("forgotten", 0L), l.requestsByStatus().getOrDefault("not-found", 0L),
          l.requestsByStatus().getOrDefault("purge-pending", 0L), l.requestsByStatus().getOrDefault("in-progress", 0L),
          l.requestsByStatus().getOrDefault("held", 0L), l.requestsByStatus().getOrDefault("failed", 0L), l.overdue());
    }
  }

  /** {@code requests(overdue_only => false)}: every open request, oldest first. */
  static final class Requests extends LetheProcedure {
    Requests(LetheConfig config) {
      super("requests", "The open forget requests (not complete), oldest first, by random request id: status,"
          + " deadline, whether overdue, and when a pending purge can run.", config);
    }

    @Override
    public ProcedureParameter[] parameters() {
      return new ProcedureParameter[] {
          optional("overdue_only", BooleanType, "false", "only requests past their deadline")};
    }

    @Override
    StructType output() {
      return new StructType().add("request_id", StringType).add("status", StringType)
          .add("received_at", TimestampType).add("deadline", TimestampType).add("overdue", BooleanType)
          .add("purge_after", TimestampType);
    }

    @Override
    List<List<Object>> run(Lethe lethe, Arguments args) {
      boolean overdueOnly = args.flag("overdue_only");
      List<List<Object>> rows = new ArrayList<>();
      for (LedgerSummary.OpenRequest r : lethe.internals().ledger().summary(java.time.Instant.now()).open()) {
        if (!overdueOnly || r.overdue()) {
          rows.add(Arrays.asList(r.requestId(), r.status(), r.receivedAt(), r.deadline(), r.overdue(), r.purgeAfter()));
        }
      }
      return rows;
    }
  }

  /** {@code verify(batch => NULL)}: one row per check of the batch (the latest by default). */
  static final class Verify extends LetheProcedure {
    Verify(LetheConfig config) {
      super("verify", "Verifies a forget batch (the latest by default): one row per check, with its status"
          + " (passed, pending or failed) and finding. Writes the JSON and HTML report under verify.path.", config);
    }

    @Override
    public ProcedureParameter[] parameters() {
      return new ProcedureParameter[] {optional("batch", StringType, "NULL", "the batch id; the latest when NULL")};
    }

    @Override
    StructType output() {
      return new StructType().add("batch_id", StringType).add("check", StringType).add("status", StringType)
          .add("finding", StringType).add("report", StringType);
    }

    @Override
    List<List<Object>> run(Lethe lethe, Arguments args) {
      io.lethe.api.Verify verify = lethe.verify();
      String batch = args.string("batch");
      if (batch != null) {
        verify.batch(batch);
      }
      VerifyReport report = verify.execute();
      String html = VerifyPage.write(new HadoopFiles(lethe.spark().sparkContext().hadoopConfiguration()),
          VerifySettings.from(lethe.config()).path(), report).html().toString();
      List<List<Object>> rows = new ArrayList<>();
      for (VerifyReport.Check c : report.checks()) {
        rows.add(Arrays.asList(report.batchId(), c.id(), c.status(), c.finding(), html));
      }
      return rows;
    }
  }

  /** {@code purge()}: purges the store for requests already gone from the model. */
  static final class Purge extends LetheProcedure {
    Purge(LetheConfig config) {
      super("purge", "REORG ... APPLY (PURGE) of the shards whose requests wait for a purge, VACUUM with"
          + " purge.retention-hours, and marks the requests whose rows are gone from storage forgotten.", config);
    }

    @Override
    public ProcedureParameter[] parameters() {
      return new ProcedureParameter[0];
    }

    @Override
    StructType output() {
      return new StructType().add("forgotten", LongType).add("still_pending", LongType)
          .add("shards", DataTypes.createArrayType(IntegerType)).add("files_deleted", LongType)
          .add("seconds", DoubleType);
    }

    @Override
    List<List<Object>> run(Lethe lethe, Arguments args) {
      long start = System.nanoTime();
      PurgeReport r = lethe.purge().execute();
      return one(r.forgotten(), r.pending(), r.store() == null ? List.of() : r.store().shards(),
          r.store() == null ? null : r.store().filesDeleted(), seconds(start));
    }
  }
}
