package io.marketplace.payments.ops.dlq;

import com.fasterxml.jackson.databind.JsonNode;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.kafka.RecordHeaders;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.StreamSupport;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeader;

/**
 * One record of a {@code <topic>.dlq} topic: the source record as it was (key, value, headers) plus
 * what the worker added when it gave up on it (SPEC §4: error-class, error-message, failed-at,
 * consumer; and where it came from).
 *
 * @param eventId the Stripe event id for Stripe events, else the record's own event id
 * @param redriveOf the dead letter this record is a redrive of, when it failed again
 */
public record DeadLetter(
    String dlqTopic,
    int partition,
    long offset,
    String sourceTopic,
    Integer sourcePartition,
    Instant failedAt,
    String consumer,
    String errorClass,
    String errorMessage,
    String eventId,
    String eventType,
    String key,
    byte[] value,
    List<Header> originalHeaders,
    String redriveOf) {

  /** Set on a redriven record: the dead letter it came from. */
  public static final String REDRIVEN_FROM = "redriven-from";

  /** What the worker added to the source record; a redrive sends the record back without them. */
  static final Set<String> DEAD_LETTER_HEADERS =
      Set.of(
          RecordHeaders.ERROR_CLASS,
          RecordHeaders.ERROR_MESSAGE,
          RecordHeaders.FAILED_AT,
          RecordHeaders.CONSUMER,
          RecordHeaders.SOURCE_TOPIC,
          RecordHeaders.SOURCE_PARTITION,
          RecordHeaders.SOURCE_OFFSET,
          RecordHeaders.REDRIVEN_FOR,
          REDRIVEN_FROM);

  /** Where this dead letter sits: {@code <dlq topic>/<partition>/<offset>}. */
  public String coordinates() {
    return dlqTopic + "/" + partition + "/" + offset;
  }

  static DeadLetter of(ConsumerRecord<String, byte[]> record) {
    Headers headers = record.headers();
    String dlq = record.topic();
    String source =
        RecordHeaders.get(headers, RecordHeaders.SOURCE_TOPIC)
            .orElse(dlq.endsWith(".dlq") ? dlq.substring(0, dlq.length() - 4) : dlq);
    Optional<JsonNode> body = json(record.value());
    String eventId =
        RecordHeaders.get(headers, RecordHeaders.STRIPE_EVENT_ID)
            .or(() -> RecordHeaders.get(headers, RecordHeaders.EVENT_ID))
            .or(() -> body.map(b -> b.path("id").asText(null)))
            .orElse(record.key());
    String eventType =
        RecordHeaders.get(headers, RecordHeaders.STRIPE_EVENT_TYPE)
            .or(() -> RecordHeaders.get(headers, RecordHeaders.EVENT_TYPE))
            .or(() -> body.map(b -> b.path("type").asText(null)))
            .or(() -> body.map(b -> b.path("decision").asText(null)).map(d -> "moderation." + d))
            .orElse(null);
    List<Header> original =
        StreamSupport.stream(headers.spliterator(), false)
            .filter(h -> !DEAD_LETTER_HEADERS.contains(h.key()))
            .map(h -> (Header) new RecordHeader(h.key(), h.value()))
            .toList();
    return new DeadLetter(
        dlq,
        record.partition(),
        record.offset(),
        source,
        RecordHeaders.get(headers, RecordHeaders.SOURCE_PARTITION)
            .flatMap(DeadLetter::integer)
            .orElse(null),
        RecordHeaders.get(headers, RecordHeaders.FAILED_AT)
            .flatMap(DeadLetter::instant)
            .orElse(Instant.ofEpochMilli(record.timestamp())),
        RecordHeaders.get(headers, RecordHeaders.CONSUMER).orElse(null),
        RecordHeaders.get(headers, RecordHeaders.ERROR_CLASS).orElse(null),
        RecordHeaders.get(headers, RecordHeaders.ERROR_MESSAGE).orElse(null),
        eventId,
        eventType,
        record.key(),
        record.value(),
        original,
        RecordHeaders.get(headers, REDRIVEN_FROM).orElse(null));
  }

  /** The error in one line: the exception's simple name and its message. */
  public String error() {
    String name = errorClass == null ? "?" : errorClass.substring(errorClass.lastIndexOf('.') + 1);
    String message = errorMessage == null ? "" : ": " + errorMessage.replaceAll("\\s+", " ");
    return name + message;
  }

  private static Optional<JsonNode> json(byte[] value) {
    if (value == null) {
      return Optional.empty();
    }
    try {
      JsonNode node = Json.mapper().readTree(new String(value, StandardCharsets.UTF_8));
      return node != null && node.isObject() ? Optional.of(node) : Optional.empty();
    } catch (Exception e) {
      return Optional.empty();
    }
  }

  private static Optional<Instant> instant(String text) {
    try {
      return Optional.of(Instant.parse(text));
    } catch (DateTimeParseException e) {
      return Optional.empty();
    }
  }

  private static Optional<Integer> integer(String text) {
    try {
      return Optional.of(Integer.parseInt(text));
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
  }
}
