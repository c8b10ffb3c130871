package io.marketplace.payments.risk;

import com.fasterxml.jackson.databind.JsonNode;
import io.marketplace.payments.common.events.PaymentEventType;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.kafka.RecordHeaders;
import java.io.IOException;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.UUID;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns a super_admin's clear of a user's risk flags, {@code user.risk_cleared} on {@code
 * payments.events.v1}, into an {@link Observation#cleared} of the user, keyed by user id and
 * stamped with when the clear was made ({@code data.clearedAt}; never later than its record's
 * arrival on the topic, as a Stripe event's time, so a clock ahead neither closes windows nor moves
 * the restart past the activity that follows). Every other event of the topic is passed over; one
 * that cannot be read is logged and skipped: the topic is the system's, and a record of it must not
 * stop the counting of Stripe events.
 */
final class RiskClears implements Processor<String, byte[], String, Observation> {

  private static final Logger log = LoggerFactory.getLogger(RiskClears.class);
  private static final String TYPE = PaymentEventType.USER_RISK_CLEARED.wireName();

  private ProcessorContext<String, Observation> context;

  @Override
  public void init(ProcessorContext<String, Observation> context) {
    this.context = context;
  }

  @Override
  public void process(Record<String, byte[]> record) {
    Header type = record.headers().lastHeader(RecordHeaders.EVENT_TYPE);
    if (record.value() == null
        || (type != null
            && !TYPE.equals(new String(type.value(), java.nio.charset.StandardCharsets.UTF_8)))) {
      return; // the relay names each event's type: most of the topic is not read at all
    }
    JsonNode event;
    try {
      event = Json.mapper().readTree(record.value());
    } catch (IOException e) {
      log.warn("a record of payments.events.v1 (key {}) is not JSON: skipped", record.key());
      return;
    }
    if (event == null || !TYPE.equals(event.path("type").asText())) {
      return;
    }
    JsonNode data = event.path("data");
    String user = data.path("userId").asText("");
    String at = data.path("clearedAt").asText(event.path("occurredAt").asText(""));
    Instant clearedAt;
    try {
      UUID.fromString(user);
      clearedAt = Instant.parse(at);
    } catch (IllegalArgumentException | DateTimeParseException e) {
      log.warn(
          "user.risk_cleared {} names no user or time (userId {}, clearedAt {}): skipped",
          event.path("id").asText(),
          user,
          at);
      return;
    }
    Instant arrived = Instant.ofEpochMilli(record.timestamp());
    Instant counted = clearedAt.isAfter(arrived) ? arrived : clearedAt;
    context.forward(new Record<>(user, Observation.cleared(user, counted), counted.toEpochMilli()));
  }
}
