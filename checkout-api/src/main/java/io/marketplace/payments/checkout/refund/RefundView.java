package io.marketplace.payments.checkout.refund;

import io.marketplace.payments.common.refund.RefundRecord;
import java.time.Instant;
import java.util.UUID;

/**
 * The refund JSON of SPEC §3, plus {@code lastError}: why Stripe has not refunded an approved
 * refund yet, or why it failed (null otherwise), so an admin sees what went wrong; and for a {@code
 * failed} refund Stripe's {@code failureReason} and when an admin closed it ({@code closedAt}, null
 * while it awaits a retry or a close) with where its money stands ({@code closeOutcome}: {@code
 * refunded_elsewhere} or {@code not_owed}); for a {@code rejected} one why ({@code
 * rejectionReason}: the admin's reason, or the automatic refund that owes its money, when it was
 * closed for one with {@code closedAt} and {@code closeOutcome} {@code not_owed}); and {@code
 * note}, the text that came with it (the user's reason for a request, the super_admin's for a
 * refund they made).
 */
public record RefundView(
    UUID id,
    UUID userId,
    UUID listingId,
    String paymentIntentId,
    String stripeRefundId,
    long amountCents,
    String reason,
    String status,
    Instant createdAt,
    String lastError,
    String failureReason,
    Instant closedAt,
    String closeOutcome,
    String rejectionReason,
    String note) {

  public static RefundView of(RefundRecord refund) {
    return new RefundView(
        refund.id(),
        refund.userId(),
        refund.listingId(),
        refund.paymentIntentId(),
        refund.stripeRefundId(),
        refund.amountCents(),
        refund.reason().wire(),
        refund.status().wire(),
        refund.createdAt(),
        refund.lastError(),
        refund.failureReason(),
        refund.closedAt(),
        refund.closeOutcome(),
        refund.rejectionReason(),
        refund.note());
  }
}
