package io.lethe.sql;

import io.lethe.Evolving;
import io.lethe.LetheConfig;
import io.lethe.LetheException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.connector.catalog.Identifier;
import org.apache.spark.sql.connector.catalog.ProcedureCatalog;
import org.apache.spark.sql.connector.catalog.procedures.UnboundProcedure;
import org.apache.spark.sql.util.CaseInsensitiveStringMap;

/**
 * Lethe's SQL procedures, for SQL, PySpark and Scala users: register the catalog once, then
 * {@code CALL lethe.system.forget(ids => array('a', 'b'))}, {@code status()}, {@code requests()},
 * {@code verify(batch => ...)} and {@code purge()}, each returning a small result table.
 *
 * <pre>
 * spark.sql.catalog.lethe=io.lethe.sql.LetheCatalog
 * spark.sql.catalog.lethe.conf=/etc/lethe/lethe.properties      (optional; else $LETHE_CONF)
 * spark.sql.catalog.lethe.store.path=...                         (any Lethe key overrides the file)
 * </pre>
 *
 * The catalog's options are Lethe configuration keys ({@code conf/lethe.properties}). The ledger
 * key comes from {@code $LETHE_LEDGER_KEY} in the driver's environment, as for the jobs: a catalog
 * option is Spark configuration, shown in the Spark UI. Procedures run in the driver when the
 * statement is analysed, like every Spark procedure, on the active session.
 */
@Evolving
public final class LetheCatalog implements ProcedureCatalog {
  static final String NAMESPACE = "system";
  static final String CONF_OPTION = "conf";

  private String name;
  private LetheConfig config;

  @Override
  public void initialize(String catalogName, CaseInsensitiveStringMap options) {
    this.name = catalogName;
    Map<String, String> overrides = new LinkedHashMap<>(options.asCaseSensitiveMap());
    String file = overrides.remove(CONF_OPTION);
    if (overrides.containsKey(LetheConfig.LEDGER_KEY)) {
      throw new LetheException("spark.sql.catalog." + catalogName + "." + LetheConfig.LEDGER_KEY + " would put the"
          + " ledger key into Spark's configuration, shown in the Spark UI: set $" + LetheConfig.LEDGER_KEY_ENV
          + " in the driver's environment instead");
    }
    this.config = LetheConfig.load(file != null ? file : System.getenv("LETHE_CONF"), overrides);
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public String[] defaultNamespace() {
    return new String[] {NAMESPACE};
  }

  @Override
  public UnboundProcedure loadProcedure(Identifier ident) {
    if (Arrays.equals(ident.namespace(), new String[] {NAMESPACE})) {
      for (LetheProcedure p : procedures()) {
        if (p.name().equalsIgnoreCase(ident.name())) {
          return p;
        }
      }
    }
    throw new LetheException("No procedure " + name + "." + String.join(".", ident.namespace()) + "." + ident.name()
        + ": Lethe's are " + name + "." + NAMESPACE + "." + String.join(", ", procedures().stream()
            .map(LetheProcedure::name).toList()));
  }

  @Override
  public Identifier[] listProcedures(String[] namespace) {
    if (namespace.length > 0 && !Arrays.equals(namespace, new String[] {NAMESPACE})) {
      return new Identifier[0];
    }
    return procedures().stream().map(p -> Identifier.of(new String[] {NAMESPACE}, p.name())).toArray(Identifier[]::new);
  }

  private List<LetheProcedure> procedures() {
    return Procedures.all(config);
  }
}
