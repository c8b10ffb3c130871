package io.marketplace.payments.common.stripe;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.node.MissingNode;
import io.marketplace.payments.common.json.Json;
import java.io.IOException;
import java.time.Instant;
import java.util.Optional;

/**
 * A Stripe event read tolerantly with Jackson. Real events arrive in the webhook endpoint's API
 * version, not stripe-java's pinned one, so nothing here depends on a typed model: only the
 * envelope fields every version has, and {@code data.object} as a tree.
 *
 * @param created when Stripe created the event; null when the body states no such time (absent,
 *     zero or negative, or not a count of seconds), never 1970: the workers' router dates such an
 *     event by its record instead ({@link #withCreated}), or refuses it
 */
public record StripeEvent(
    String id, String type, Instant created, String apiVersion, JsonNode object, JsonNode raw) {

  /**
   * One JSON document and nothing after it but white space: Jackson alone stops after the first
   * value, while the audit copy's {@code jsonb} refuses the whole text.
   */
  private static final ObjectReader READER =
      Json.mapper().reader().with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  /** Parses an event body; throws {@link InvalidStripeEventException} when it is not one. */
  public static StripeEvent parse(byte[] body) {
    JsonNode root;
    try {
      root = READER.readTree(body);
    } catch (IOException e) {
      throw new InvalidStripeEventException("body is not JSON");
    }
    if (root == null || !root.isObject()) {
      throw new InvalidStripeEventException("body is not a JSON object");
    }
    if (!"event".equals(root.path("object").asText())) {
      throw new InvalidStripeEventException("object is not \"event\"");
    }
    String id = root.path("id").asText("");
    String type = root.path("type").asText("");
    JsonNode object = root.path("data").path("object");
    if (!id.startsWith("evt_")) {
      throw new InvalidStripeEventException("id is not an event id");
    }
    if (type.isBlank()) {
      throw new InvalidStripeEventException("type is missing");
    }
    if (!object.isObject()) {
      throw new InvalidStripeEventException("data.object is missing");
    }
    long created = root.path("created").asLong(0);
    return new StripeEvent(
        id,
        type,
        created > 0 ? Instant.ofEpochSecond(created) : null,
        root.path("api_version").asText(null),
        object,
        root);
  }

  /** The same event, dated {@code created} (one whose body states no time, dated otherwise). */
  public StripeEvent withCreated(Instant created) {
    return new StripeEvent(id, type, created, apiVersion, object, raw);
  }

  /**
   * The type of {@code data.object}: {@code payment_intent}, {@code charge}, {@code dispute}, ...
   */
  public String objectType() {
    return object.path("object").asText("");
  }

  public String objectId() {
    return object.path("id").asText("");
  }

  /**
   * The PaymentIntent the event concerns: {@code data.object.id} for a PaymentIntent, {@code
   * data.object.payment_intent} for charges, disputes and refunds (SPEC §4).
   */
  public Optional<String> paymentIntentId() {
    if ("payment_intent".equals(objectType()) || type.startsWith("payment_intent.")) {
      return text(object.path("id"));
    }
    return text(object.path("payment_intent"));
  }

  /** The Kafka key of this event on {@code stripe.events.v1} (SPEC §4). */
  public String partitionKey() {
    return paymentIntentId().orElse(objectId());
  }

  /** A value of {@code data.object.metadata}; disputes carry none of ours. */
  public Optional<String> metadata(String key) {
    return text(object.path("metadata").path(key));
  }

  /**
   * The payment attempt a {@code payment_intent.payment_failed} event reports. Stripe may report
   * one declined attempt in two events with different ids, so the attempt is named by what those
   * events share, never by the event's own id alone:
   *
   * <ul>
   *   <li>the charge Stripe made for it ({@code last_payment_error.charge});
   *   <li>else (an attempt that failed before a charge: 3-D Secure authentication failed, a payment
   *       method refused before charging) the PaymentIntent, the API request whose change the event
   *       reports ({@code request.id}: each attempt is a confirmation of its own) or, when no
   *       request made it, the second the change happened, and the error's code and decline code. A
   *       PaymentIntent may fail several times the same way with the same card, and nothing in the
   *       object itself tells those attempts apart: the request or the time does;
   *   <li>the event itself when it states neither a request nor a time.
   * </ul>
   */
  public String failedAttempt() {
    Optional<String> charge = text(field("last_payment_error.charge"));
    if (charge.isPresent()) {
      return charge.get();
    }
    Optional<String> request = requestId();
    if (request.isEmpty() && created == null) {
      return id;
    }
    return String.join(
        "/",
        paymentIntentId().orElse(objectId()),
        request.orElseGet(() -> "at-" + created.getEpochSecond()),
        text(field("last_payment_error.code")).orElse("-"),
        text(field("last_payment_error.decline_code")).orElse("-"));
  }

  /**
   * The API request whose change the event reports: {@code request.id}, or {@code request} itself
   * in API versions before 2017-05-25; empty for a change no request made.
   */
  public Optional<String> requestId() {
    JsonNode request = raw.path("request");
    return request.isTextual() ? text(request) : text(request.path("id"));
  }

  /** A field of {@code data.object} by dotted path, e.g. {@code "last_payment_error.message"}. */
  public JsonNode field(String dottedPath) {
    JsonNode node = object;
    for (String part : dottedPath.split("\\.")) {
      node = node == null ? MissingNode.getInstance() : node.path(part);
    }
    return node;
  }

  private static Optional<String> text(JsonNode node) {
    return node.isTextual() && !node.asText().isBlank()
        ? Optional.of(node.asText())
        : Optional.empty();
  }
}
