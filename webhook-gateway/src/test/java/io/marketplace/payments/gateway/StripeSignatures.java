package io.marketplace.payments.gateway;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Signs payloads the way Stripe does, written independently of stripe-java so that the tests check
 * the gateway against the scheme rather than against the library it uses: {@code t=<unix
 * seconds>,v1=<hex HMAC-SHA256 of "<t>." followed by the raw body bytes>}, keyed with the whole
 * {@code whsec_...} secret, one {@code v1} per secret.
 */
public final class StripeSignatures {

  private StripeSignatures() {}

  public static String header(byte[] payload, long timestamp, String... secrets) {
    StringBuilder header = new StringBuilder("t=").append(timestamp);
    for (String secret : secrets) {
      header.append(",v1=").append(signature(payload, timestamp, secret));
    }
    return header.toString();
  }

  public static String signature(byte[] payload, long timestamp, String secret) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
      mac.update((timestamp + ".").getBytes(StandardCharsets.US_ASCII));
      return HexFormat.of().formatHex(mac.doFinal(payload));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is unavailable", e);
    }
  }
}
