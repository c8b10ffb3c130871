package io.marketplace.payments.gateway;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Events shaped as Stripe sends them (API version 2024-06-20, pretty-printed, 2 to 4 KB), from the
 * templates under {@code events/}, with fresh ids each time.
 */
public final class StripeEvents {

  private static final String ALPHABET =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  private static final Map<String, String> TEMPLATES = new ConcurrentHashMap<>();

  private StripeEvents() {}

  /** One event: its ids, and the body exactly as Stripe would send it. */
  public record Sample(
      String id, String type, String paymentIntentId, String objectId, byte[] body) {

    public String text() {
      return new String(body, StandardCharsets.UTF_8);
    }
  }

  public static Sample paymentIntentSucceeded() {
    return of("payment_intent.succeeded");
  }

  /**
   * A new event of {@code type}: {@code payment_intent.succeeded}, {@code charge.succeeded}, {@code
   * charge.refunded}, {@code charge.dispute.created} or {@code customer.created}.
   */
  public static Sample of(String type) {
    String eventId = "evt_" + stripeId();
    String paymentIntentId = "pi_" + stripeId();
    String chargeId = "ch_" + stripeId();
    String disputeId = "dp_" + stripeId();
    String customerId = "cus_" + stripeId();
    String body =
        template(type)
            .replace("${EVENT_ID}", eventId)
            .replace("${CREATED}", Long.toString(Instant.now().getEpochSecond()))
            .replace("${PI_ID}", paymentIntentId)
            .replace("${CH_ID}", chargeId)
            .replace("${DISPUTE_ID}", disputeId)
            .replace("${CUSTOMER_ID}", customerId)
            .replace("${REFUND_ID}", "re_" + stripeId())
            .replace("${REQ_ID}", "req_" + stripeId().substring(0, 14))
            .replace("${LISTING_ID}", UUID.randomUUID().toString())
            .replace("${USER_ID}", UUID.randomUUID().toString())
            .replace("${REFUND_RECORD_ID}", UUID.randomUUID().toString())
            .replace(
                "${AMOUNT}", Integer.toString(100 * ThreadLocalRandom.current().nextInt(2, 11)));
    String objectId =
        switch (type) {
          case "payment_intent.succeeded" -> paymentIntentId;
          case "charge.dispute.created" -> disputeId;
          case "customer.created" -> customerId;
          default -> chargeId;
        };
    String eventPaymentIntent = type.equals("customer.created") ? null : paymentIntentId;
    return new Sample(
        eventId, type, eventPaymentIntent, objectId, body.getBytes(StandardCharsets.UTF_8));
  }

  private static String template(String type) {
    return TEMPLATES.computeIfAbsent(
        type,
        name -> {
          try (InputStream in =
              StripeEvents.class.getResourceAsStream("/events/" + name + ".json")) {
            if (in == null) {
              throw new IllegalArgumentException("no event template for " + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        });
  }

  /** 24 characters as in Stripe's ids ({@code 3PgL2wHk3sQ9Zb7T1mNoPqRs}). */
  private static String stripeId() {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    char[] id = new char[24];
    for (int i = 0; i < id.length; i++) {
      id[i] = ALPHABET.charAt(random.nextInt(ALPHABET.length()));
    }
    return new String(id);
  }
}
