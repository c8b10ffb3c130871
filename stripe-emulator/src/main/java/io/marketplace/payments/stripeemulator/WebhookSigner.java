package io.marketplace.payments.stripeemulator;

import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Objects;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Signs webhook payloads as Stripe does: {@code Stripe-Signature: t=<unix seconds>,v1=<hex>}, where
 * the hex is HMAC-SHA256, keyed with the endpoint's whole {@code whsec_...} secret, of {@code
 * "<t>.<payload>"}. With several secrets (during a secret rotation) the header carries one {@code
 * v1} per secret, as Stripe's does. Tests elsewhere use it to sign events of their own.
 */
public final class WebhookSigner {
  public static final String HEADER = "Stripe-Signature";

  private WebhookSigner() {}

  /** The {@code Stripe-Signature} header value for a payload sent at {@code timestamp}. */
  public static String signatureHeader(String payload, long timestamp, String... secrets) {
    Objects.requireNonNull(payload, "payload");
    if (secrets.length == 0) {
      throw new IllegalArgumentException("at least one secret is needed");
    }
    StringBuilder header = new StringBuilder("t=").append(timestamp);
    for (String secret : secrets) {
      header.append(",v1=").append(signature(payload, timestamp, secret));
    }
    return header.toString();
  }

  /** The hex HMAC-SHA256 of {@code "<timestamp>.<payload>"} under {@code secret}. */
  public static String signature(String payload, long timestamp, String secret) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
      byte[] digest = mac.doFinal((timestamp + "." + payload).getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest);
    } catch (NoSuchAlgorithmException | InvalidKeyException e) {
      throw new IllegalStateException("HmacSHA256 is unavailable", e);
    }
  }
}
