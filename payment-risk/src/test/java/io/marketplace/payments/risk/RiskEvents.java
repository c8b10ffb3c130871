package io.marketplace.payments.risk;

import io.marketplace.payments.common.json.Json;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Stripe-shaped events for the topology tests, as maps: the envelope, a dispute, and the key the
 * webhook gateway gives an event on {@code stripe.events.v1} (its PaymentIntent).
 */
final class RiskEvents {

  private static final AtomicInteger SEQ = new AtomicInteger();

  private RiskEvents() {}

  /** The envelope of an event about {@code object}, created at {@code created}. */
  static Map<String, Object> event(String type, Instant created, Map<String, Object> object) {
    Map<String, Object> event = new LinkedHashMap<>();
    event.put("id", "evt_3Prisk" + SEQ.incrementAndGet());
    event.put("object", "event");
    event.put("api_version", "2025-06-30.basil");
    event.put("created", created.getEpochSecond());
    event.put("data", Map.of("object", object));
    event.put("type", type);
    return event;
  }

  /** {@code charge.dispute.created} of the PaymentIntent's charge: no metadata, as Stripe sends. */
  static Map<String, Object> dispute(String pi, String status, Instant created) {
    Map<String, Object> dispute = new LinkedHashMap<>();
    dispute.put("id", "du_" + SEQ.incrementAndGet());
    dispute.put("object", "dispute");
    dispute.put("amount", 500);
    dispute.put("charge", "ch_" + pi);
    dispute.put("payment_intent", pi);
    dispute.put("metadata", Map.of());
    dispute.put("reason", "fraudulent");
    dispute.put("status", status);
    return event("charge.dispute.created", created, dispute);
  }

  /**
   * A later event of the dispute in {@code created} (a {@code charge.dispute.created}), in {@code
   * status} now; {@code previousStatus}, when given, as {@code data.previous_attributes} of an
   * update.
   */
  static Map<String, Object> disputeLater(
      Map<String, Object> created, String type, String status, String previousStatus, Instant at) {
    Map<String, Object> dispute =
        new LinkedHashMap<>((Map<String, Object>) ((Map<?, ?>) created.get("data")).get("object"));
    dispute.put("status", status);
    Map<String, Object> event = event(type, at, dispute);
    if (previousStatus != null) {
      event.put(
          "data",
          Map.of("object", dispute, "previous_attributes", Map.of("status", previousStatus)));
    }
    return event;
  }

  /**
   * When the event reached {@code stripe.events.v1}, its record's timestamp: when Stripe created it
   * (the gateway publishes it as it arrives; the service never dates an event after that).
   */
  static Instant arrival(Map<String, Object> event) {
    return Instant.ofEpochSecond(((Number) event.get("created")).longValue());
  }

  /** The record key the gateway gives the event: the PaymentIntent it concerns. */
  static String key(Map<String, Object> event) {
    Map<?, ?> object = (Map<?, ?>) ((Map<?, ?>) event.get("data")).get("object");
    return "payment_intent".equals(object.get("object"))
        ? (String) object.get("id")
        : (String) object.get("payment_intent");
  }

  /**
   * {@code payment_intent.payment_failed} of a card declined, as JSON: {@code eventId} and the
   * PaymentIntent's metadata as checkout-api sets them (category 3).
   */
  static String declined(String eventId, String pi, String user, Instant created) {
    return declined(eventId, pi, user, created.getEpochSecond());
  }

  /** As {@link #declined(String, String, String, Instant)}, created at any epoch second. */
  static String declined(String eventId, String pi, String user, long created) {
    Map<String, Object> event = new LinkedHashMap<>();
    event.put("id", eventId);
    event.put("object", "event");
    event.put("api_version", "2025-06-30.basil");
    event.put("created", created);
    event.put(
        "data",
        Map.of(
            "object",
            Map.of(
                "id",
                pi,
                "object",
                "payment_intent",
                "status",
                "requires_payment_method",
                "metadata",
                Map.of("user_id", user, "category_id", "3"))));
    event.put("type", "payment_intent.payment_failed");
    return Json.write(event);
  }

  /**
   * {@code start}, moved back if needed so that {@code seconds} from it fall in one window of
   * {@code rule}: its windows are tumbling, aligned to the epoch, and declines straddling a
   * boundary are split between two windows, a signal in neither.
   */
  static Instant inOneWindow(Instant start, RiskConfig.Rule rule, long seconds) {
    long window = rule.window().toSeconds();
    long latest = window - seconds;
    long offset = Math.floorMod(start.getEpochSecond(), window);
    return offset <= latest ? start : start.minusSeconds(offset - latest);
  }

  /** The HTTP status of a GET of {@code uri}; -1 while nothing answers. */
  static int status(HttpClient http, URI uri) {
    try {
      return http.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.discarding())
          .statusCode();
    } catch (Exception e) {
      return -1;
    }
  }
}
