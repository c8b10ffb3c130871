package io.marketplace.payments.common.worker;

import io.marketplace.payments.common.kafka.RecordHeaders;
import io.marketplace.payments.common.logging.Mdc;
import io.marketplace.payments.common.stripe.StripeEvent;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.jdbi.v3.core.Handle;

/**
 * A {@link RecordHandler} for {@code stripe.events.v1}: dedupes on the Stripe event id and answers,
 * in one table, what happens on each event type. Types not in the table go to {@code otherwise}.
 */
public final class StripeEventRouter implements RecordHandler {

  /** The effect of one Stripe event type. */
  @FunctionalInterface
  public interface Action {
    void apply(Handle tx, StripeEvent event) throws Exception;
  }

  private final Map<String, Action> byType;
  private final Action otherwise;
  private final boolean ignoresOthers;

  public StripeEventRouter(Map<String, Action> byType, Action otherwise) {
    this(byType, otherwise, false);
  }

  private StripeEventRouter(Map<String, Action> byType, Action otherwise, boolean ignoresOthers) {
    this.byType = Map.copyOf(byType);
    this.otherwise = otherwise;
    this.ignoresOthers = ignoresOthers;
  }

  /**
   * Ignores types not in the table: a record whose {@code stripe-event-type} header names one is
   * skipped before any database work; one without the header is parsed, and recorded as applied.
   */
  public static StripeEventRouter of(Map<String, Action> byType) {
    return new StripeEventRouter(byType, (tx, event) -> {}, true);
  }

  public boolean handles(String type) {
    return byType.containsKey(type);
  }

  @Override
  public boolean handles(ConsumerRecord<String, byte[]> record) {
    if (!ignoresOthers) {
      return true;
    }
    return RecordHeaders.get(record.headers(), RecordHeaders.STRIPE_EVENT_TYPE)
        .map(this::handles)
        .orElse(true);
  }

  /**
   * The event id, from the {@code stripe-event-id} header the gateway sets (no parse before the
   * dedupe), else from the body. {@link #apply} refuses a record whose header names another event
   * than its body: applied under the header's id, its own would never be recorded as applied.
   */
  @Override
  public String dedupeKey(ConsumerRecord<String, byte[]> record) {
    return RecordHeaders.get(record.headers(), RecordHeaders.STRIPE_EVENT_ID)
        .filter(id -> !id.isBlank())
        .orElseGet(() -> StripeEvent.parse(record.value()).id());
  }

  @Override
  public void apply(Handle tx, ConsumerRecord<String, byte[]> record) throws Exception {
    StripeEvent parsed = StripeEvent.parse(record.value());
    String key = dedupeKey(record);
    if (!key.equals(parsed.id())) {
      throw new IllegalArgumentException(
          "header stripe-event-id "
              + key
              + " names another event than the body's id "
              + parsed.id()
              + ": not a record the gateway wrote");
    }
    StripeEvent event = dated(parsed, record);
    try (var a = Mdc.put(Mdc.STRIPE_EVENT_TYPE, event.type());
        var b = Mdc.put(Mdc.PAYMENT_INTENT_ID, event.paymentIntentId().orElse(null))) {
      byType.getOrDefault(event.type(), otherwise).apply(tx, event);
    }
  }

  /**
   * The event with a creation time: its own, else when the gateway received it (the {@code
   * received-at} header, which a reconcile repair sets too), a moment later. Dated 1970 instead, a
   * payment would be older than every 24 h rule (a rejection minutes later refunded only after an
   * admin's review), and a bump or a succeeded date would read as decades old. An event that can be
   * dated neither way is refused, for a person to look at.
   */
  private static StripeEvent dated(StripeEvent event, ConsumerRecord<String, byte[]> record) {
    if (event.created() != null) {
      return event;
    }
    return RecordHeaders.get(record.headers(), RecordHeaders.RECEIVED_AT)
        .flatMap(StripeEventRouter::instant)
        .filter(receivedAt -> receivedAt.getEpochSecond() > 0)
        .map(event::withCreated)
        .orElseThrow(
            () ->
                new IllegalArgumentException(
                    "event "
                        + event.id()
                        + " states no creation time and its record has no valid "
                        + RecordHeaders.RECEIVED_AT
                        + " header: it cannot be dated"));
  }

  private static Optional<Instant> instant(String text) {
    try {
      return Optional.of(Instant.parse(text.strip()));
    } catch (DateTimeParseException e) {
      return Optional.empty();
    }
  }
}
