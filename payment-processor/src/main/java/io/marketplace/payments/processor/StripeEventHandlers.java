package io.marketplace.payments.processor;

import io.marketplace.payments.common.stripe.StripeEvent;
import io.marketplace.payments.common.worker.RecordHandler;
import io.marketplace.payments.common.worker.StripeEventRouter;
import io.marketplace.payments.processor.audit.Outcome;
import io.marketplace.payments.processor.audit.WebhookEvents;
import io.marketplace.payments.processor.payment.PaymentCanceledHandler;
import io.marketplace.payments.processor.payment.PaymentFailedHandler;
import io.marketplace.payments.processor.payment.PaymentSucceededHandler;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.jdbi.v3.core.Handle;

/**
 * What the payment processor does with each record of {@code stripe.events.v1}: the table below
 * answers "what happens on event type X?". Every event, whatever its type, is then kept in {@code
 * webhook_events} with its outcome, in the same transaction; an event that kept failing is marked
 * {@code failed} there when it goes to the dead-letter topic.
 *
 * <p>Not thread-safe: a {@code StreamWorker} applies its records one at a time on its own thread.
 */
public final class StripeEventHandlers implements RecordHandler {

  private final StripeEventRouter router;
  private final WebhookEvents audit;

  /** The event being applied and its outcome, handed from the table's action to the audit. */
  private StripeEvent current;

  private Outcome outcome;

  public StripeEventHandlers(
      PaymentSucceededHandler succeeded,
      PaymentFailedHandler failed,
      PaymentCanceledHandler canceled,
      WebhookEvents audit) {
    this.audit = audit;
    this.router =
        new StripeEventRouter(
            Map.of(
                "payment_intent.succeeded", (tx, event) -> done(event, succeeded.handle(tx, event)),
                "payment_intent.payment_failed",
                    (tx, event) -> done(event, failed.handle(tx, event)),
                "payment_intent.canceled", (tx, event) -> done(event, canceled.handle(tx, event))),
            (tx, event) -> done(event, Outcome.ignored("not an event this service acts on")));
  }

  private void done(StripeEvent event, Outcome result) {
    this.current = event;
    this.outcome = result;
  }

  @Override
  public String dedupeKey(ConsumerRecord<String, byte[]> record) {
    return router.dedupeKey(record);
  }

  @Override
  public void apply(Handle tx, ConsumerRecord<String, byte[]> record) throws Exception {
    current = null;
    outcome = null;
    router.apply(tx, record);
    audit.record(tx, record, current.id(), current.type(), outcome);
  }

  @Override
  public void onDeadLetter(Handle tx, ConsumerRecord<String, byte[]> record, Exception error) {
    audit.recordFailure(tx, record, error);
  }
}
