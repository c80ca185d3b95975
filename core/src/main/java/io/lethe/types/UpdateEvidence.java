package io.lethe.types;

import io.lethe.Evolving;
import java.util.List;

/**
 * What a published update gives away to an observer who holds the ensemble before and after it:
 * the difference attack of Chen et al. ("When Machine Unlearning Jeopardizes Privacy", CCS 2021),
 * which compares the two ensembles' class probabilities on rows the observer knows and singles out
 * the rows the update removed. One result per feature of the paper: {@code distance} (L2 between
 * the two probability vectors), {@code difference} (the drop in the probability of the row's true
 * label) and {@code sorted-difference} (L2 between the two vectors sorted). Members are the removed
 * rows, non-members kept rows of the same shards. Aggregates only.
 *
 * @param forgotten the attacks on the forget's update: the forgotten rows among the hit shards' kept rows
 * @param control the same attacks on a control update of the same shards that removes as many random
 *     kept people (their sub-models fitted again without them, in memory, and dropped): rows known to
 *     be removed, so a high AUC there shows the attack has power on these models
 * @param note why the control or the attacks are missing, if they are (null when all ran)
 */
@Evolving
public record UpdateEvidence(List<AttackResult> forgotten, List<AttackResult> control, String note) {
  public UpdateEvidence {
    forgotten = List.copyOf(forgotten);
    control = List.copyOf(control);
  }
}
