package io.marketplace.payments.processor.refund;

import io.marketplace.payments.common.events.RefundCommand;
import io.marketplace.payments.common.outbox.Destination;
import io.marketplace.payments.processor.batch.PaymentBatch;
import io.marketplace.payments.processor.payment.Payment;
import java.time.Instant;

/**
 * A payment that succeeded for something we can no longer deliver is a technical failure: the
 * refund worker is asked, through {@code payments.internal.refund-commands.v1}, to refund it
 * automatically. The command's id is derived from the PaymentIntent, so asking again is a no-op.
 */
public final class TechnicalFailures {

  public static final String REASON = "technical_failure";

  /** The {@code event-type} header of the command on the internal topic. */
  public static final String COMMAND_TYPE = "refund.command";

  private TechnicalFailures() {}

  /**
   * Asks for the refund of {@code payment}, as of {@code paidAt}, when Stripe took the money: the
   * purchase could not be delivered from that moment on, and the refund worker's 24 h rule must
   * give what it would have given had the event been applied on time. Dated by when the processor
   * applied it, a payment applied over a day late (a backlog after an outage, a reconcile repair of
   * a lost webhook) would wait for an admin's review, who may refuse it, instead of going back at
   * once, though it bought nothing.
   */
  public static void requestRefund(
      PaymentBatch batch, Payment payment, String problem, Instant paidAt) {
    var command =
        new RefundCommand(
            RefundCommand.idFor(payment.paymentIntentId(), REASON),
            payment.paymentIntentId(),
            payment.listingId(),
            payment.userId(),
            REASON,
            problem,
            paidAt);
    batch.send(
        Destination.REFUND_COMMANDS,
        command.id(),
        payment.paymentIntentId(),
        COMMAND_TYPE,
        command);
  }
}
