package io.marketplace.payments.system.hostile;

import io.marketplace.payments.stripeemulator.WebhookSigner;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import java.util.UUID;

/**
 * Webhook bodies shaped as Stripe sends them (pretty-printed, two-space indent, LF line ends), and
 * signed as Stripe signs them. The description carries text whose bytes change under every Unicode
 * normalization but NFC (an accented letter, a ligature, a circled digit), so re-normalizing a body
 * is a real change of what was signed.
 */
final class StripeWebhooks {

  /** NFC; NFD splits the é, NFKC and NFKD also turn ﬁ into fi and ① into 1. */
  static final String DESCRIPTION = "Café crème — ﬁne print ①";

  private static final String ALPHABET =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

  private StripeWebhooks() {}

  /** A {@code payment_intent.succeeded} event with ids drawn from {@code random}. */
  static byte[] paymentIntentSucceeded(Random random, long created) {
    String json =
        """
        {
          "id": "evt_%s",
          "object": "event",
          "api_version": "2024-06-20",
          "created": %d,
          "data": {
            "object": {
              "id": "pi_%s",
              "object": "payment_intent",
              "amount": 500,
              "amount_received": 500,
              "currency": "usd",
              "description": "%s",
              "latest_charge": "ch_%s",
              "metadata": {
                "category_id": "1",
                "listing_id": "%s",
                "payment_type": "posting_fee",
                "user_id": "%s"
              },
              "status": "succeeded"
            }
          },
          "livemode": false,
          "pending_webhooks": 1,
          "request": {
            "id": null,
            "idempotency_key": null
          },
          "type": "payment_intent.succeeded"
        }
        """
            .formatted(
                stripeId(random),
                created,
                stripeId(random),
                DESCRIPTION,
                stripeId(random),
                new UUID(random.nextLong(), random.nextLong()),
                new UUID(random.nextLong(), random.nextLong()));
    return json.getBytes(StandardCharsets.UTF_8);
  }

  /** {@code t=<timestamp>,v1=<hex>} for each secret, exactly as Stripe builds the header. */
  static String signatureHeader(byte[] body, long timestamp, String... secrets) {
    return WebhookSigner.signatureHeader(text(body), timestamp, secrets);
  }

  /** The hex HMAC-SHA256 of {@code "<timestamp>.<body>"} under {@code secret}. */
  static String signature(byte[] body, long timestamp, String secret) {
    return WebhookSigner.signature(text(body), timestamp, secret);
  }

  static String text(byte[] body) {
    return new String(body, StandardCharsets.UTF_8);
  }

  /** 24 characters, as in Stripe's ids. */
  static String stripeId(Random random) {
    char[] id = new char[24];
    for (int i = 0; i < id.length; i++) {
      id[i] = ALPHABET.charAt(random.nextInt(ALPHABET.length()));
    }
    return new String(id);
  }
}
