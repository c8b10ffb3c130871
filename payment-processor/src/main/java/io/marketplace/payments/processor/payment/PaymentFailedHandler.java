package io.marketplace.payments.processor.payment;

import io.marketplace.payments.common.stripe.StripeEvent;
import io.marketplace.payments.processor.audit.Outcome;
import io.marketplace.payments.processor.batch.PaymentBatch;
import java.util.Optional;

/**
 * {@code payment_intent.payment_failed}: an attempt was declined; the payment is marked {@code
 * failed} with Stripe's message (the user may try again with the same PaymentIntent) and {@code
 * payment.failed} is published, once per attempt: Stripe may report one declined attempt (one
 * charge) in two events, and the second changes nothing, even when it comes after a later attempt's
 * (it is older than the failure recorded). A failure reported after the success, out of order,
 * changes nothing either.
 */
public final class PaymentFailedHandler {

  private final PaymentMetrics metrics;

  public PaymentFailedHandler(PaymentMetrics metrics) {
    this.metrics = metrics;
  }

  public Outcome handle(PaymentBatch batch, StripeEvent event) {
    Optional<PaymentRow> row = batch.payment(event.paymentIntentId().orElseThrow());
    if (row.isEmpty()) {
      return Outcome.ignored(PaymentOutcomes.NOT_OURS);
    }
    String message = text(event, "last_payment_error.message");
    String attempt = event.failedAttempt();
    if (!row.get().fail(attempt, message, event.created())) {
      if (attempt.equals(row.get().failedAttempt())) {
        return Outcome.ignored("attempt " + attempt + " is already recorded");
      }
      return "failed".equals(row.get().status())
          ? Outcome.ignored(
              "attempt " + attempt + " failed before the recorded " + row.get().failedAttempt())
          : PaymentOutcomes.already(row.get());
    }
    Payment payment = row.get().purchase();
    PaymentFacts.failed(
        batch,
        payment,
        attempt,
        event.id(),
        text(event, "last_payment_error.code"),
        text(event, "last_payment_error.decline_code"),
        message,
        event.created());
    batch.afterCommit(() -> metrics.failed(payment.type()));
    return Outcome.processed();
  }

  private static String text(StripeEvent event, String path) {
    var node = event.field(path);
    return node.isTextual() ? node.asText() : null;
  }
}
