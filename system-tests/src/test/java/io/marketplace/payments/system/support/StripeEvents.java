package io.marketplace.payments.system.support;

import io.marketplace.payments.common.json.Json;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * PaymentIntent events shaped as Stripe sends them: the event envelope with {@code data.object} a
 * whole PaymentIntent, unknown fields included, so the workers are driven with what they really
 * read. Ids are the caller's, so a seeded scenario renders the same bytes every time.
 */
public final class StripeEvents {

  public static final String API_VERSION = "2024-06-20";

  private StripeEvents() {}

  /** The metadata checkout-api puts on the PaymentIntents it creates. */
  public static Map<String, String> metadata(
      Object listingId, Object userId, long categoryId, String paymentType) {
    Map<String, String> metadata = new LinkedHashMap<>();
    metadata.put("category_id", Long.toString(categoryId));
    metadata.put("listing_id", listingId.toString());
    metadata.put("payment_type", paymentType);
    metadata.put("user_id", userId.toString());
    return metadata;
  }

  /**
   * A {@code payment_intent.*} event: {@code status} is the PaymentIntent's ({@code succeeded},
   * {@code processing}, {@code requires_payment_method} for a decline, ...).
   */
  public static String paymentIntent(
      String eventId,
      String type,
      Instant created,
      String paymentIntentId,
      long amount,
      String status,
      Map<String, String> metadata) {
    boolean succeeded = "succeeded".equals(status);
    boolean declined = "payment_intent.payment_failed".equals(type);
    String charge = "ch_" + paymentIntentId.substring(3);
    long createdSeconds = created.getEpochSecond();

    Map<String, Object> pi = new LinkedHashMap<>();
    pi.put("id", paymentIntentId);
    pi.put("object", "payment_intent");
    pi.put("amount", amount);
    pi.put("amount_capturable", 0);
    pi.put("amount_details", Map.of("tip", Map.of()));
    pi.put("amount_received", succeeded ? amount : 0);
    pi.put("application", null);
    pi.put("application_fee_amount", null);
    pi.put("automatic_payment_methods", Map.of("allow_redirects", "never", "enabled", true));
    pi.put("canceled_at", null);
    pi.put("cancellation_reason", null);
    pi.put("capture_method", "automatic_async");
    pi.put("client_secret", paymentIntentId + "_secret_" + eventId.substring(4));
    pi.put("confirmation_method", "automatic");
    pi.put("created", createdSeconds - 60);
    pi.put("currency", "usd");
    pi.put("customer", null);
    pi.put("description", "marketplace " + metadata.getOrDefault("payment_type", "payment"));
    pi.put("last_payment_error", declined ? lastPaymentError(charge) : null);
    pi.put("latest_charge", "processing".equals(status) ? null : charge);
    pi.put("livemode", false);
    pi.put("metadata", metadata);
    pi.put("next_action", null);
    pi.put("payment_method", succeeded ? "pm_1P" + paymentIntentId.substring(5) : null);
    pi.put("payment_method_options", Map.of("card", Map.of("request_three_d_secure", "automatic")));
    pi.put("payment_method_types", List.of("card"));
    pi.put("receipt_email", null);
    pi.put("setup_future_usage", null);
    pi.put("shipping", null);
    pi.put("statement_descriptor", null);
    pi.put("status", status);

    Map<String, Object> request = new LinkedHashMap<>();
    request.put("id", "req_" + eventId.substring(4));
    request.put("idempotency_key", null);

    Map<String, Object> event = new LinkedHashMap<>();
    event.put("id", eventId);
    event.put("object", "event");
    event.put("api_version", API_VERSION);
    event.put("created", createdSeconds);
    event.put("data", Map.of("object", pi));
    event.put("livemode", false);
    event.put("pending_webhooks", 1);
    event.put("request", request);
    event.put("type", type);
    return Json.write(event);
  }

  private static Map<String, Object> lastPaymentError(String charge) {
    Map<String, Object> error = new LinkedHashMap<>();
    error.put("charge", charge);
    error.put("code", "card_declined");
    error.put("decline_code", "generic_decline");
    error.put("doc_url", "https://stripe.com/docs/error-codes/card-declined");
    error.put("message", "Your card was declined.");
    error.put("type", "card_error");
    return error;
  }
}
