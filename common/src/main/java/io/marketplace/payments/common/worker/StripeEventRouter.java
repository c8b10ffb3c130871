package io.marketplace.payments.common.worker;

import io.marketplace.payments.common.kafka.RecordHeaders;
import io.marketplace.payments.common.logging.Mdc;
import io.marketplace.payments.common.stripe.StripeEvent;
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

  public StripeEventRouter(Map<String, Action> byType, Action otherwise) {
    this.byType = Map.copyOf(byType);
    this.otherwise = otherwise;
  }

  /** Ignores types not in the table: they are still recorded as applied, so never re-read. */
  public static StripeEventRouter of(Map<String, Action> byType) {
    return new StripeEventRouter(byType, (tx, event) -> {});
  }

  public boolean handles(String type) {
    return byType.containsKey(type);
  }

  @Override
  public String dedupeKey(ConsumerRecord<String, byte[]> record) {
    Optional<String> fromHeader =
        RecordHeaders.get(record.headers(), RecordHeaders.STRIPE_EVENT_ID);
    return fromHeader.orElseGet(() -> StripeEvent.parse(record.value()).id());
  }

  @Override
  public void apply(Handle tx, ConsumerRecord<String, byte[]> record) throws Exception {
    StripeEvent event = StripeEvent.parse(record.value());
    try (var a = Mdc.put(Mdc.STRIPE_EVENT_TYPE, event.type());
        var b = Mdc.put(Mdc.PAYMENT_INTENT_ID, event.paymentIntentId().orElse(null))) {
      byType.getOrDefault(event.type(), otherwise).apply(tx, event);
    }
  }
}
