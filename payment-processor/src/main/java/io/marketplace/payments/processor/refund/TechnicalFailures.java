package io.marketplace.payments.processor.refund;

import io.marketplace.payments.common.events.RefundCommand;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.outbox.Destination;
import io.marketplace.payments.processor.payment.Payment;
import io.marketplace.payments.processor.tx.PendingWrites;
import java.time.Instant;
import org.jdbi.v3.core.Handle;

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
      PendingWrites writes, Handle tx, Payment payment, String problem, Instant now) {
    var command =
        new RefundCommand(
            RefundCommand.idFor(payment.paymentIntentId(), REASON),
            payment.paymentIntentId(),
            payment.listingId(),
            payment.userId(),
            REASON,
            problem,
            now);
    writes.append(
        tx,
        Destination.REFUND_COMMANDS,
        command.id(),
        payment.paymentIntentId(),
        COMMAND_TYPE,
        Json.write(command));
  }
}
