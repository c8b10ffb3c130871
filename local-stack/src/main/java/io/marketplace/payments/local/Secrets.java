package io.marketplace.payments.local;

import java.io.IOException;
import java.io.Reader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Properties;

/**
 * The local stack's keys, made at random on the first {@code up} and kept under the data directory,
 * so tokens and webhook signatures stay valid across restarts; the file is readable by its owner
 * only.
 */
record Secrets(String stripeSecretKey, String webhookSecret, String jwtSecret) {

  static Secrets loadOrCreate(Path file) {
    try {
      Properties properties = new Properties();
      if (Files.exists(file)) {
        try (Reader reader = Files.newBufferedReader(file)) {
          properties.load(reader);
        }
      }
      boolean changed = false;
      changed |= putIfAbsent(properties, "stripe.secret-key", "sk_test_" + random(24));
      changed |= putIfAbsent(properties, "stripe.webhook-secret", "whsec_" + random(32));
      changed |= putIfAbsent(properties, "auth.jwt-secret", random(48));
      if (changed) {
        StringWriter text = new StringWriter();
        properties.store(text, "keys of the local stack (never used outside this machine)");
        PrivateFiles.write(file, text.toString());
      } else {
        PrivateFiles.restrict(file);
      }
      return new Secrets(
          properties.getProperty("stripe.secret-key"),
          properties.getProperty("stripe.webhook-secret"),
          properties.getProperty("auth.jwt-secret"));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read or write " + file, e);
    }
  }

  private static boolean putIfAbsent(Properties properties, String key, String value) {
    return properties.putIfAbsent(key, value) == null;
  }

  private static String random(int bytes) {
    byte[] buffer = new byte[bytes];
    new SecureRandom().nextBytes(buffer);
    return HexFormat.of().formatHex(buffer);
  }

  @Override
  public String toString() {
    return "Secrets[redacted]";
  }
}
