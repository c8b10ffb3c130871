package io.marketplace.payments.refunds;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.marketplace.payments.common.json.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/**
 * Stripe events in Stripe's shapes (as in Stripe's API reference and stripe-mock's fixtures), for
 * what the emulator cannot be asked to do: an event sent again under a new id, a refund whose
 * webhook beats our own bookkeeping.
 */
public final class StripeFixtures {

  private StripeFixtures() {}

  public static String newId(String prefix) {
    return prefix + "_" + UUID.randomUUID().toString().replace("-", "").substring(0, 24);
  }

  /** An event envelope around {@code object}. */
  public static String event(String type, Map<String, Object> object) {
    Map<String, Object> event = new LinkedHashMap<>();
    event.put("id", newId("evt"));
    event.put("object", "event");
    event.put("api_version", "2026-07-29.dahlia");
    event.put("created", Instant.now().getEpochSecond());
    event.put("data", Map.of("object", object));
    event.put("livemode", false);
    event.put("pending_webhooks", 1);
    Map<String, Object> request = new LinkedHashMap<>();
    request.put("id", null);
    request.put("idempotency_key", null);
    event.put("request", request);
    event.put("type", type);
    return Json.write(event);
  }

  /** A Refund object as {@code refund.created} carries it. */
  public static Map<String, Object> refund(
      String refundId,
      String paymentIntentId,
      long amount,
      String status,
      Map<String, String> metadata) {
    Map<String, Object> refund = new LinkedHashMap<>();
    refund.put("id", refundId);
    refund.put("object", "refund");
    refund.put("amount", amount);
    refund.put("balance_transaction", newId("txn"));
    refund.put("charge", newId("ch"));
    refund.put("created", Instant.now().getEpochSecond());
    refund.put("currency", "usd");
    refund.put("destination_details", Map.of("type", "card", "card", Map.of("type", "refund")));
    refund.put("metadata", metadata);
    refund.put("payment_intent", paymentIntentId);
    refund.put("reason", null);
    refund.put("receipt_number", null);
    refund.put("source_transfer_reversal", null);
    refund.put("status", status);
    refund.put("transfer_reversal", null);
    return refund;
  }

  /**
   * A Dispute object as {@code charge.dispute.*} carries it, for {@code amount} cents of {@code
   * paymentIntentId} (an issuer may charge back less than was paid: what is left after a refund).
   */
  public static Map<String, Object> dispute(
      String disputeId, String paymentIntentId, long amount, String status) {
    Map<String, Object> dispute = new LinkedHashMap<>();
    dispute.put("id", disputeId);
    dispute.put("object", "dispute");
    dispute.put("amount", amount);
    dispute.put("charge", newId("ch"));
    dispute.put("created", Instant.now().getEpochSecond());
    dispute.put("currency", "usd");
    dispute.put("is_charge_refundable", false);
    dispute.put("livemode", false);
    dispute.put("metadata", Map.of());
    dispute.put("payment_intent", paymentIntentId);
    dispute.put("reason", "fraudulent");
    dispute.put("status", status);
    return dispute;
  }

  /** The same event body under a new event id: Stripe telling us of the same object again. */
  public static String withNewEventId(String eventBody) {
    return withNewEventId(eventBody, null);
  }

  /** As {@link #withNewEventId(String)}, also changing the type when {@code type} is not null. */
  public static String withNewEventId(String eventBody, String type) {
    try {
      ObjectNode event = (ObjectNode) Json.mapper().readTree(eventBody);
      event.put("id", newId("evt"));
      if (type != null) {
        event.put("type", type);
      }
      return Json.write(event);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * A dispute event modelled on {@code disputeEvent}, about a new dispute of {@code
   * paymentIntentId} in {@code status}, under a new event id.
   */
  public static String otherDispute(String disputeEvent, String paymentIntentId, String status) {
    try {
      ObjectNode event = (ObjectNode) Json.mapper().readTree(disputeEvent);
      event.put("id", newId("evt"));
      ObjectNode dispute = (ObjectNode) event.path("data").path("object");
      dispute.put("id", newId("du"));
      dispute.put("payment_intent", paymentIntentId);
      dispute.put("status", status);
      return Json.write(event);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * An event about the same dispute as {@code disputeEvent}, of {@code type}, in {@code status},
   * under a new event id.
   */
  public static String sameDispute(String disputeEvent, String type, String status) {
    try {
      ObjectNode event = (ObjectNode) Json.mapper().readTree(withNewEventId(disputeEvent, type));
      ((ObjectNode) event.path("data").path("object")).put("status", status);
      return Json.write(event);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * As {@link #sameDispute(String, String, String)}, the dispute now for {@code amount} cents (an
   * issuer that charges back part of the payment).
   */
  public static String sameDispute(String disputeEvent, String type, String status, long amount) {
    try {
      ObjectNode event =
          (ObjectNode) Json.mapper().readTree(sameDispute(disputeEvent, type, status));
      ((ObjectNode) event.path("data").path("object")).put("amount", amount);
      return Json.write(event);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The same event body, created at Stripe {@code seconds} later (earlier when negative). */
  public static String createdLater(String eventBody, long seconds) {
    try {
      ObjectNode event = (ObjectNode) Json.mapper().readTree(eventBody);
      event.put("created", event.path("created").asLong() + seconds);
      return Json.write(event);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** {@code data.object.id} of an event body. */
  public static String objectId(String eventBody) {
    try {
      JsonNode event = Json.mapper().readTree(eventBody);
      return event.path("data").path("object").path("id").asText();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
