package io.lethe.forget;

import io.lethe.LetheException;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * A batch of data subjects to forget, by subject id. Ids are kept in memory only: they never reach a
 * plan, a result, a summary or a log. Duplicates collapse; blank ids are refused.
 */
public final class ForgetRequest {
  private final Set<String> subjectIds;

  private ForgetRequest(Set<String> subjectIds) {
    this.subjectIds = Set.copyOf(subjectIds);
  }

  public static ForgetRequest ofSubjects(Collection<String> ids) {
    Set<String> clean = new LinkedHashSet<>();
    int line = 0;
    for (String id : ids) {
      line++;
      if (id == null || id.isBlank()) {
        throw new LetheException("Subject id number " + line + " of the batch is empty; a forget batch lists one id per entry");
      }
      clean.add(id.trim());
    }
    return new ForgetRequest(clean);
  }

  public Set<String> subjectIds() {
    return subjectIds;
  }

  public int size() {
    return subjectIds.size();
  }

  @Override
  public String toString() {
    return "ForgetRequest[" + subjectIds.size() + " subjects]";
  }
}
