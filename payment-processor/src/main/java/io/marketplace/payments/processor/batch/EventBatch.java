package io.marketplace.payments.processor.batch;

import io.marketplace.payments.common.logging.Mdc;
import io.marketplace.payments.common.stripe.StripeEvent;
import io.marketplace.payments.processor.audit.Outcome;
import io.marketplace.payments.processor.audit.WebhookEvents;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.jdbi.v3.core.Handle;

/**
 * The Stripe events of one worker transaction, applied together when the worker has handed over its
 * whole poll: their rows are read once ({@link PaymentBatch#load}), each event's handler runs in
 * order, and the changes are written once, all before the transaction commits. If anything fails,
 * the transaction rolls back and the worker retries its records one by one, so a bad event fails
 * alone and goes to the dead-letter topic.
 *
 * <p>Confined to the worker thread, and valid only inside a transaction opened by {@link
 * CompleteBeforeCommit}: deferring through any other handle throws rather than losing the event.
 */
public final class EventBatch {

  /** What an event does to the rows of its batch. */
  @FunctionalInterface
  public interface Handler {
    Outcome handle(PaymentBatch batch, StripeEvent event);
  }

  private record Deferred(
      ConsumerRecord<String, byte[]> record,
      StripeEvent event,
      Handler handler,
      boolean concernsPayment) {}

  private final WebhookEvents audit;
  private final List<Deferred> deferred = new ArrayList<>();
  private Handle open;

  public EventBatch(WebhookEvents audit) {
    this.audit = audit;
  }

  /**
   * Queues an event for the end of the transaction.
   *
   * @param concernsPayment whether the event moves a payment (its PaymentIntent's rows are read)
   */
  public void defer(
      Handle tx,
      ConsumerRecord<String, byte[]> record,
      StripeEvent event,
      Handler handler,
      boolean concernsPayment) {
    if (open == null || open != Objects.requireNonNull(tx, "tx")) {
      throw new IllegalStateException("an event deferred outside the worker's transaction");
    }
    deferred.add(new Deferred(record, event, handler, concernsPayment));
  }

  boolean isOpenOn(Handle tx) {
    return open == tx;
  }

  void open(Handle tx) {
    deferred.clear();
    open = tx;
  }

  /** Applies the queued events through {@code tx}, which then commits. */
  void complete(Handle tx) {
    if (deferred.isEmpty()) {
      return;
    }
    PaymentBatch batch =
        PaymentBatch.load(
            tx, deferred.stream().filter(Deferred::concernsPayment).map(Deferred::event).toList());
    for (Deferred d : deferred) {
      try (var a = Mdc.put(Mdc.STRIPE_EVENT_ID, d.event().id());
          var b = Mdc.put(Mdc.STRIPE_EVENT_TYPE, d.event().type());
          var c = Mdc.put(Mdc.PAYMENT_INTENT_ID, d.event().paymentIntentId().orElse(null))) {
        Outcome outcome = d.handler().handle(batch, d.event());
        batch.audit(audit.row(d.record(), d.event().id(), d.event().type(), outcome));
      }
    }
    batch.write();
  }

  /** Forgets the queue: the transaction ended. */
  void close() {
    deferred.clear();
    open = null;
  }
}
