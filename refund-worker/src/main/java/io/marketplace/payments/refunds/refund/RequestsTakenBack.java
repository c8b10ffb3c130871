package io.marketplace.payments.refunds.refund;

import io.marketplace.payments.common.refund.RefundDao;
import io.marketplace.payments.common.refund.RefundEvents;
import io.marketplace.payments.common.refund.RefundRecord;
import io.marketplace.payments.common.refund.RequestsOwedByAutomaticRefund;
import java.time.Instant;
import java.util.List;
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
 *
 * <p>Money a lost chargeback took can still come back: the dispute won after all (the card network
 * reverses its decision, or a repair tells the outcome Stripe has). Nothing else then owes the
 * customer what the requests closed for that chargeback ask for, so they are reopened ({@link
 * #reopen}): {@code pending} again, announced as {@code refund.requested}, as they would be had the
 * dispute never been lost, and closed again should it be lost again. A request closed for a refund
 * made in Stripe's dashboard is not reopened when Stripe fails that refund: the failed refund's own
 * record stays open in the failed queue and owes the money (an admin retries or closes it), and a
 * reopened request would claim the same money a second time.
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

  /**
   * Reopens the requests of payment {@code paymentIntentId} closed for the record {@code takenBy},
   * whose money came back to us ({@code why}), announcing each; returns how many.
   */
  public static int reopen(
      Handle tx, String paymentIntentId, UUID takenBy, String why, Instant now) {
    List<UUID> reopened =
        tx.attach(RefundStore.class).reopenRequestsClosedFor(paymentIntentId, takenBy, now);
    for (UUID id : reopened) {
      RefundRecord request = tx.attach(RefundDao.class).find(id).orElseThrow();
      RefundEvents.append(tx, request, RefundEvents.requested(request, now));
      log.info(
          "request {} of {}, closed for {}, pending review again: {}",
          id,
          paymentIntentId,
          takenBy,
          why);
    }
    return reopened.size();
  }
}
