package io.marketplace.payments.refunds.refund;

import io.marketplace.payments.common.promotion.FeaturedPromotions;
import java.time.Clock;
import java.util.Optional;
import org.jdbi.v3.core.Handle;

/**
 * What waits for room on a payment, because our records counted its money as gone back: Stripe
 * refunds the records could not hold yet ({@code refunds_awaiting_room}), automatic refunds decided
 * with nothing left ({@code refund_decisions_awaiting_room}), and the purchase the payment
 * processor held back ({@link WithheldDeliveries}). Whatever gives money back to the payment (a
 * refund Stripe failed, a dispute we won) offers the room here, in its own transaction, so the
 * outcome does not depend on the order in which the events arrived. Stripe's refunds come first:
 * they are money that went back, whereas a decision only owes what is left; then the parts of an
 * automatic refund decided before we heard of a chargeback, which Stripe refused for it and may
 * make now that it is won; then the failed parts of an automatic refund that no longer fit, money
 * having gone back outside the system, which the decision's later part supersedes ({@link
 * RefundDecisions#supersedeWhatNoLongerFits}); then a decision waiting for room; the purchase comes
 * last, delivered only if none of them took all of the money back again. A featured week the
 * returned money had ended when a refund of it was made, which Stripe then failed, is given back on
 * the same terms ({@link FeaturedPromotions#restoreForFailedRefund}): the week delivered late in
 * one order is the week given back in the other.
 */
public final class AwaitingRoom {

  private final ExternalRefunds externalRefunds;
  private final RefundDecisions decisions;
  private final WithheldDeliveries deliveries;
  private final Clock clock;

  public AwaitingRoom(
      ExternalRefunds externalRefunds,
      RefundDecisions decisions,
      WithheldDeliveries deliveries,
      Clock clock) {
    this.externalRefunds = externalRefunds;
    this.decisions = decisions;
    this.deliveries = deliveries;
    this.clock = clock;
  }

  /**
   * Money of the payment came back ({@code cause}: {@code dispute du_... won}, {@code refund re_...
   * failed}): offers its room ({@link #offer(Handle, String)}), then asks for the delivery of a
   * purchase held back while the money was gone, once per {@code cause}.
   */
  public void offer(Handle tx, String paymentIntentId, String cause) {
    Optional<Payment> payment = tx.attach(RefundStore.class).lockPayment(paymentIntentId);
    if (payment.isEmpty()) {
      return;
    }
    offer(tx, paymentIntentId);
    deliveries.requestIfWithheld(tx, payment.get(), cause);
  }

  /**
   * Money of the payment went back for good (a chargeback lost): the parts of its automatic refund
   * that no longer fit give way to a later part that owes what is left ({@link
   * RefundDecisions#supersedeWhatNoLongerFits}). The caller holds the payment's lock.
   */
  public void supersedeWhatNoLongerFits(Handle tx, String paymentIntentId) {
    decisions.supersedeWhatNoLongerFits(tx, paymentIntentId);
  }

  /**
   * Offers the payment's room to what waits for it, then gives back the featured week a refund
   * Stripe failed had helped end, if what waited left room for it. Idempotent: what got a record no
   * longer waits, what still does not fit waits on, and a week is given back once.
   */
  public void offer(Handle tx, String paymentIntentId) {
    if (tx.attach(RefundStore.class).lockPayment(paymentIntentId).isEmpty()) {
      return;
    }
    externalRefunds.recordWaiting(tx, paymentIntentId);
    decisions.retryRefusedForWonDispute(tx, paymentIntentId);
    decisions.supersedeWhatNoLongerFits(tx, paymentIntentId);
    decisions.decideWaiting(tx, paymentIntentId);
    FeaturedPromotions.restoreForFailedRefund(tx, paymentIntentId, clock.instant());
  }
}
