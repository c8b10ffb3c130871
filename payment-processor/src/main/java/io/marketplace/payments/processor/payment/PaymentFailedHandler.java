package io.marketplace.payments.processor.payment;

import io.marketplace.payments.common.stripe.StripeEvent;
import io.marketplace.payments.processor.audit.Outcome;
import io.marketplace.payments.processor.batch.PaymentBatch;
import java.util.Optional;

/**
 * {@code payment_intent.payment_failed}: an attempt was declined; the payment is marked {@code
 * failed} with Stripe's message (the user may try again with the same PaymentIntent) and {@code
 * payment.failed} is published, once per attempt ({@code payment_failed_attempts}): Stripe may
 * report one declined attempt in two events with different ids, and the second announces nothing,
 * whether the attempt made a charge or failed before one ({@link StripeEvent#failedAttempt}). An
 * attempt reported late, after the payment's success or after a later attempt's failure, is
 * announced all the same (dated when it failed), but changes nothing on the payment: what
 * subscribers learn does not depend on the order in which Stripe delivers.
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
    String message = storable(text(event, "last_payment_error.message"));
    String attempt = event.failedAttempt();
    Payment payment = row.get().purchase();
    boolean recorded = row.get().fail(attempt, message, event.created());
    if (!batch.firstAnnouncementOfFailure(attempt, payment.paymentIntentId(), event.created())) {
      return Outcome.ignored("attempt " + attempt + " is already announced");
    }
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
    if (recorded) {
      return Outcome.processed();
    }
    return Outcome.processed(
        "announced; the payment "
            + ("failed".equals(row.get().status())
                ? "keeps the later attempt " + row.get().failedAttempt()
                : "stays " + row.get().status()));
  }

  /**
   * Stripe's message as a PostgreSQL text can hold it: U+0000, which JSON may carry escaped and a
   * text column refuses (failing the decline's transaction, so that the decline went to the
   * dead-letter topic unrecorded and unannounced), replaced by U+FFFD, as the audit trail does. The
   * announcement says the same as the row.
   */
  private static String storable(String message) {
    return message == null ? null : message.replace('\0', '\uFFFD');
  }

  private static String text(StripeEvent event, String path) {
    var node = event.field(path);
    return node.isTextual() ? node.asText() : null;
  }
}
