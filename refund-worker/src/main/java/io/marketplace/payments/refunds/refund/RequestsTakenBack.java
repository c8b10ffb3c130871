package io.marketplace.payments.refunds.refund;

import io.marketplace.payments.common.refund.RequestsOwedByAutomaticRefund;
import java.time.Instant;
import java.util.UUID;
import org.jdbi.v3.core.Handle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A user's requests pending review for a payment whose money all went back another way than an
 * automatic refund: a refund made in Stripe's dashboard, a chargeback whose dispute was lost. None
 * of it is left for them, so no admin could approve them (checkout-api refuses it as more than is
 * left): they are closed as {@link RequestsOwedByAutomaticRefund} closes those an automatic refund
 * owes, {@code rejected} and {@code not_owed} for the record that took the last of the money
 * ({@code closed_for}), announced as {@code refund.rejected} with no admin named. A request only
 * part of which went back stays for an admin to decide on. Money that may still come back (a
 * dispute still open) is not counted as gone. The caller holds the payment's lock; a request is
 * closed once, whatever is told again.
 */
public final class RequestsTakenBack {

  private static final Logger log = LoggerFactory.getLogger(RequestsTakenBack.class);

  private RequestsTakenBack() {}

  /** The reason of a request closed for a refund made in Stripe's dashboard. */
  static String byDashboardRefund(UUID recordId, String stripeRefundId) {
    return "given back by refund "
        + recordId
        + " made in Stripe's dashboard ("
        + stripeRefundId
        + ")";
  }

  /** The reason of a request closed for the chargeback of a lost dispute. */
  public static String byLostChargeback(UUID recordId, String disputeId) {
    return "taken back by chargeback " + recordId + " (dispute " + disputeId + " lost)";
  }

  /**
   * Closes the pending requests of {@code payment} when nothing of it is left, for the record
   * {@code takenBy}; returns how many.
   */
  public static int closeIfNothingLeft(
      Handle tx, Payment payment, UUID takenBy, String reason, Instant now) {
    String pi = payment.paymentIntentId();
    long gone = tx.attach(RefundStore.class).returnedForGoodCents(pi);
    if (gone < payment.amountCents()) {
      return 0;
    }
    int closed = RequestsOwedByAutomaticRefund.close(tx, pi, takenBy, reason, now);
    if (closed > 0) {
      log.info("{} pending requests of {} closed: {}", closed, pi, reason);
    }
    return closed;
  }
}
