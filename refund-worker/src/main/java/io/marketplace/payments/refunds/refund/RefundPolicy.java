package io.marketplace.payments.refunds.refund;

import io.marketplace.payments.common.refund.RefundStatus;
import java.time.Duration;
import java.time.Instant;

/**
 * The refund rule of SPEC §1, without I/O: a moderation rejection or technical failure decided
 * within 24 h of the payment is refunded at once; a later one waits for an admin's review.
 */
public final class RefundPolicy {

  public static final Duration AUTOMATIC_WINDOW = Duration.ofHours(24);

  private RefundPolicy() {}

  /**
   * {@code approved} (refund now) when {@code decidedAt} is at most 24 h after {@code paidAt},
   * {@code pending} (admin review) otherwise. A decision stamped before the payment counts as
   * within the window: clocks of other services may be a little behind ours.
   */
  public static RefundStatus initialStatus(Instant paidAt, Instant decidedAt) {
    return decidedAt.isAfter(paidAt.plus(AUTOMATIC_WINDOW))
        ? RefundStatus.PENDING
        : RefundStatus.APPROVED;
  }

  /** What is left to give back of {@code paidCents} once {@code returnedCents} went back. */
  public static long refundable(long paidCents, long returnedCents) {
    return Math.max(0, paidCents - returnedCents);
  }
}
