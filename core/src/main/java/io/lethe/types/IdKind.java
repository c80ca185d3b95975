package io.lethe.types;

import io.lethe.Evolving;
import io.lethe.InvalidRequestException;
import java.util.Locale;

/** What the ids of a forget request name: data subjects (all their rows) or single records. */
@Evolving
public enum IdKind {
  SUBJECT, RECORD;

  public String id() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static IdKind parse(String id) {
    for (IdKind k : values()) {
      if (k.id().equals(id.trim().toLowerCase(Locale.ROOT))) {
        return k;
      }
    }
    throw new InvalidRequestException("Unknown id kind '" + id + "': use subject or record");
  }
}
