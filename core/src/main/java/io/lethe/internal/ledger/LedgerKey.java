package io.lethe.internal.ledger;

import io.lethe.InvalidConfigException;
import io.lethe.LetheConfig;
import io.lethe.LetheException;
import io.lethe.internal.run.HadoopFiles;
import io.lethe.types.IdKind;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;

/**
 * The secret that turns a subject or record id into the keyed hash the ledger stores:
 * HMAC-SHA256(key, kind + ":" + id) in lowercase hex, e.g. for subject 42 the HMAC of "subject:42".
 * Whoever holds the key can check whether an id was forgotten; the ledger alone reveals no id.
 */
public final class LedgerKey implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final String ALGORITHM = "HmacSHA256";
  private static final int MIN_LENGTH = 16;

  private final SecretKeySpec key;
  private transient volatile ThreadLocal<Mac> macs;

  private LedgerKey(String secret) {
    if (secret.length() < MIN_LENGTH) {
      throw new InvalidConfigException("The ledger key must have at least " + MIN_LENGTH + " characters");
    }
    this.key = new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), ALGORITHM);
  }

  public static LedgerKey of(String secret) {
    return new LedgerKey(secret);
  }

  /**
   * The key from $LETHE_LEDGER_KEY, else from the file at ledger.key-file (a local or Hadoop path:
   * a mounted Kubernetes secret, a file readable only by the job's user), else from ledger.key;
   * none set is an error.
   */
  public static LedgerKey from(LetheConfig config) {
    String env = System.getenv(LetheConfig.LEDGER_KEY_ENV);
    String file = config.get(LetheConfig.LEDGER_KEY_FILE);
    String secret = env != null && !env.isEmpty() ? env
        : !file.isEmpty() ? readKeyFile(file) : config.get(LetheConfig.LEDGER_KEY);
    if (secret.isEmpty()) {
      throw new InvalidConfigException("No ledger key: set the environment variable " + LetheConfig.LEDGER_KEY_ENV
          + " (or " + LetheConfig.LEDGER_KEY_FILE + ", or " + LetheConfig.LEDGER_KEY
          + "); the ledger stores ids only as HMACs under it");
    }
    return new LedgerKey(secret);
  }

  private static String readKeyFile(String location) {
    org.apache.hadoop.conf.Configuration conf = org.apache.spark.sql.SparkSession.getActiveSession().isDefined()
        ? org.apache.spark.sql.SparkSession.getActiveSession().get().sparkContext().hadoopConfiguration()
        : new org.apache.hadoop.conf.Configuration();
    HadoopFiles files = new HadoopFiles(conf);
    org.apache.hadoop.fs.Path path = files.qualify(location);
    if (!files.exists(path)) {
      throw new InvalidConfigException(LetheConfig.LEDGER_KEY_FILE + " names " + location + ", which does not exist");
    }
    String secret = files.readString(path).strip();
    if (secret.isEmpty()) {
      throw new InvalidConfigException("The ledger key file " + location + " is empty");
    }
    return secret;
  }

  /**
   * A fingerprint of the key, recorded in the ledger's table properties so that a run with another
   * key stops instead of hashing ids that match nothing: the first 16 hex digits of the key's HMAC
   * of a fixed text. It tells keys apart and reveals nothing of the key.
   */
  public String fingerprint() {
    return HexFormat.of().formatHex(mac().doFinal("lethe:ledger-key-fingerprint".getBytes(StandardCharsets.UTF_8)))
        .substring(0, 16);
  }

  public String hash(IdKind kind, String id) {
    return HexFormat.of().formatHex(mac().doFinal((kind.id() + ":" + id).getBytes(StandardCharsets.UTF_8)));
  }

  /** One initialised Mac per thread (doFinal resets it), made again after the key travels to an executor. */
  private Mac mac() {
    ThreadLocal<Mac> local = macs;
    if (local == null) {
      local = ThreadLocal.withInitial(this::newMac);
      macs = local;
    }
    return local.get();
  }

  private Mac newMac() {
    try {
      Mac mac = Mac.getInstance(ALGORITHM);
      mac.init(key);
      return mac;
    } catch (GeneralSecurityException e) {
      throw new LetheException("HMAC-SHA256 is not available in this JVM", e);
    }
  }

  /**
   * The keyed hash of every value of an id column, as the ledger stores it: for finding rows of
   * hashed requests without knowing their ids (the key travels to the executors with the task).
   */
  public Column hashOf(IdKind kind, Column id) {
    UDF1<String, String> hash = value -> value == null ? null : hash(kind, value);
    return functions.udf(hash, DataTypes.StringType).apply(id.cast("string"));
  }

  @Override
  public String toString() {
    return "LedgerKey[hidden]";
  }
}
