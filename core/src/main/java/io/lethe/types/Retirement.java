package io.lethe.types;

import io.lethe.Evolving;
import java.util.List;

/**
 * Artifacts deleted from the registry because they were trained on rows that are deleted now.
 * Stored as {@code retired/<time>-<batch>.json} before any file is deleted, so the registry says
 * what was retired and why even if the deletion is interrupted (a re-run finishes it).
 *
 * @param retiredAt when (ISO-8601)
 * @param batchId the forget run that retired them
 * @param reason why, in words
 * @param ensembleVersions ensemble versions deleted
 * @param subModels sub-model directories deleted, relative to the registry root
 */
@Evolving
public record Retirement(String retiredAt, String batchId, String reason, List<Long> ensembleVersions,
    List<String> subModels) {

  public Retirement {
    ensembleVersions = List.copyOf(ensembleVersions);
    subModels = List.copyOf(subModels);
  }

  public boolean isEmpty() {
    return ensembleVersions.isEmpty() && subModels.isEmpty();
  }
}
