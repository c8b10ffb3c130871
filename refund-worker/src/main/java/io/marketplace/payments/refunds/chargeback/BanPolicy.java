package io.marketplace.payments.refunds.chargeback;

/**
 * Policy P3 (SPEC §1): a user with 2 or more distinct disputes, not closed as {@code won}, is
 * banned. Inquiries and prevented disputes do not count. The ban is decided when a new dispute is
 * counted, never on later events about a dispute already counted, so an admin's unban stands until
 * the next new dispute.
 */
public final class BanPolicy {

  public static final int CHARGEBACKS_TO_BAN = 2;

  private BanPolicy() {}

  public static boolean shouldBan(long distinctChargebacks) {
    return distinctChargebacks >= CHARGEBACKS_TO_BAN;
  }

  /** Stripe's inquiries (pre-dispute, no money moved) have statuses {@code warning_*}. */
  public static boolean isInquiry(String disputeStatus) {
    return disputeStatus != null && disputeStatus.startsWith("warning_");
  }

  /**
   * A dispute that Stripe's dispute prevention resolved or blocked before it became a chargeback
   * (status {@code prevented}, API version 2025-08-27): no funds were withdrawn for it (a resolved
   * case is paid back as a refund of its own, which arrives as one), so it is not a chargeback and
   * does not count toward a ban.
   */
  public static boolean isPrevented(String disputeStatus) {
    return "prevented".equals(disputeStatus);
  }

  public static boolean isClosed(String disputeStatus) {
    return "won".equals(disputeStatus)
        || "lost".equals(disputeStatus)
        || "warning_closed".equals(disputeStatus)
        || isPrevented(disputeStatus);
  }
}
