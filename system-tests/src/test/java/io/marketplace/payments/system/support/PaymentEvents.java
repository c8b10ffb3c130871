package io.marketplace.payments.system.support;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.kafka.Topic;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.KafkaTestClient;
import java.io.IOException;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * {@code payments.events.v1} as a downstream subscriber reads it: envelopes {@code
 * {"id","type","occurredAt","version","data"}} keyed by listing id (user id for user events).
 */
public final class PaymentEvents {

  /** One record: its key and its envelope. */
  public record Event(String key, JsonNode envelope) {
    public String id() {
      return envelope.path("id").asText();
    }

    public String type() {
      return envelope.path("type").asText();
    }

    public JsonNode data() {
      return envelope.path("data");
    }
  }

  private static final Duration SETTLE = Duration.ofSeconds(30);

  private final KafkaTestClient kafka;
  private final Topic topic;
  private final BooleanSupplier outboxEmpty;

  /** The topic as it is at each read. */
  public PaymentEvents(KafkaTestClient kafka, Topic topic) {
    this(kafka, topic, () -> true);
  }

  /**
   * The topic read once {@code outboxEmpty} holds: the relay deletes what the broker acknowledged,
   * so everything committed before a read is then on the topic, and a test that saw a state in the
   * database can count the events that announced it without racing the relay.
   */
  public PaymentEvents(KafkaTestClient kafka, Topic topic, BooleanSupplier outboxEmpty) {
    this.kafka = kafka;
    this.topic = topic;
    this.outboxEmpty = outboxEmpty;
  }

  /** Every event on the topic now. */
  public List<Event> all() {
    Await.until(SETTLE, "the outbox to be published", outboxEmpty);
    return kafka.readAll(topic).stream().map(PaymentEvents::event).toList();
  }

  /**
   * Every distinct event on the topic now: a fact the relay published twice (at least once, under
   * its one id) counts once. Fails if one id was ever published with two different bodies or keys.
   */
  public Set<Event> distinct() {
    Set<Event> events = new LinkedHashSet<>(all());
    Map<String, Long> perId =
        events.stream().collect(Collectors.groupingBy(Event::id, Collectors.counting()));
    assertThat(perId)
        .as("event ids published with more than one body")
        .allSatisfy((id, versions) -> assertThat(versions).as(id).isOne());
    return events;
  }

  /** Every event now under {@code key}, in order. */
  public List<Event> keyed(Object key) {
    return all().stream().filter(e -> e.key().equals(key.toString())).toList();
  }

  /** Waits until an event of {@code type} is under {@code key}, and returns it. */
  public Event await(Object key, String type, Duration timeout) {
    return Await.value(
        timeout,
        type + " under key " + key + " on " + topic.name(),
        () -> keyed(key).stream().filter(e -> e.type().equals(type)).findFirst());
  }

  /** The events of {@code type} under {@code key} now. */
  public List<Event> ofType(Object key, String type) {
    return keyed(key).stream().filter(e -> e.type().equals(type)).toList();
  }

  private static Event event(ConsumerRecord<String, byte[]> record) {
    try {
      return new Event(record.key(), Json.mapper().readTree(record.value()));
    } catch (IOException e) {
      throw new AssertionError("not JSON on payments.events.v1: " + KafkaTestClient.text(record));
    }
  }
}
