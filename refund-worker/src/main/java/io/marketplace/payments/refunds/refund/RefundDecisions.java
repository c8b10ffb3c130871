package io.marketplace.payments.refunds.refund;

import io.marketplace.payments.common.refund.RefundEvents;
import io.marketplace.payments.common.refund.RefundReason;
import io.marketplace.payments.common.refund.RefundRecord;
import io.marketplace.payments.common.refund.RefundStatus;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Instant;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.core.Handle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides an automatic refund (moderation rejection, technical failure) of one payment inside the
 * caller's transaction, and never calls Stripe there: within 24 h the record is born {@code
 * approved} and handed to the {@link RefundDispatcher} once the transaction commits; later it is
 * born {@code pending} with {@code refund.requested}, for an admin. A payment gets at most one
 * automatic refund record, whatever re-delivers the decision.
 *
 * <p>A decision that finds nothing left to refund waits in {@code refund_decisions_awaiting_room}:
 * the money our records count as gone back may come back to us (a dispute won, a refund Stripe
 * fails), and what the rejection owes the customer must not depend on which of the two we heard of
 * first. Whatever gives room back calls {@link #decideWaiting}, which decides it again as of its
 * own {@code decidedAt}, so the 24 h rule gives what it would have given had that money never been
 * counted.
 */
public final class RefundDecisions {

  private static final Logger log = LoggerFactory.getLogger(RefundDecisions.class);

  private final RefundDispatcher dispatcher;
  private final Clock clock;
  private final Counter requested;

  public RefundDecisions(RefundDispatcher dispatcher, Clock clock, MeterRegistry registry) {
    this.dispatcher = dispatcher;
    this.clock = clock;
    this.requested =
        Counter.builder("payments.refunds.requested")
            .description("refunds recorded pending an admin's review")
            .register(registry);
  }

  /** The outcome of a decision, for logs and tests. */
  public enum Decision {
    /** Refund approved; Stripe is called after commit. */
    REFUND_NOW,
    /** Recorded pending for review. */
    REVIEW,
    /** The payment already has an automatic refund record. */
    ALREADY_DECIDED,
    /** Nothing left to refund. */
    NOTHING_TO_REFUND
  }

  /** Applies the refund rule to {@code payment} for {@code reason} decided at {@code decidedAt}. */
  public Decision decide(
      Handle tx, Payment payment, RefundReason reason, Instant decidedAt, String note) {
    if (!reason.isAutomatic()) {
      throw new IllegalArgumentException("not an automatic refund reason: " + reason);
    }
    RefundStore store = tx.attach(RefundStore.class);
    Payment locked = store.lockPayment(payment.paymentIntentId()).orElseThrow();
    if (store.hasAutomaticRecord(locked.paymentIntentId())) {
      store.unparkDecision(locked.paymentIntentId());
      log.info("{} already has an automatic refund record", locked.paymentIntentId());
      return Decision.ALREADY_DECIDED;
    }
    long amount =
        RefundPolicy.refundable(
            locked.amountCents(), store.returnedCents(locked.paymentIntentId()));
    if (amount == 0) {
      store.parkDecision(locked.paymentIntentId(), reason.wire(), decidedAt, note, clock.instant());
      log.info(
          "no {} refund for {} yet: nothing left to refund; decided again if money comes back",
          reason,
          locked.paymentIntentId());
      return Decision.NOTHING_TO_REFUND;
    }
    store.unparkDecision(locked.paymentIntentId());
    RefundStatus status = RefundPolicy.initialStatus(locked.paidAt(), decidedAt);
    UUID id = UUID.randomUUID();
    Instant now = clock.instant();
    int inserted =
        store.insertDecision(
            id,
            locked.userId(),
            locked.listingId(),
            locked.paymentIntentId(),
            amount,
            reason.wire(),
            status.wire(),
            note,
            now);
    if (inserted == 0) {
      log.info("{} already has an automatic refund record", locked.paymentIntentId());
      return Decision.ALREADY_DECIDED;
    }
    if (status == RefundStatus.APPROVED) {
      log.info(
          "automatic {} refund {} of {} cents for {} approved",
          reason,
          id,
          amount,
          locked.paymentIntentId());
      tx.afterCommit(() -> dispatcher.submit(id));
      return Decision.REFUND_NOW;
    }
    RefundRecord refund = store.lock(id).orElseThrow();
    RefundEvents.append(tx, refund, RefundEvents.requested(refund, now));
    tx.afterCommit(requested::increment);
    log.info(
        "{} refund {} of {} for {} is past 24 h: pending review",
        reason,
        id,
        amount,
        locked.paymentIntentId());
    return Decision.REVIEW;
  }

  /**
   * Room was given back on the payment (a dispute won, a refund failed at Stripe): decides again
   * the automatic refund that waited for it, if any, as of when it was first decided. The caller
   * holds the payment's lock; the decision waits on if there is still nothing left.
   */
  public void decideWaiting(Handle tx, String paymentIntentId) {
    RefundStore store = tx.attach(RefundStore.class);
    Optional<WaitingDecision> waiting = store.waitingDecision(paymentIntentId);
    if (waiting.isEmpty()) {
      return;
    }
    Payment payment = store.lockPayment(paymentIntentId).orElseThrow();
    WaitingDecision decision = waiting.get();
    Decision outcome =
        decide(
            tx,
            payment,
            RefundReason.fromWire(decision.reason()),
            decision.decidedAt(),
            decision.note());
    log.info(
        "{} refund of {}, decided at {} with nothing left, decided again as money came back: {}",
        decision.reason(),
        paymentIntentId,
        decision.decidedAt(),
        outcome);
  }
}
