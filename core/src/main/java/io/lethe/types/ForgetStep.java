package io.lethe.types;

import io.lethe.Evolving;
import java.util.Locale;

/** The steps of a forget request, in the order a forget run takes them. */
@Evolving
public enum ForgetStep {
  /** The request is recorded: from here on it cannot be lost. */
  RECEIVE,
  /** Its rows and shards are known (no change yet). */
  PLAN,
  /** Its rows are deleted from the current store version. */
  DELETE,
  /** The shards that held them are retrained on a version without them. */
  RETRAIN,
  /** An ensemble without any sub-model that saw them is published. */
  PUBLISH,
  /** Sub-models and ensemble versions trained on them are deleted from storage. */
  RETIRE,
  /** Files that still hold them (deletion-vector files, old versions, change data) are deleted. */
  PURGE,
  /** Forgotten: every copy is gone. */
  COMPLETE;

  public String id() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static ForgetStep parse(String id) {
    return valueOf(id.toUpperCase(Locale.ROOT));
  }

  /** How far a step's event sits in a request's history: later steps, and done after started. */
  public int rank(Phase phase) {
    return ordinal() * 10 + phase.ordinal();
  }

  /** Where a request stands within a step. */
  public enum Phase {
    STARTED, FAILED, PENDING, DONE;

    public String id() {
      return name().toLowerCase(Locale.ROOT);
    }

    public static Phase parse(String id) {
      return valueOf(id.toUpperCase(Locale.ROOT));
    }
  }
}
