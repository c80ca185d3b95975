package io.lethe.types;

import io.lethe.Evolving;
import java.util.List;

/**
 * How well an attack tells members from non-members.
 *
 * @param auc area under the ROC curve: 0.5 is chance, 1.0 tells every member
 * @param tprAtFpr1Percent share of members caught when 1% of non-members are wrongly flagged
 * @param tprAtFpr01Percent the same at 0.1%
 * @param roc (false-positive rate, true-positive rate) points, for a chart
 */
@Evolving
public record AttackResult(String attack, long members, long nonMembers, double auc, double tprAtFpr1Percent,
    double tprAtFpr01Percent, List<double[]> roc) {}
