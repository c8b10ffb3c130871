package io.marketplace.payments.testsupport;

import io.marketplace.payments.common.json.Json;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Stripe events as Stripe sends them (API version 2024-06-20): the event envelope with {@code
 * data.object} a whole PaymentIntent, field for field, so the workers are tested on what they will
 * really read, unknown fields included. Only {@link #id} is random: an event built with the same
 * ids, time and fields renders the same bytes every time, as a seeded scenario needs.
 */
public final class StripeFixtures {

  public static final String API_VERSION = "2024-06-20";
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final String ALPHABET =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

  private StripeFixtures() {}

  /** A Stripe-shaped id: {@code pi_3P...}, {@code evt_3P...}. */
  public static String id(String prefix) {
    StringBuilder id = new StringBuilder(prefix).append("_3P");
    for (int i = 0; i < 24; i++) {
      id.append(ALPHABET.charAt(RANDOM.nextInt(ALPHABET.length())));
    }
    return id.toString();
  }

  /** The metadata checkout-api puts on a PaymentIntent. */
  public static Map<String, String> metadata(
      Object listingId, Object userId, long categoryId, String paymentType) {
    Map<String, String> metadata = new LinkedHashMap<>();
    metadata.put("category_id", Long.toString(categoryId));
    metadata.put("listing_id", listingId.toString());
    metadata.put("payment_type", paymentType);
    metadata.put("user_id", userId.toString());
    return metadata;
  }

  /** A PaymentIntent event of {@code type} to build on; {@link Builder#json()} renders it. */
  public static Builder paymentIntent(String type, String paymentIntentId) {
    return new Builder(type, paymentIntentId);
  }

  public static Builder succeeded(String paymentIntentId, long amount, Map<String, String> meta) {
    return paymentIntent("payment_intent.succeeded", paymentIntentId)
        .amount(amount)
        .metadata(meta)
        .status("succeeded");
  }

  public static Builder paymentFailed(
      String paymentIntentId, long amount, Map<String, String> meta) {
    return paymentIntent("payment_intent.payment_failed", paymentIntentId)
        .amount(amount)
        .metadata(meta)
        .status("requires_payment_method");
  }

  public static Builder canceled(String paymentIntentId, long amount, Map<String, String> meta) {
    return paymentIntent("payment_intent.canceled", paymentIntentId)
        .amount(amount)
        .metadata(meta)
        .status("canceled");
  }

  /** A fluent builder of one event; every setter returns the builder. */
  public static final class Builder {
    private final String type;
    private final String paymentIntentId;
    private String eventId = id("evt");
    private Instant created = Instant.parse("2026-03-02T09:59:30Z");
    private long amount = 500;
    private String status = "succeeded";
    private Map<String, String> metadata = Map.of();
    private String charge;
    private String failureWithoutCharge;
    private String requestId;
    private boolean requestSet;

    private Builder(String type, String paymentIntentId) {
      this.type = type;
      this.paymentIntentId = paymentIntentId;
    }

    public Builder eventId(String id) {
      this.eventId = id;
      return this;
    }

    public Builder created(Instant at) {
      this.created = at;
      return this;
    }

    public Builder amount(long cents) {
      this.amount = cents;
      return this;
    }

    public Builder status(String status) {
      this.status = status;
      return this;
    }

    public Builder metadata(Map<String, String> metadata) {
      this.metadata = metadata;
      return this;
    }

    /**
     * The charge of the attempt the event reports. By default a decline has a charge of its own
     * (each attempt is a new charge at Stripe); any other event the PaymentIntent's one charge.
     * Give a decline the charge of another to render Stripe reporting one decline twice.
     */
    public Builder charge(String chargeId) {
      this.charge = chargeId;
      return this;
    }

    /**
     * A decline before any charge was made (3-D Secure authentication failed, say): {@code
     * last_payment_error} carries {@code code} and names no charge, and the PaymentIntent has no
     * latest charge.
     */
    public Builder withoutCharge(String code) {
      this.failureWithoutCharge = code;
      return this;
    }

    /**
     * The id of the API request whose change the event reports ({@code request.id}); by default one
     * of its own for a success or a decline, none otherwise. Give two events the same one to render
     * Stripe reporting one change twice; null for a change no API request made.
     */
    public Builder request(String id) {
      this.requestId = id;
      this.requestSet = true;
      return this;
    }

    public String eventId() {
      return eventId;
    }

    public String type() {
      return type;
    }

    public String paymentIntentId() {
      return paymentIntentId;
    }

    public Instant created() {
      return created;
    }

    public String json() {
      long createdSeconds = created.getEpochSecond();
      boolean succeeded = "succeeded".equals(status);
      // a decline: last_payment_error carries the card error
      boolean declined = "payment_intent.payment_failed".equals(type);
      String charge = failureWithoutCharge == null ? charge() : null;

      Map<String, Object> card = new LinkedHashMap<>();
      card.put("installments", null);
      card.put("mandate_options", null);
      card.put("network", null);
      card.put("request_three_d_secure", "automatic");

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
      pi.put("canceled_at", "canceled".equals(status) ? createdSeconds : null);
      pi.put("cancellation_reason", "canceled".equals(status) ? "requested_by_customer" : null);
      pi.put("capture_method", "automatic_async");
      pi.put("client_secret", paymentIntentId + "_secret_" + eventId.substring(4));
      pi.put("confirmation_method", "automatic");
      pi.put("created", createdSeconds - 30);
      pi.put("currency", "usd");
      pi.put("customer", null);
      pi.put("description", "marketplace " + metadata.getOrDefault("payment_type", "payment"));
      pi.put("invoice", null);
      pi.put(
          "last_payment_error",
          declined
              ? (charge == null
                  ? failureWithoutCharge(failureWithoutCharge)
                  : lastPaymentError(charge))
              : null);
      pi.put(
          "latest_charge",
          "canceled".equals(status) || "processing".equals(status) ? null : charge);
      pi.put("livemode", false);
      pi.put("metadata", metadata);
      pi.put("next_action", null);
      pi.put("on_behalf_of", null);
      pi.put("payment_method", succeeded ? "pm_1P" + paymentIntentId.substring(5) : null);
      Map<String, Object> configuration = new LinkedHashMap<>();
      configuration.put("id", "pmc_1PcLUbIqnMN1wWwOuYFdSt7a");
      configuration.put("parent", null);
      pi.put("payment_method_configuration_details", configuration);
      pi.put("payment_method_options", Map.of("card", card));
      pi.put("payment_method_types", List.of("card"));
      pi.put("processing", null);
      pi.put("receipt_email", null);
      pi.put("review", null);
      pi.put("setup_future_usage", null);
      pi.put("shipping", null);
      pi.put("source", null);
      pi.put("statement_descriptor", null);
      pi.put("statement_descriptor_suffix", null);
      pi.put("status", status);
      pi.put("transfer_data", null);
      pi.put("transfer_group", null);

      Map<String, Object> request = new LinkedHashMap<>();
      request.put(
          "id",
          requestSet ? requestId : succeeded || declined ? "req_" + eventId.substring(4) : null);
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

    /** The charge of the attempt: see {@link #charge(String)}. */
    public String charge() {
      if (charge != null) {
        return charge;
      }
      return "payment_intent.payment_failed".equals(type)
          ? "ch_" + eventId.substring(4)
          : "ch_" + paymentIntentId.substring(3);
    }

    private static Map<String, Object> failureWithoutCharge(String code) {
      Map<String, Object> error = new LinkedHashMap<>();
      error.put("code", code);
      error.put("doc_url", "https://stripe.com/docs/error-codes/" + code.replace('_', '-'));
      error.put(
          "message",
          "We are unable to authenticate your payment method. Please choose a different payment"
              + " method and try again.");
      error.put("payment_method", Map.of("id", "pm_1PauthFailedCard", "object", "payment_method"));
      error.put("type", "invalid_request_error");
      return error;
    }

    private static Map<String, Object> lastPaymentError(String charge) {
      Map<String, Object> error = new LinkedHashMap<>();
      error.put("charge", charge);
      error.put("code", "card_declined");
      error.put("decline_code", "generic_decline");
      error.put("doc_url", "https://stripe.com/docs/error-codes/card-declined");
      error.put("message", "Your card was declined.");
      Map<String, Object> pm = new LinkedHashMap<>();
      pm.put("id", "pm_1PdeclinedCard");
      pm.put("object", "payment_method");
      pm.put("billing_details", Map.of());
      pm.put("card", Map.of("brand", "visa", "last4", "0002", "exp_month", 12, "exp_year", 2030));
      pm.put("created", 1_740_000_000L);
      pm.put("customer", null);
      pm.put("livemode", false);
      pm.put("metadata", Map.of());
      pm.put("type", "card");
      error.put("payment_method", pm);
      error.put("type", "card_error");
      return error;
    }
  }
}
