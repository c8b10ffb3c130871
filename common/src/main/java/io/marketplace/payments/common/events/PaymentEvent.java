package io.marketplace.payments.common.events;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.databind.JsonNode;
import io.marketplace.payments.common.json.Json;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Objects;
import java.util.UUID;

/**
 * The envelope of {@code payments.events.v1} (SPEC §4): {@code
 * {"id","type","occurredAt","version":1,"data"}}. Build one with {@link #of}, whose id is derived
 * from the fact itself, so that however often the fact is processed it is announced under one id.
 */
public record PaymentEvent(
    UUID id, PaymentEventType type, Instant occurredAt, int version, JsonNode data) {

  public static final int VERSION = 1;

  public PaymentEvent {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(occurredAt, "occurredAt");
    Objects.requireNonNull(data, "data");
  }

  /**
   * An event for {@code type} whose id is a name-based UUID of the type and {@code factKey}: the
   * same fact (say, the activation of listing L by PaymentIntent P: {@code factKey = L + ":" + P})
   * always gets the same id.
   *
   * @param data a record or map; serialized with the system's Jackson configuration
   */
  public static PaymentEvent of(
      PaymentEventType type, String factKey, Instant occurredAt, Object data) {
    return new PaymentEvent(
        idFor(type, factKey), type, occurredAt, VERSION, Json.mapper().valueToTree(data));
  }

  /**
   * The event {@link #of} would build, as its id and its JSON, written in one pass from {@code
   * data} without building the tree first: for a service that announces its facts faster than it
   * reads them back (the payment processor announces two per Stripe event). The JSON is the same,
   * byte for byte, as {@link Json#write} of {@code of(type, factKey, occurredAt, data)}.
   */
  public static Written written(
      PaymentEventType type, String factKey, Instant occurredAt, Object data) {
    UUID id = idFor(type, factKey);
    return new Written(
        id,
        type,
        Json.write(
            new Envelope(
                id,
                type,
                Objects.requireNonNull(occurredAt, "occurredAt"),
                VERSION,
                Objects.requireNonNull(data, "data"))));
  }

  /** An event as it goes to the outbox: its id, its type, its JSON. */
  public record Written(UUID id, PaymentEventType type, String json) {}

  /** The envelope with {@code data} as the value itself rather than its tree. */
  @JsonPropertyOrder({"id", "type", "occurredAt", "version", "data"})
  private record Envelope(
      UUID id, PaymentEventType type, Instant occurredAt, int version, Object data) {}

  public static UUID idFor(PaymentEventType type, String factKey) {
    Objects.requireNonNull(factKey, "factKey");
    return UUID.nameUUIDFromBytes(
        ("payments.events.v1/" + type.wireName() + "/" + factKey).getBytes(StandardCharsets.UTF_8));
  }
}
