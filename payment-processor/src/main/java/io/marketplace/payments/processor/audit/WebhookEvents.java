package io.marketplace.payments.processor.audit;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import io.marketplace.payments.common.db.RecordSeparated;
import io.marketplace.payments.common.db.Writes;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.kafka.RecordHeaders;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.jdbi.v3.core.Handle;

/**
 * The audit trail of every Stripe event this service received ({@code webhook_events}): the raw
 * body byte for byte, when the gateway received it, and what became of it. Written in the same
 * transaction as the event's effect, so the trail never claims an effect that did not commit.
 */
public final class WebhookEvents {

  private static final int MAX_ERROR_LENGTH = 2000;

  /**
   * Reads a record's text as PostgreSQL's {@code jsonb} does: one JSON value and nothing after it.
   * Jackson otherwise stops after the first value, so a text with more after it read as JSON here
   * and failed the audit row's insert, leaving a dead letter with no trace in the trail.
   */
  private static final ObjectReader WHOLE_TEXT =
      Json.mapper().reader().with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  /** One row of the trail. */
  public record Row(
      String eventId,
      String eventType,
      String payload,
      Instant receivedAt,
      Instant processedAt,
      String status,
      String error) {}

  private final Clock clock;

  public WebhookEvents(Clock clock) {
    this.clock = clock;
  }

  /** The row of an event that was applied (or deliberately ignored). */
  public Row row(
      ConsumerRecord<String, byte[]> record, String eventId, String eventType, Outcome outcome) {
    return new Row(
        eventId,
        eventType,
        new String(record.value(), StandardCharsets.UTF_8),
        receivedAt(record),
        clock.instant(),
        outcome.status().wire(),
        truncate(outcome.note()));
  }

  /**
   * Records an event that kept failing and went to the dead-letter topic. The record may not even
   * be JSON (that may be why it failed): then its text is kept as a JSON string, and an id is made
   * up from its position when it carries none. A blank header is no id, as for the worker's dedupe
   * (StripeEventRouter#dedupeKey): the body's is taken, so that the row is found under the event's
   * id and two such records do not share (and overwrite) one row.
   */
  public void recordFailure(Handle tx, ConsumerRecord<String, byte[]> record, Exception error) {
    String text = record.value() == null ? "" : new String(record.value(), StandardCharsets.UTF_8);
    String payload = isJson(text) ? text : Json.write(TextNode.valueOf(text));
    String id =
        header(record, RecordHeaders.STRIPE_EVENT_ID)
            .or(() -> field(text, "id"))
            .orElse(
                "unidentified:%s-%d@%d"
                    .formatted(record.topic(), record.partition(), record.offset()));
    String type =
        header(record, RecordHeaders.STRIPE_EVENT_TYPE)
            .or(() -> field(text, "type"))
            .orElse("unknown");
    String message = error.getMessage() == null ? error.toString() : error.getMessage();
    upsert(
        tx,
        List.of(
            new Row(
                id,
                type,
                payload,
                receivedAt(record),
                clock.instant(),
                Outcome.Status.FAILED.wire(),
                truncate(error.getClass().getSimpleName() + ": " + message))));
  }

  /**
   * Writes rows in one statement. A later outcome replaces an earlier one only where that one was
   * not final: a dead-lettered event that is re-driven and then applies becomes {@code processed};
   * a {@code processed} or {@code ignored} event never becomes {@code failed}.
   */
  public static void upsert(Handle tx, List<Row> rows) {
    upsert(rows).ifPresent(part -> new Writes().add(part).execute(tx));
  }

  /** The same upsert as a part of a larger write statement; empty when there are no rows. */
  public static Optional<Writes.Part> upsert(List<Row> rows) {
    if (rows.isEmpty()) {
      return Optional.empty();
    }
    List<Row> copy = List.copyOf(rows);
    return Optional.of(
        new Writes.Part(
            """
            INSERT INTO webhook_events
                (event_id, event_type, payload, payload_raw, received_at, processed_at, status,
                 error_message)
            SELECT e.id, e.type, CAST(p.payload AS jsonb), e.raw, e.received, e.processed,
                   e.status, e.error
            FROM unnest(CAST(:audit_ids AS text[]), CAST(:audit_types AS text[]),
                        CAST(:audit_raw AS text[]),
                        CAST(:audit_received AS timestamptz[]),
                        CAST(:audit_processed AS timestamptz[]),
                        CAST(:audit_statuses AS text[]), CAST(:audit_errors AS text[]))
                 WITH ORDINALITY AS e(id, type, raw, received, processed, status, error, position)
            JOIN string_to_table(:audit_payloads, E'\\x1e')
                 WITH ORDINALITY AS p(payload, position) USING (position)
            ON CONFLICT (event_id) DO UPDATE
            SET status = EXCLUDED.status,
                processed_at = EXCLUDED.processed_at,
                error_message = EXCLUDED.error_message
            WHERE webhook_events.status IN ('received', 'failed')
            """,
            update ->
                update
                    .bind("audit_ids", copy.stream().map(Row::eventId).toArray(String[]::new))
                    .bind("audit_types", copy.stream().map(Row::eventType).toArray(String[]::new))
                    // one text: each payload parsed once, into its own jsonb
                    .bind(
                        "audit_payloads",
                        RecordSeparated.join(
                            copy.stream().map(r -> storable(r.payload())).toList()))
                    .bind(
                        "audit_raw",
                        copy.stream()
                            .map(
                                r -> storable(r.payload()).equals(r.payload()) ? null : r.payload())
                            .toArray(String[]::new))
                    .bind(
                        "audit_received",
                        copy.stream().map(r -> r.receivedAt().toString()).toArray(String[]::new))
                    .bind(
                        "audit_processed",
                        copy.stream().map(r -> r.processedAt().toString()).toArray(String[]::new))
                    .bind("audit_statuses", copy.stream().map(Row::status).toArray(String[]::new))
                    .bind("audit_errors", copy.stream().map(Row::error).toArray(String[]::new))));
  }

  /**
   * The payload as {@code jsonb} can hold it. JSON may carry characters that PostgreSQL's {@code
   * jsonb} rejects, failing the whole batch and with it the payments it carries: U+0000 (escaped as
   * backslash-u-0000) and half of a UTF-16 surrogate pair without its other half (an escape such as
   * backslash-u-d800 on its own), both possible in any customer-written text (a description,
   * metadata). Such a payload is kept in {@code payload} with each of them replaced by U+FFFD (so
   * it stays queryable) and byte for byte in {@code payload_raw}; every other payload is stored as
   * it is, {@code payload_raw} NULL. A payload holding an unescaped U+001E, which no JSON text
   * does, is not JSON: it is kept as a JSON string, so that it cannot split the batch's payloads
   * (see {@link RecordSeparated}).
   */
  static String storable(String payload) {
    if (payload.indexOf("\\u0000") < 0
        && payload.indexOf('\0') < 0
        && payload.indexOf(RecordSeparated.SEPARATOR) < 0
        && !hasUnpairedSurrogateEscape(payload)) {
      return payload;
    }
    try {
      JsonNode tree = Json.mapper().readTree(payload);
      return Json.write(storableTree(tree));
    } catch (IOException e) {
      // not JSON after all (a dead letter's body is wrapped as a JSON string before it gets here)
      return Json.write(TextNode.valueOf(storableText(payload)));
    }
  }

  /**
   * Whether the text holds an escape of a surrogate that is not part of an escaped pair (high, then
   * low). Errs towards yes (an escaped backslash followed by "u" and four hex digits reads as an
   * escape here): the payload then only takes the longer way through a tree.
   */
  static boolean hasUnpairedSurrogateEscape(String payload) {
    for (int at = payload.indexOf("\\u"); at >= 0; at = payload.indexOf("\\u", at + 1)) {
      int unit = escapedUnit(payload, at);
      if (unit < 0 || !Character.isSurrogate((char) unit)) {
        continue;
      }
      if (Character.isLowSurrogate((char) unit)) {
        return true;
      }
      int next = escapedUnit(payload, at + 6);
      if (next < 0 || !Character.isLowSurrogate((char) next)) {
        return true;
      }
      at += 6; // the pair's low half is read: go on after it
    }
    return false;
  }

  /** The UTF-16 unit of the escape backslash-u-XXXX at {@code at}; -1 when there is none. */
  private static int escapedUnit(String text, int at) {
    if (at + 6 > text.length() || text.charAt(at) != '\\' || text.charAt(at + 1) != 'u') {
      return -1;
    }
    int unit = 0;
    for (int i = at + 2; i < at + 6; i++) {
      int digit = Character.digit(text.charAt(i), 16);
      if (digit < 0) {
        return -1;
      }
      unit = unit * 16 + digit;
    }
    return unit;
  }

  private static JsonNode storableTree(JsonNode node) {
    if (node.isTextual()) {
      return TextNode.valueOf(storableText(node.textValue()));
    }
    if (node.isObject()) {
      ObjectNode copy = Json.mapper().createObjectNode();
      node.fields()
          .forEachRemaining(f -> copy.set(storableText(f.getKey()), storableTree(f.getValue())));
      return copy;
    }
    if (node.isArray()) {
      ArrayNode copy = Json.mapper().createArrayNode();
      node.forEach(element -> copy.add(storableTree(element)));
      return copy;
    }
    return node;
  }

  /** The text with U+0000 and every surrogate not in a pair replaced by U+FFFD. */
  private static String storableText(String text) {
    StringBuilder out = null;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      boolean pair =
          Character.isHighSurrogate(c)
              && i + 1 < text.length()
              && Character.isLowSurrogate(text.charAt(i + 1));
      if (pair) {
        if (out != null) {
          out.append(c).append(text.charAt(i + 1));
        }
        i++;
        continue;
      }
      boolean refused = c == '\0' || Character.isSurrogate(c);
      if (refused && out == null) {
        out = new StringBuilder(text.length()).append(text, 0, i);
      }
      if (out != null) {
        out.append(refused ? '\uFFFD' : c);
      }
    }
    return out == null ? text : out.toString();
  }

  /** When the gateway received the event: its header, else the record's timestamp. */
  private Instant receivedAt(ConsumerRecord<String, byte[]> record) {
    Optional<String> header = RecordHeaders.get(record.headers(), RecordHeaders.RECEIVED_AT);
    if (header.isPresent()) {
      try {
        return Instant.parse(header.get());
      } catch (DateTimeParseException e) {
        // a malformed header does not make the event less real; fall through
      }
    }
    return record.timestamp() > 0 ? Instant.ofEpochMilli(record.timestamp()) : clock.instant();
  }

  private static boolean isJson(String text) {
    try {
      return !text.isBlank() && WHOLE_TEXT.readTree(text) != null;
    } catch (IOException e) {
      return false;
    }
  }

  private static Optional<String> header(ConsumerRecord<String, byte[]> record, String name) {
    return RecordHeaders.get(record.headers(), name).filter(value -> !value.isBlank());
  }

  private static Optional<String> field(String text, String name) {
    try {
      var node = Json.mapper().readTree(text);
      return node != null && node.path(name).isTextual() && !node.path(name).asText().isBlank()
          ? Optional.of(node.path(name).asText())
          : Optional.empty();
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  private static String truncate(String text) {
    return text == null || text.length() <= MAX_ERROR_LENGTH
        ? text
        : text.substring(0, MAX_ERROR_LENGTH);
  }
}
