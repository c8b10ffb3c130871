package io.marketplace.payments.ops.reconcile;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.kafka.RecordHeaders;
import io.marketplace.payments.common.kafka.Topic;
import io.marketplace.payments.ops.OperatorError;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;

/**
 * Publishes a repair as a Stripe-shaped event on {@code stripe.events.v1}, the topic the webhook
 * gateway writes: same key (the PaymentIntent id), same headers, plus {@code reconciled: true}. The
 * workers apply it as they apply Stripe's own events, with their own checks and dedupe.
 */
public final class RepairPublisher {

  public static final String RECONCILED = "reconciled";

  private final Producer<String, byte[]> producer;
  private final String bootstrapServers;
  private final Topic stripeEvents;
  private final Duration sendTimeout;
  private final Clock clock;

  /**
   * {@code producer} sends to {@code bootstrapServers}, which its errors name; each send waits at
   * most {@code sendTimeout} for Kafka's acknowledgement.
   */
  public RepairPublisher(
      Producer<String, byte[]> producer,
      String bootstrapServers,
      Topic stripeEvents,
      Duration sendTimeout,
      Clock clock) {
    this.producer = producer;
    this.bootstrapServers = bootstrapServers;
    this.stripeEvents = stripeEvents;
    this.sendTimeout = sendTimeout;
    this.clock = clock;
  }

  /**
   * The event body: Stripe's envelope around the object as Stripe returns it now, {@code created}
   * when the fact happened ({@link StripeLedger#occurredAt}).
   */
  public byte[] eventBody(Repair repair, JsonNode object, Instant occurredAt) {
    ObjectNode event = Json.mapper().createObjectNode();
    event.put("id", repair.eventId());
    event.put("object", "event");
    event.putNull("api_version");
    event.put("created", occurredAt.getEpochSecond());
    event.putObject("data").set("object", object);
    event.put("livemode", object.path("livemode").asBoolean(false));
    event.put("pending_webhooks", 0);
    ObjectNode request = event.putObject("request");
    request.putNull("id");
    request.putNull("idempotency_key");
    event.put("type", repair.eventType());
    return Json.bytes(event);
  }

  public RecordMetadata publish(Repair repair, JsonNode object, Instant occurredAt) {
    var record =
        new ProducerRecord<>(
            stripeEvents.name(), repair.key(), eventBody(repair, object, occurredAt));
    RecordHeaders.put(record.headers(), RecordHeaders.STRIPE_EVENT_ID, repair.eventId());
    RecordHeaders.put(record.headers(), RecordHeaders.STRIPE_EVENT_TYPE, repair.eventType());
    RecordHeaders.put(record.headers(), RecordHeaders.RECEIVED_AT, clock.instant().toString());
    record.headers().add(RECONCILED, "true".getBytes(StandardCharsets.UTF_8));
    try {
      return producer.send(record).get(sendTimeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException | TimeoutException e) {
      if (e instanceof TimeoutException || OperatorError.isKafkaTimeout(e)) {
        throw OperatorError.kafkaDidNotAnswer(
            bootstrapServers, sendTimeout, repair.eventId() + " not published", e);
      }
      throw new OperatorError(
          "Kafka did not acknowledge " + repair.eventId() + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new OperatorError("interrupted", e);
    }
  }
}
