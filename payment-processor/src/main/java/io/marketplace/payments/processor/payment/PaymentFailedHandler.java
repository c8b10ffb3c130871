package io.marketplace.payments.processor.payment;

import io.marketplace.payments.common.stripe.StripeEvent;
import io.marketplace.payments.processor.audit.Outcome;
import io.marketplace.payments.processor.tx.PendingWrites;
import org.jdbi.v3.core.Handle;

/**
 * {@code payment_intent.payment_failed}: an attempt was declined; the payment is marked {@code
 * failed} with Stripe's message (the user may try again with the same PaymentIntent) and {@code
 * payment.failed} is published. A failure reported after the success, out of order, changes
 * nothing.
 */
public final class PaymentFailedHandler {

  private final Payments payments;
  private final PaymentMetrics metrics;
  private final PendingWrites writes;

  public PaymentFailedHandler(Payments payments, PaymentMetrics metrics, PendingWrites writes) {
    this.payments = payments;
    this.metrics = metrics;
    this.writes = writes;
  }

  public Outcome handle(Handle tx, StripeEvent event) {
    String message = text(event, "last_payment_error.message");
    Payments.Moved moved =
        payments.transition(tx, event, pi -> payments.markFailed(tx, pi, message));
    if (!moved.isMoved()) {
      return moved.ignored();
    }
    PaymentFacts.failed(
        writes,
        tx,
        moved.payment(),
        event.id(),
        text(event, "last_payment_error.code"),
        text(event, "last_payment_error.decline_code"),
        message,
        event.created());
    metrics.failedOnCommit(tx, moved.payment().type());
    return Outcome.processed();
  }

  private static String text(StripeEvent event, String path) {
    var node = event.field(path);
    return node.isTextual() ? node.asText() : null;
  }
}
