package io.marketplace.payments.processor.payment;

import io.marketplace.payments.common.stripe.StripeEvent;
import io.marketplace.payments.processor.audit.Outcome;
import io.marketplace.payments.processor.batch.PaymentBatch;
import java.util.Optional;

/**
 * {@code payment_intent.canceled}: the PaymentIntent will never be paid; the payment is marked
 * {@code canceled} unless it succeeded. Nothing is published: no money moved and no state that
 * subscribers see changed.
 */
public final class PaymentCanceledHandler {

  public Outcome handle(PaymentBatch batch, StripeEvent event) {
    Optional<PaymentRow> row = batch.payment(event.paymentIntentId().orElseThrow());
    if (row.isEmpty()) {
      return Outcome.ignored(PaymentOutcomes.NOT_OURS);
    }
    return row.get().cancel() ? Outcome.processed() : PaymentOutcomes.already(row.get());
  }
}
