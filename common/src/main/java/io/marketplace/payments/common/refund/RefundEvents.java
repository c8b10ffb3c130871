package io.marketplace.payments.common.refund;

import io.marketplace.payments.common.events.PaymentEvent;
import io.marketplace.payments.common.events.PaymentEventType;
import io.marketplace.payments.common.outbox.Outbox;
import java.time.Instant;
import java.util.UUID;
import org.jdbi.v3.core.Handle;

/**
 * The {@code payments.events.v1} events about a refund, built in one place so that every service
 * announces them with the same data. Each fact's key is the refund id: a refund is requested or
 * rejected at most once per time it was opened (the count of reopenings joins the key once a closed
 * request is owed again), and processed or failed at most once per attempt (the attempt joins the
 * key after an admin's retry), so its event has one id however often it is re-processed. Keyed by
 * listing id (the user id when the refund has no listing).
 */
public final class RefundEvents {

  /** All money in the system is US cents. */
  public static final String CURRENCY = "usd";

  private RefundEvents() {}

  /** {@code refund.requested}: a refund waits for an admin's review. */
  public record Requested(
      UUID refundId,
      UUID userId,
      UUID listingId,
      String paymentIntentId,
      long amountCents,
      String currency,
      String reason,
      String status,
      Instant requestedAt) {}

  /**
   * {@code refund.processed}: Stripe refunded the money, at {@code processedAt} (Stripe's time).
   */
  public record Processed(
      UUID refundId,
      UUID userId,
      UUID listingId,
      String paymentIntentId,
      String stripeRefundId,
      long amountCents,
      String currency,
      String reason,
      String status,
      Instant processedAt) {}

  /**
   * {@code refund.rejected}: an admin declined a pending refund; {@code rejectedBy} is that
   * super_admin, as other admin events name theirs.
   */
  public record Rejected(
      UUID refundId,
      UUID userId,
      UUID listingId,
      String paymentIntentId,
      long amountCents,
      String currency,
      String reason,
      String status,
      String rejectionReason,
      UUID rejectedBy,
      Instant rejectedAt) {}

  /**
   * {@code refund.failed}: Stripe refused the refund for good, or failed it after creating it; the
   * money did not go back. An admin may retry it.
   */
  public record Failed(
      UUID refundId,
      UUID userId,
      UUID listingId,
      String paymentIntentId,
      String stripeRefundId,
      long amountCents,
      String currency,
      String reason,
      String status,
      String failureReason,
      String failureMessage,
      int attempt,
      Instant failedAt) {}

  public static PaymentEvent failed(
      RefundRecord refund,
      String stripeRefundId,
      String failureReason,
      String failureMessage,
      Instant at) {
    return PaymentEvent.of(
        PaymentEventType.REFUND_FAILED,
        refund.factKey(),
        at,
        new Failed(
            refund.id(),
            refund.userId(),
            refund.listingId(),
            refund.paymentIntentId(),
            stripeRefundId,
            refund.amountCents(),
            CURRENCY,
            refund.reason().wire(),
            RefundStatus.FAILED.wire(),
            failureReason,
            failureMessage,
            refund.attempt(),
            at));
  }

  /**
   * {@code refund.requested} at {@code at}: when the record was made, or when a closed request was
   * reopened. Its {@code requestedAt} is always when the record was made (its {@code createdAt}, as
   * the API shows it), so a request pending again still says when it was asked for.
   */
  public static PaymentEvent requested(RefundRecord refund, Instant at) {
    return PaymentEvent.of(
        PaymentEventType.REFUND_REQUESTED,
        refund.decisionKey(),
        at,
        new Requested(
            refund.id(),
            refund.userId(),
            refund.listingId(),
            refund.paymentIntentId(),
            refund.amountCents(),
            CURRENCY,
            refund.reason().wire(),
            RefundStatus.PENDING.wire(),
            refund.createdAt() != null ? refund.createdAt() : at));
  }

  /**
   * {@code refund.processed}, dated {@code madeAt}: when Stripe made the refund, its Refund's
   * {@code created}, the same whether our call's answer, Stripe's webhook or a replay of either
   * records it, so that the one event the fact gets (its id is the record's {@link
   * RefundRecord#factKey}) says when the money went back, not when we wrote it down.
   */
  public static PaymentEvent processed(RefundRecord refund, String stripeRefundId, Instant madeAt) {
    return PaymentEvent.of(
        PaymentEventType.REFUND_PROCESSED,
        refund.factKey(),
        madeAt,
        new Processed(
            refund.id(),
            refund.userId(),
            refund.listingId(),
            refund.paymentIntentId(),
            stripeRefundId,
            refund.amountCents(),
            CURRENCY,
            refund.reason().wire(),
            RefundStatus.PROCESSED.wire(),
            madeAt));
  }

  public static PaymentEvent rejected(
      RefundRecord refund, String rejectionReason, UUID rejectedBy, Instant at) {
    return PaymentEvent.of(
        PaymentEventType.REFUND_REJECTED,
        refund.decisionKey(),
        at,
        new Rejected(
            refund.id(),
            refund.userId(),
            refund.listingId(),
            refund.paymentIntentId(),
            refund.amountCents(),
            CURRENCY,
            refund.reason().wire(),
            RefundStatus.REJECTED.wire(),
            rejectionReason,
            rejectedBy,
            at));
  }

  /** Appends {@code event} about {@code refund} to the outbox, under the refund's event key. */
  public static boolean append(Handle tx, RefundRecord refund, PaymentEvent event) {
    return Outbox.append(tx, event, refund.eventKey());
  }
}
