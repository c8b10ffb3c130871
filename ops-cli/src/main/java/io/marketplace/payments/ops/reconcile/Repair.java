package io.marketplace.payments.ops.reconcile;

import java.util.List;
import java.util.regex.Pattern;

/**
 * A missing fact published again as a Stripe-shaped event on {@code stripe.events.v1}, so the
 * workers apply it through their normal path (never written around them).
 *
 * <p>Its id is {@code evt_reconcile_<object id>_<fact>}, deterministic, so two reconciliations
 * running at once publish the same event and the workers apply it once. If that event was applied
 * and the fact went missing again, the next repair gets the next generation, {@code ..._2}, and so
 * on: a repair is never silently deduplicated away.
 *
 * @param objectId the PaymentIntent ({@code pi_...}) or refund ({@code re_...}) the event carries
 * @param fact {@code succeeded} or {@code refund}
 * @param eventType the Stripe event type published: {@code payment_intent.succeeded} or {@code
 *     refund.created}
 * @param key the record key on {@code stripe.events.v1}: the PaymentIntent id (SPEC §4)
 * @param generation 1 for the first repair of this fact, 2 once that one was applied, ...
 */
public record Repair(String objectId, String fact, String eventType, String key, int generation) {

  public static final String ID_PREFIX = "evt_reconcile_";

  private static final Pattern SAFE = Pattern.compile("[A-Za-z0-9_]+");

  public Repair {
    if (!SAFE.matcher(objectId).matches()) {
      throw new IllegalArgumentException("unexpected Stripe object id " + objectId);
    }
  }

  static Repair paymentSucceeded(String paymentIntentId) {
    return new Repair(paymentIntentId, "succeeded", "payment_intent.succeeded", paymentIntentId, 1);
  }

  static Repair refundCreated(String refundId, String paymentIntentId) {
    return new Repair(refundId, "refund", "refund.created", paymentIntentId, 1);
  }

  /** Stripe's refund, as it is now (failed), for the refund worker to record the failure. */
  static Repair refundFailed(String refundId, String paymentIntentId) {
    return new Repair(refundId, "refund_failed", "refund.failed", paymentIntentId, 1);
  }

  /**
   * Stripe's dispute as it is now, for the refund worker to record it and its outcome: {@code
   * charge.dispute.closed} once closed, else {@code charge.dispute.created}. Its fact names the
   * status, so a dispute repaired open and later closed gets an event of its own.
   */
  static Repair dispute(String disputeId, String paymentIntentId, String status, boolean closed) {
    return new Repair(
        disputeId,
        "dispute_" + status,
        closed ? "charge.dispute.closed" : "charge.dispute.created",
        paymentIntentId,
        1);
  }

  /**
   * Stripe's dispute as it is now, for the refund worker to record the amount the card network
   * changed it to: {@code charge.dispute.closed} once closed, else {@code charge.dispute.updated},
   * as Stripe tells such a change, dated when reconcile read it ({@link StripeLedger#occurredAt}),
   * so that the refund worker takes its amount over one an earlier event told. Its fact names the
   * status and the amount ({@code dispute_needs_response_amount_300}): not the status-only repair,
   * which may have been applied already, and each amount a fact of its own. Not a {@code
   * charge.dispute.created}, which the risk service would count as a chargeback of now: it counts
   * an update only when it escalates an inquiry ({@code previous_attributes}, which this has none
   * of).
   */
  static Repair disputeAmount(
      String disputeId, String paymentIntentId, String status, long amount, boolean closed) {
    return new Repair(
        disputeId,
        "dispute_" + status + "_amount_" + amount,
        closed ? "charge.dispute.closed" : "charge.dispute.updated",
        paymentIntentId,
        1);
  }

  /** Whether the refund worker applies it (refunds, disputes); else the payment processor. */
  boolean appliedByRefundWorker() {
    return fact.startsWith("refund") || fact.startsWith("dispute");
  }

  /** The id of the first generation; later ones append {@code _2}, {@code _3}, ... */
  public String baseEventId() {
    return ID_PREFIX + objectId + "_" + fact;
  }

  public String eventId() {
    return generation <= 1 ? baseEventId() : baseEventId() + "_" + generation;
  }

  /** The next generation after the repair events already applied ({@code applied}). */
  Repair after(List<String> applied) {
    int last = 0;
    for (String id : applied) {
      last =
          Math.max(
              last,
              id.equals(baseEventId())
                  ? 1
                  : Integer.parseInt(id.substring(baseEventId().length() + 1)));
    }
    return new Repair(objectId, fact, eventType, key, last + 1);
  }
}
