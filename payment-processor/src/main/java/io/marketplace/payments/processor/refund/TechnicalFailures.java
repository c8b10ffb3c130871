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

  public static void requestRefund(
      PaymentBatch batch, Payment payment, String problem, Instant now) {
    var command =
        new RefundCommand(
            RefundCommand.idFor(payment.paymentIntentId(), REASON),
            payment.paymentIntentId(),
            payment.listingId(),
            payment.userId(),
            REASON,
            problem,
            now);
    batch.send(
        Destination.REFUND_COMMANDS,
        command.id(),
        payment.paymentIntentId(),
        COMMAND_TYPE,
        command);
  }
}
