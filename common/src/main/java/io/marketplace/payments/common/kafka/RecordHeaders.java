package io.marketplace.payments.common.kafka;

import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

/** The header names of SPEC §4 and UTF-8 access to them. */
public final class RecordHeaders {

  public static final String STRIPE_EVENT_ID = "stripe-event-id";
  public static final String STRIPE_EVENT_TYPE = "stripe-event-type";
  public static final String RECEIVED_AT = "received-at";
  public static final String EVENT_ID = "event-id";
  public static final String EVENT_TYPE = "event-type";
  public static final String ERROR_CLASS = "error-class";
  public static final String ERROR_MESSAGE = "error-message";
  public static final String FAILED_AT = "failed-at";
  public static final String CONSUMER = "consumer";
  public static final String SOURCE_TOPIC = "source-topic";
  public static final String SOURCE_PARTITION = "source-partition";
  public static final String SOURCE_OFFSET = "source-offset";

  /**
   * On a dead letter sent back to its source topic ({@code ./payments dlq redrive}): the consumer
   * group that gave up on it, the only one to apply it. Another group reading the topic passes it
   * over: it applied the event, or has a dead letter of its own waiting for its own redrive.
   */
  public static final String REDRIVEN_FOR = "redriven-for";

  private RecordHeaders() {}

  public static Optional<String> get(Headers headers, String name) {
    Header header = headers.lastHeader(name);
    return header == null || header.value() == null
        ? Optional.empty()
        : Optional.of(new String(header.value(), StandardCharsets.UTF_8));
  }

  public static void put(Headers headers, String name, String value) {
    headers.remove(name);
    headers.add(name, value.getBytes(StandardCharsets.UTF_8));
  }
}
