package io.lethe;

import com.networknt.schema.Error;
import com.networknt.schema.InputFormat;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.List;

/** The verify report's published JSON Schema (docs/verify-report.schema.json), as a validator. */
final class ReportSchema {
  private static Schema schema;

  private ReportSchema() {}

  /** The schema's complaints about a report's JSON: empty when it conforms. */
  static synchronized List<String> errors(String json) {
    if (schema == null) {
      try {
        schema = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12)
            .getSchema(Files.readString(LetheTestBase.home().resolve("docs/verify-report.schema.json")));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return schema.validate(json, InputFormat.JSON).stream().map(Error::toString).toList();
  }
}
