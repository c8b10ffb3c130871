package io.marketplace.payments.refunds.refund;

import io.marketplace.payments.common.refund.RefundStatus;

/**
 * One record of a payment's automatic refund: part 0 is the decision, later parts what came back.
 * {@code closeOutcome} is an admin's close of a failed part ({@code refunded_elsewhere}, {@code
 * not_owed}), the refund worker's ({@code superseded}), or null.
 */
public record AutomaticPart(
    int automaticPart, long amountCents, String status, String closeOutcome) {

  public RefundStatus refundStatus() {
    return RefundStatus.fromWire(status);
  }

  /**
   * Whether its amount is still this decision's to give, apart from the money counted as returned:
   * pending, or failed and not paid back another way (that one is counted as returned already).
   */
  public boolean stillDecided() {
    return refundStatus() == RefundStatus.PENDING
        || (refundStatus() == RefundStatus.FAILED
            && !"refunded_elsewhere".equals(closeOutcome)
            && !superseded());
  }

  /**
   * Rejected by an admin: the decision's refund is not owed, so nothing that comes back is owed by
   * it. A pending part the refund worker closed as {@link #superseded()} is rejected too, but for a
   * later part that owes what is left.
   */
  public boolean rejectedByAnAdmin() {
    return refundStatus() == RefundStatus.REJECTED && !superseded();
  }

  /**
   * Closed by the refund worker when it no longer fitted in what was left of the payment, money
   * having gone back outside the system: a later part owes what was left instead ({@link
   * RefundDecisions#supersedeWhatNoLongerFits}).
   */
  public boolean superseded() {
    return RefundDecisions.SUPERSEDED.equals(closeOutcome);
  }
}
