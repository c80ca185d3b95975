package io.lethe.ledger;

import io.lethe.LetheConfig;
import io.lethe.LetheException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The secret that turns a subject or record id into the keyed hash the ledger stores:
 * HMAC-SHA256(key, kind + ":" + id) in lowercase hex, e.g. for subject 42 the HMAC of "subject:42".
 * Whoever holds the key can check whether an id was forgotten; the ledger alone reveals no id.
 */
public final class LedgerKey {
  private static final String ALGORITHM = "HmacSHA256";
  private static final int MIN_LENGTH = 16;

  private final SecretKeySpec key;

  private LedgerKey(String secret) {
    if (secret.length() < MIN_LENGTH) {
      throw new LetheException("The ledger key must have at least " + MIN_LENGTH + " characters");
    }
    this.key = new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), ALGORITHM);
  }

  public static LedgerKey of(String secret) {
    return new LedgerKey(secret);
  }

  /** The key from $LETHE_LEDGER_KEY, else from ledger.key; neither set is an error. */
  public static LedgerKey from(LetheConfig config) {
    String env = System.getenv(LetheConfig.LEDGER_KEY_ENV);
    String secret = env != null && !env.isEmpty() ? env : config.get(LetheConfig.LEDGER_KEY);
    if (secret.isEmpty()) {
      throw new LetheException("No ledger key: set the environment variable " + LetheConfig.LEDGER_KEY_ENV
          + " (or the key " + LetheConfig.LEDGER_KEY + "); the ledger stores ids only as HMACs under it");
    }
    return new LedgerKey(secret);
  }

  public String hash(IdKind kind, String id) {
    try {
      Mac mac = Mac.getInstance(ALGORITHM);
      mac.init(key);
      return HexFormat.of().formatHex(mac.doFinal((kind.id() + ":" + id).getBytes(StandardCharsets.UTF_8)));
    } catch (GeneralSecurityException e) {
      throw new LetheException("HMAC-SHA256 is not available in this JVM", e);
    }
  }

  @Override
  public String toString() {
    return "LedgerKey[hidden]";
  }
}
