package io.marketplace.payments.refunds.refund;

import io.marketplace.payments.common.events.DeliveryCommand;
import io.marketplace.payments.common.events.WithdrawalCommand;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.outbox.Destination;
import io.marketplace.payments.common.outbox.Outbox;
import io.marketplace.payments.common.refund.RefundDao;
import java.time.Clock;
import java.time.Instant;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Purchases the payment processor held back because all of their money had gone back when their
 * success was applied ({@code payments.delivery_withheld_at}): a chargeback or a dashboard refund
 * this worker recorded first, reading {@code stripe.events.v1} from its own place. When money of
 * such a payment comes back to us, the processor is asked, through {@code
 * payments.internal.delivery-commands.v1}, to deliver the purchase (or refund it if it can no
 * longer be delivered): the customer paid, and must get one or the other. One command per fact that
 * gave money back, under an id fixed by it, so the same fact told again asks nothing new; the
 * processor checks again, under the payment's lock, what is held back and what went back. In the
 * other order, when this worker records the money gone after the processor delivered the purchase,
 * it asks the processor to take the purchase back if it went out after Stripe took the money
 * ({@link #withdrawIfDelivered}): the same end whichever of the two learns first.
 */
public final class WithheldDeliveries {

  private static final Logger log = LoggerFactory.getLogger(WithheldDeliveries.class);

  private final Clock clock;

  public WithheldDeliveries(Clock clock) {
    this.clock = clock;
  }

  /** The statement on {@code payments} that this needs. */
  public interface Store {

    /** Whether the succeeded payment's purchase is held back. */
    @SqlQuery(
        """
        SELECT EXISTS (SELECT 1 FROM payments
                       WHERE stripe_payment_intent_id = :pi AND status = 'succeeded'
                         AND delivery_withheld_at IS NOT NULL)
        """)
    boolean withheld(@Bind("pi") String paymentIntentId);
  }

  /**
   * Money of the payment came back ({@code cause}: {@code dispute du_... won}, {@code refund re_...
   * failed}): asks for the delivery of its purchase if the processor held it back and not all of
   * its money is gone now. The caller holds the payment's lock.
   */
  public void requestIfWithheld(Handle tx, Payment payment, String cause) {
    String pi = payment.paymentIntentId();
    if (!tx.attach(Store.class).withheld(pi)) {
      return;
    }
    long returned = tx.attach(RefundDao.class).returnedCents(pi);
    if (returned >= payment.amountCents()) {
      log.info(
          "{}: {}, but {} of its {} cents are still gone back; its {} stays held back",
          pi,
          cause,
          returned,
          payment.amountCents(),
          payment.paymentType());
      return;
    }
    DeliveryCommand command =
        new DeliveryCommand(DeliveryCommand.idFor(pi, cause), pi, cause, clock.instant());
    if (Outbox.append(
        tx,
        Destination.DELIVERY_COMMANDS,
        command.id(),
        pi,
        DeliveryCommand.TYPE,
        Json.write(command))) {
      log.info(
          "{}: {}; its {}, held back while its money was gone, is to be delivered",
          pi,
          cause,
          payment.paymentType());
    }
  }

  /**
   * Money of the payment went back ({@code cause}: {@code refund re_... recorded}, {@code dispute
   * du_...}), taken by Stripe at {@code returnedAt}: when that leaves none of the succeeded
   * payment's money with us and the processor did not hold its purchase back (it applied the
   * success before this worker recorded the money gone), asks it, through {@code
   * payments.internal.delivery-commands.v1}, to take back a purchase that went out after {@code
   * returnedAt}, as it would have held it back in the other order. The processor looks again under
   * the payment's lock, and decides by when the purchase went out. A payment not succeeded yet
   * needs nothing: its success, applied under the same lock, sees the money gone. One command per
   * fact, under an id fixed by it. The caller holds the payment's lock.
   */
  public void withdrawIfDelivered(Handle tx, Payment payment, Instant returnedAt, String cause) {
    String pi = payment.paymentIntentId();
    if (!payment.succeeded() || tx.attach(Store.class).withheld(pi)) {
      return;
    }
    long returned = tx.attach(RefundDao.class).returnedCents(pi);
    if (returned < payment.amountCents()) {
      return;
    }
    WithdrawalCommand command =
        new WithdrawalCommand(
            WithdrawalCommand.idFor(pi, cause), pi, cause, returnedAt, clock.instant());
    if (Outbox.append(
        tx,
        Destination.DELIVERY_COMMANDS,
        command.id(),
        pi,
        WithdrawalCommand.TYPE,
        Json.write(command))) {
      log.info(
          "{}: {}; all of its {} cents went back at {}: its {}, if it went out after, is to be"
              + " taken back",
          pi,
          cause,
          payment.amountCents(),
          returnedAt,
          payment.paymentType());
    }
  }
}
