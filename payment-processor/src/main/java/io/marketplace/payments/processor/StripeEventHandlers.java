package io.marketplace.payments.processor;

import io.marketplace.payments.common.stripe.StripeEvent;
import io.marketplace.payments.common.worker.RecordHandler;
import io.marketplace.payments.common.worker.StripeEventRouter;
import io.marketplace.payments.processor.audit.Outcome;
import io.marketplace.payments.processor.audit.WebhookEvents;
import io.marketplace.payments.processor.batch.EventBatch;
import io.marketplace.payments.processor.payment.PaymentCanceledHandler;
import io.marketplace.payments.processor.payment.PaymentFailedHandler;
import io.marketplace.payments.processor.payment.PaymentSucceededHandler;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;

/**
 * What the payment processor does with each record of {@code stripe.events.v1}: the table below
 * answers "what happens on event type X?". Each event's handler runs at the end of the worker's
 * transaction, with the rest of its poll ({@link EventBatch}); every event, whatever its type, is
 * then kept in {@code webhook_events} with its outcome, in the same transaction. An event that kept
 * failing is marked {@code failed} there when it goes to the dead-letter topic.
 *
 * <p>Not thread-safe: a {@code StreamWorker} applies its records one at a time on its own thread.
 */
public final class StripeEventHandlers implements RecordHandler {

  private static final EventBatch.Handler IGNORE =
      (batch, event) -> Outcome.ignored("not an event this service acts on");

  private final StripeEventRouter router;
  private final EventBatch events;
  private final WebhookEvents audit;
  private final Jdbi jdbi;

  /** The table's choice for the record being applied, handed from the router to the batch. */
  private Choice choice;

  private record Choice(StripeEvent event, EventBatch.Handler handler, boolean payment) {}

  public StripeEventHandlers(
      PaymentSucceededHandler succeeded,
      PaymentFailedHandler failed,
      PaymentCanceledHandler canceled,
      EventBatch events,
      WebhookEvents audit,
      Jdbi jdbi) {
    this.events = events;
    this.audit = audit;
    this.jdbi = jdbi;
    this.router =
        new StripeEventRouter(
            Map.of(
                "payment_intent.succeeded", (tx, e) -> choose(e, succeeded::handle),
                "payment_intent.payment_failed", (tx, e) -> choose(e, failed::handle),
                "payment_intent.canceled", (tx, e) -> choose(e, canceled::handle)),
            (tx, e) -> choice = new Choice(e, IGNORE, false));
  }

  /** The Jdbi whose transactions complete this table's batch: the one its worker must use. */
  public Jdbi jdbi() {
    return jdbi;
  }

  private void choose(StripeEvent event, EventBatch.Handler handler) {
    choice = new Choice(event, handler, true);
  }

  @Override
  public String dedupeKey(ConsumerRecord<String, byte[]> record) {
    return router.dedupeKey(record);
  }

  @Override
  public void apply(Handle tx, ConsumerRecord<String, byte[]> record) throws Exception {
    choice = null;
    router.apply(tx, record);
    events.defer(tx, record, choice.event(), choice.handler(), choice.payment());
  }

  @Override
  public void onDeadLetter(Handle tx, ConsumerRecord<String, byte[]> record, Exception error) {
    audit.recordFailure(tx, record, error);
  }
}
