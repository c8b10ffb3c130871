package io.marketplace.payments.processor.payment;

import java.time.Instant;

/**
 * Our {@code payments} row of one PaymentIntent inside a batch: the purchase (fixed) and its status
 * (moved by the events of the batch, written back once at its end). Transitions follow Stripe's
 * life of a PaymentIntent; a payment that succeeded never moves again: Stripe took the money.
 */
public final class PaymentRow {

  private final Payment purchase;
  private final boolean rebuilt;
  private String status;
  private Instant succeededAt;
  private String failureMessage;
  private boolean changed;

  public PaymentRow(
      Payment purchase,
      String status,
      Instant succeededAt,
      String failureMessage,
      boolean rebuilt) {
    this.purchase = purchase;
    this.status = status;
    this.succeededAt = succeededAt;
    this.failureMessage = failureMessage;
    this.rebuilt = rebuilt;
  }

  public Payment purchase() {
    return purchase;
  }

  public String status() {
    return status;
  }

  public Instant succeededAt() {
    return succeededAt;
  }

  public String failureMessage() {
    return failureMessage;
  }

  /** Rebuilt from the PaymentIntent's metadata: the row must be inserted. */
  public boolean rebuilt() {
    return rebuilt;
  }

  public boolean changed() {
    return changed;
  }

  /** Moves to {@code succeeded}; false when it already had. */
  public boolean succeed(Instant at) {
    if ("succeeded".equals(status)) {
      return false;
    }
    status = "succeeded";
    succeededAt = at;
    changed = true;
    return true;
  }

  /** Records a failed attempt; false once the payment succeeded or was canceled. */
  public boolean fail(String message) {
    if ("succeeded".equals(status) || "canceled".equals(status)) {
      return false;
    }
    status = "failed";
    failureMessage = message;
    changed = true;
    return true;
  }

  /** Cancels; false once the payment succeeded or was canceled. */
  public boolean cancel() {
    if ("succeeded".equals(status) || "canceled".equals(status)) {
      return false;
    }
    status = "canceled";
    changed = true;
    return true;
  }
}
