package io.marketplace.payments.common.refund;

import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.jdbi.v3.core.Handle;

/**
 * A user's requests still pending review for a payment whose automatic refund (a moderation
 * rejection's, a technical failure's) now owes the customer what they asked for: once that refund
 * is approved (born so within 24 h of the payment, or approved by an admin), it gives back all of
 * the payment that had not gone back otherwise, a pending request included. Such a request could
 * never be approved (more than is left), so it is closed rather than left waiting for an admin: it
 * becomes {@code rejected}, closed as {@code not_owed} for that refund ({@code closed_for}, as the
 * failed refunds an automatic refund owes, V48), with the reason naming it, and {@code
 * refund.rejected} tells the user why, with no admin named. The caller holds the payment's lock.
 * The refund worker closes them the same way for a record that took the last of the payment another
 * way (a refund made in Stripe's dashboard, a lost chargeback), {@code owedBy} naming that record.
 */
public final class RequestsOwedByAutomaticRefund {

  private RequestsOwedByAutomaticRefund() {}

  /**
   * The reason a refund closed for part {@code part} of the automatic refund {@code id} gives; the
   * failed refunds it owes are closed under the same words.
   */
  public static String reason(RefundReason reason, UUID id, int part) {
    return "owed by automatic " + reason.wire() + " refund " + id + " (part " + part + ")";
  }

  /**
   * Closes the pending user requests of payment {@code paymentIntentId} as owed by the automatic
   * refund {@code owedBy}, announcing each; returns how many.
   */
  public static int close(
      Handle tx, String paymentIntentId, UUID owedBy, String reason, Instant now) {
    RefundDao refunds = tx.attach(RefundDao.class);
    List<UUID> closed = refunds.closePendingRequestsOwedBy(paymentIntentId, owedBy, reason, now);
    for (UUID id : closed) {
      RefundRecord request = refunds.find(id).orElseThrow();
      RefundEvents.append(tx, request, RefundEvents.rejected(request, reason, null, now));
    }
    return closed.size();
  }
}
