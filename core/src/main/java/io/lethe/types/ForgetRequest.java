package io.lethe.types;

import io.lethe.Evolving;
import io.lethe.InvalidRequestException;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * A batch of ids to forget: data subjects (every row of each) or single records. Ids are kept in
 * memory only: they never reach a plan, a result, a summary, the ledger or a log. Duplicates
 * collapse; null or blank ids are refused.
 */
@Evolving
public final class ForgetRequest {
  private final IdKind kind;
  private final Set<String> ids;

  private ForgetRequest(IdKind kind, Set<String> ids) {
    this.kind = kind;
    this.ids = Set.copyOf(ids);
  }

  public static ForgetRequest ofSubjects(Collection<String> ids) {
    return of(IdKind.SUBJECT, ids);
  }

  public static ForgetRequest ofRecords(Collection<String> ids) {
    return of(IdKind.RECORD, ids);
  }

  public static ForgetRequest of(IdKind kind, Collection<String> ids) {
    Set<String> clean = new LinkedHashSet<>();
    int n = 0;
    for (String id : ids) {
      n++;
      if (id == null || id.isBlank()) {
        throw new InvalidRequestException("Id number " + n + " of the batch is " + (id == null ? "null" : "empty")
            + "; a forget batch lists one " + kind.id() + " id per entry");
      }
      clean.add(id.trim());
    }
    return new ForgetRequest(kind, clean);
  }

  public IdKind kind() {
    return kind;
  }

  public Set<String> ids() {
    return ids;
  }


  public int size() {
    return ids.size();
  }

  @Override
  public String toString() {
    return "ForgetRequest[" + ids.size() + " " + kind.id() + " ids]";
  }
}
