package io.marketplace.payments.refunds.refund;

import io.marketplace.payments.common.refund.RefundStatus;

/**
 * One record of a payment's automatic refund: part 0 is the decision, later parts what came back.
 */
public record AutomaticPart(int automaticPart, long amountCents, String status) {

  public RefundStatus refundStatus() {
    return RefundStatus.fromWire(status);
  }
}
