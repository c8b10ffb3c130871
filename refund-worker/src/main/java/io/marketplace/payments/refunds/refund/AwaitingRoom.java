package io.marketplace.payments.refunds.refund;

import org.jdbi.v3.core.Handle;

/**
 * What waits for room on a payment, because our records counted its money as gone back: Stripe
 * refunds the records could not hold yet ({@code refunds_awaiting_room}) and automatic refunds
 * decided with nothing left ({@code refund_decisions_awaiting_room}). Whatever gives money back to
 * the payment (a refund Stripe failed, a dispute we won) offers the room here, in its own
 * transaction, so the outcome does not depend on the order in which the events arrived. Stripe's
 * refunds come first: they are money that went back, whereas a decision only owes what is left.
 */
public final class AwaitingRoom {

  private final ExternalRefunds externalRefunds;
  private final RefundDecisions decisions;

  public AwaitingRoom(ExternalRefunds externalRefunds, RefundDecisions decisions) {
    this.externalRefunds = externalRefunds;
    this.decisions = decisions;
  }

  /**
   * Offers the payment's room to what waits for it. Idempotent: what got a record no longer waits,
   * and what still does not fit waits on.
   */
  public void offer(Handle tx, String paymentIntentId) {
    if (tx.attach(RefundStore.class).lockPayment(paymentIntentId).isEmpty()) {
      return;
    }
    externalRefunds.recordWaiting(tx, paymentIntentId);
    decisions.decideWaiting(tx, paymentIntentId);
  }
}
