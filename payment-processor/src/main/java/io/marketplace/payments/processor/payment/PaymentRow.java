package io.marketplace.payments.processor.payment;

import java.time.Instant;

/**
 * Our {@code payments} row of one PaymentIntent inside a batch: the purchase (fixed) and its status
 * (moved by the events of the batch, written back once at its end). Transitions follow Stripe's
 * life of a PaymentIntent; a payment that succeeded never moves again: Stripe took the money.
 */
public final class PaymentRow {

  private final Payment purchase;
  private long returnedCents;
  private final boolean rebuilt;
  private String status;
  private Instant succeededAt;
  private String failureMessage;
  private String failedAttempt;
  private Instant failedAt;
  private Instant deliveryWithheldAt;
  private Instant activationWithdrawnAt;
  private Instant deliveryRefusedAt;
  private boolean changed;

  public PaymentRow(
      Payment purchase,
      String status,
      Instant succeededAt,
      String failureMessage,
      String failedAttempt,
      Instant failedAt,
      boolean rebuilt) {
    this(
        purchase,
        status,
        succeededAt,
        failureMessage,
        failedAttempt,
        failedAt,
        null,
        null,
        null,
        rebuilt);
  }

  public PaymentRow(
      Payment purchase,
      String status,
      Instant succeededAt,
      String failureMessage,
      String failedAttempt,
      Instant failedAt,
      Instant deliveryWithheldAt,
      Instant activationWithdrawnAt,
      Instant deliveryRefusedAt,
      boolean rebuilt) {
    this.purchase = purchase;
    this.deliveryRefusedAt = deliveryRefusedAt;
    this.activationWithdrawnAt = activationWithdrawnAt;
    this.status = status;
    this.succeededAt = succeededAt;
    this.failureMessage = failureMessage;
    this.failedAttempt = failedAttempt;
    this.failedAt = failedAt;
    this.deliveryWithheldAt = deliveryWithheldAt;
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

  /** The attempt (StripeEvent#failedAttempt) of the last recorded failure; see {@link #fail}. */
  public String failedAttempt() {
    return failedAttempt;
  }

  /** When the last recorded failure happened (its event's {@code created}), or null. */
  public Instant failedAt() {
    return failedAt;
  }

  /**
   * When what the payment bought was held back because all of its money had gone back, or null:
   * never held back, or delivered (or refunded as undeliverable) since. See {@link #withhold}.
   */
  public Instant deliveryWithheldAt() {
    return deliveryWithheldAt;
  }

  public boolean deliveryWithheld() {
    return deliveryWithheldAt != null;
  }

  /**
   * Notes that the purchase is held back from {@code at}, its money all gone back: when that money
   * comes back to us, the refund worker asks for the delivery. False when it was held back already.
   */
  public boolean withhold(Instant at) {
    if (deliveryWithheldAt != null) {
      return false;
    }
    deliveryWithheldAt = at;
    changed = true;
    return true;
  }

  /**
   * When the activation this posting fee had made was last taken back, its money having gone back
   * before it ({@link #withdrawActivation}), or null: a later activation is then a fact of its own.
   */
  public Instant activationWithdrawnAt() {
    return activationWithdrawnAt;
  }

  /**
   * Notes that the activation this posting fee made is taken back at {@code at}, all of its money
   * having gone back before it: the purchase is held back from then on, as in {@link #withhold}.
   */
  public void withdrawActivation(Instant at) {
    withhold(at);
    activationWithdrawnAt = at;
    changed = true;
  }

  /**
   * When the purchase was found undeliverable and sent for an automatic refund, or null. See {@link
   * #refuseDelivery}.
   */
  public Instant deliveryRefusedAt() {
    return deliveryRefusedAt;
  }

  public boolean deliveryRefused() {
    return deliveryRefusedAt != null;
  }

  /**
   * Notes that the purchase could not be delivered at {@code at} and was sent for refund: it is
   * never delivered afterwards, whatever changes (another featured week ends early, so that this
   * one would fit now), or the customer would have both the purchase and the money.
   */
  public void refuseDelivery(Instant at) {
    if (deliveryRefusedAt == null) {
      deliveryRefusedAt = at;
      changed = true;
    }
  }

  /** The purchase is no longer held back: delivered, or sent for refund as undeliverable. */
  public void releaseDelivery() {
    if (deliveryWithheldAt != null) {
      deliveryWithheldAt = null;
      changed = true;
    }
  }

  /**
   * The money of the payment that went back, or is on its way back, when the batch read it ({@link
   * io.marketplace.payments.common.refund.RefundDao#RETURNED_CENTS}): the refund worker records
   * refunds and chargebacks from its own place in the topic, possibly before this processor applies
   * the success. For a rebuilt row, the refunds Stripe made and the chargebacks of disputes opened
   * before the row existed, which the refund worker keeps until it can record them.
   */
  public long returnedCents() {
    return returnedCents;
  }

  /** Sets {@link #returnedCents()}, as read under the payment's lock. */
  public void returned(long cents) {
    this.returnedCents = cents;
  }

  /** Whether all of the payment's money went back ({@link #returnedCents()}). */
  public boolean returnedInFull() {
    return returnedCents >= purchase.amountCents();
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

  /**
   * Records the failed {@code attempt} (see {@link
   * io.marketplace.payments.common.stripe.StripeEvent#failedAttempt}) that happened {@code at};
   * false once the payment succeeded or was canceled, for the attempt recorded last, reported
   * again, and for a failure older than the one recorded (an earlier attempt told again, late).
   */
  public boolean fail(String attempt, String message, Instant at) {
    if ("succeeded".equals(status) || "canceled".equals(status)) {
      return false;
    }
    if ("failed".equals(status)
        && (attempt.equals(failedAttempt) || (failedAt != null && at.isBefore(failedAt)))) {
      return false;
    }
    status = "failed";
    failureMessage = message;
    failedAttempt = attempt;
    failedAt = at;
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
