package io.lethe.api;

import io.lethe.Evolving;
import io.lethe.InvalidRequestException;
import io.lethe.LetheConfig;
import io.lethe.internal.run.HadoopFiles;
import io.lethe.internal.verify.Verifier;
import io.lethe.internal.verify.VerifyPage;
import io.lethe.internal.verify.VerifySettings;
import io.lethe.types.ForgetRequest;
import io.lethe.types.VerifyReport;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * Evidence that a forget batch (the latest by default), or a set of ids, is forgotten: every check
 * of verify, as a report. The report says whether it passed; it is not an exception when a check fails.
 */
@Evolving
public final class Verify {
  private final Lethe lethe;
  private String batchId;
  private ForgetRequest ids;
  private Dataset<Row> heldOut;
  private boolean heldOutResolved;

  Verify(Lethe lethe) {
    this.lethe = lethe;
  }

  /** Verify this forget batch. */
  public Verify batch(String id) {
    this.batchId = id;
    return this;
  }

  /** Verify these ids, whatever batches forgot them, instead of a batch. */
  public Verify ids(ForgetRequest request) {
    this.ids = request;
    return this;
  }

  /** Held-out rows (with the label column) for the retrain agreement and utility; default: the configured verify.test, else a sample of the store. */
  public Verify heldOut(Dataset<Row> rows) {
    this.heldOut = rows;
    this.heldOutResolved = true;
    return this;
  }

  /** The held-out rows it evaluates on: those given, else the configured verify.test (read once), else null. */
  public Dataset<Row> heldOutRows() {
    if (!heldOutResolved) {
      heldOut = VerifySettings.from(lethe.config()).testSource().map(s -> s.read(lethe.spark())).orElse(null);
      heldOutResolved = true;
    }
    return heldOut;
  }

  /**
   * What a verify run will check.
   *
   * @param batchId the forget batch it verifies (the latest by default), or null when it verifies ids
   * @param ids how many ids it verifies, whatever batches forgot them (0 for a batch)
   * @param heldOut whether held-out rows measure the models' utility (else a sample of the store)
   */
  public record Plan(String batchId, int ids, boolean heldOut) {}

  /** What it will verify; changes nothing. */
  public Plan plan() {
    if (ids != null && batchId != null) {
      throw new InvalidRequestException("Give one of a batch and a set of ids to verify");
    }
    return new Plan(ids != null ? null : batchId != null ? batchId : lethe.internals().verifier().latestBatch(),
        ids == null ? 0 : ids.size(), heldOut != null || VerifySettings.from(lethe.config()).testSource().isPresent());
  }

  public VerifyReport execute() {
    String batch = plan().batchId();
    Verifier verifier = lethe.internals().verifier();
    return ids != null ? verifier.verify(ids, heldOutRows()) : verifier.verify(batch, heldOutRows());
  }

  /** Where a report was written: its JSON and its self-contained HTML page. */
  public record Written(String json, String html) {}

  /**
   * Writes a report under {@code verify.path}, as the verify job does: the JSON (schema:
   * docs/verify-report.schema.json) and a self-contained HTML page.
   */
  public Written write(VerifyReport report) {
    VerifyPage.Written written = VerifyPage.write(new HadoopFiles(lethe.spark().sparkContext().hadoopConfiguration()),
        lethe.config().get(LetheConfig.VERIFY_PATH), report);
    return new Written(written.json().toString(), written.html().toString());
  }
}
