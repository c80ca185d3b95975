package io.lethe.types;

import io.lethe.Evolving;
import java.util.List;

/**
 * The per-example membership test of a forget run: LiRA (Carlini et al., "Membership Inference
 * Attacks From First Principles", S&amp;P 2022) with shadow models fitted with and without each
 * tested row, so that each row is judged against its own pair of distributions (as U-LiRA, Hayes et
 * al., SaTML 2025, asks of an unlearning test). The rows tested: the forgotten ones (members of the
 * ensemble before, not after), retained rows of the hit shards (members of both: the control) and
 * never-seen rows. Aggregates only: counts, AUCs, rates and ROC points; no row, id or per-row score.
 *
 * @param shadowModels shadow models fitted of each hit shard (in memory, then dropped), in pairs: each
 *     on a random share of the shard's own rows, one with half of the rows tested against the shard
 *     and one with the other half, so each tested row has half of them with it and half without
 * @param seconds what the test cost: the shadow fits, the scoring and the arithmetic
 * @param attacks the test ("lira") on the forgotten rows before and after, and on the retained rows
 *     after (the control), each against the never-seen rows scored by the same target sub-models
 * @param likelierMember per population ("forgotten", "retained", "unseen") and model, how many
 *     tested rows the test finds likelier members than not (a likelihood ratio above 1)
 * @param note why the test did not run, if it did not (null when it ran)
 */
@Evolving
public record PerExampleEvidence(int shadowModels, double seconds, List<ForgetEvidence.Measurement> attacks,
    List<Count> likelierMember, String note) {
  public PerExampleEvidence {
    attacks = List.copyOf(attacks);
    likelierMember = List.copyOf(likelierMember);
  }

  /** Why the test did not run: no figures. */
  public static PerExampleEvidence skipped(String note) {
    return new PerExampleEvidence(0, 0, List.of(), List.of(), note);
  }

  /**
   * Of {@code rows} tested rows of a population, how many the test finds likelier members than not.
   *
   * @param model "before" or "after" the forget
   */
  public record Count(String population, String model, long rows, long likelierMember) {}
}
