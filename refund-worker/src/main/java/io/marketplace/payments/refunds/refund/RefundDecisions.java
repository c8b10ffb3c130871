package io.marketplace.payments.refunds.refund;

import io.marketplace.payments.common.refund.RefundDao;
import io.marketplace.payments.common.refund.RefundEvents;
import io.marketplace.payments.common.refund.RefundReason;
import io.marketplace.payments.common.refund.RefundRecord;
import io.marketplace.payments.common.refund.RefundStatus;
import io.marketplace.payments.common.refund.RequestsOwedByAutomaticRefund;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.core.Handle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides an automatic refund (moderation rejection, technical failure) of one payment inside the
 * caller's transaction, and never calls Stripe there: within 24 h the record is born {@code
 * approved} and handed to the {@link RefundDispatcher} once the transaction commits; later it is
 * born {@code pending} with {@code refund.requested}, for an admin. A payment gets one automatic
 * decision, whatever re-delivers it.
 *
 * <p>The decision owes the customer all of the payment that did not go back otherwise. One that
 * finds nothing left, or less than the payment, waits in {@code refund_decisions_awaiting_room}:
 * the money our records count as gone back may come back to us (a dispute won, a refund Stripe
 * fails), and what the rejection owes the customer must not depend on which of the two we heard of
 * first. Whatever gives room back calls {@link #decideWaiting}, which decides it again as of its
 * own {@code decidedAt}, so the 24 h rule gives what it would have given had that money never been
 * counted: the refund, or the rest of it as a further part of the same decision.
 */
public final class RefundDecisions {

  private static final Logger log = LoggerFactory.getLogger(RefundDecisions.class);

  /** The close outcome of a failed part that a later part supersedes (V47). */
  static final String SUPERSEDED = "superseded";

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
    /** The payment already has this automatic refund record, or an admin rejected a part of it. */
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
      log.info("{} already has an automatic refund record", locked.paymentIntentId());
      return Decision.ALREADY_DECIDED;
    }
    long amount =
        RefundPolicy.refundable(
            locked.amountCents(),
            tx.attach(RefundDao.class).returnedCents(locked.paymentIntentId()));
    if (amount == 0) {
      store.parkDecision(locked.paymentIntentId(), reason.wire(), decidedAt, note, clock.instant());
      log.info(
          "no {} refund for {} yet: nothing left to refund; decided again if money comes back",
          reason,
          locked.paymentIntentId());
      return Decision.NOTHING_TO_REFUND;
    }
    return record(tx, locked, reason, decidedAt, note, 0, amount);
  }

  /**
   * Room was given back on the payment (a dispute won, a refund failed at Stripe): decides again
   * the automatic refund that waits for it, if any, as of when it was first decided. One decided
   * with nothing left is decided now; one whose refund is short of the payment gets the rest that
   * came back as a further part ({@code automatic_part} 1, 2, ...), approved or pending as the
   * decision's 24 h rule gave, unless an admin rejected a part of it. The caller holds the
   * payment's lock; the decision waits on while the payment may still owe it more.
   */
  public void decideWaiting(Handle tx, String paymentIntentId) {
    RefundStore store = tx.attach(RefundStore.class);
    Optional<WaitingDecision> waiting = store.waitingDecision(paymentIntentId);
    if (waiting.isEmpty()) {
      return;
    }
    Payment payment = store.lockPayment(paymentIntentId).orElseThrow();
    WaitingDecision decision = waiting.get();
    RefundReason reason = RefundReason.fromWire(decision.reason());
    List<AutomaticPart> parts = store.automaticParts(paymentIntentId);
    Decision outcome;
    if (parts.isEmpty()) {
      outcome = decide(tx, payment, reason, decision.decidedAt(), decision.note());
    } else if (parts.stream().anyMatch(AutomaticPart::rejectedByAnAdmin)) {
      // an admin decided against this decision's refund: what comes back is not owed by it
      store.unparkDecision(paymentIntentId);
      outcome = Decision.ALREADY_DECIDED;
    } else {
      long stillDecided =
          parts.stream()
              .filter(AutomaticPart::stillDecided)
              .mapToLong(AutomaticPart::amountCents)
              .sum();
      long owed =
          RefundPolicy.refundable(
              payment.amountCents(),
              tx.attach(RefundDao.class).returnedCents(paymentIntentId) + stillDecided);
      if (owed == 0) {
        return;
      }
      int part = parts.get(parts.size() - 1).automaticPart() + 1;
      outcome = record(tx, payment, reason, decision.decidedAt(), decision.note(), part, owed);
    }
    log.info(
        "{} refund of {}, decided at {} while money was counted as gone back, decided again as"
            + " money came back: {}",
        decision.reason(),
        paymentIntentId,
        decision.decidedAt(),
        outcome);
  }

  /**
   * A chargeback of the payment was won (or room was given back otherwise): asks Stripe again for
   * the parts of its automatic refund that Stripe refused for that chargeback ({@code
   * charge_disputed}), decided while we did not know of the dispute yet. Had we known, the decision
   * would have waited for the win ({@link #decideWaiting}); this gives the same outcome in the
   * other order: each such part becomes {@code approved} again as its next attempt, under a new
   * idempotency key (the old one keeps Stripe's refusal), and is sent once this commits. A part is
   * retried once per won dispute (a refusal of the retry is an admin's to look at, never retried in
   * a loop), only while no chargeback of the payment is open or lost, and only while it still fits
   * in what is left of the payment. The caller holds the payment's lock, which an admin's retry of
   * the same refund takes first too: one of the two moves it.
   */
  public void retryRefusedForWonDispute(Handle tx, String paymentIntentId) {
    RefundStore store = tx.attach(RefundStore.class);
    Optional<Payment> locked = store.lockPayment(paymentIntentId);
    if (locked.isEmpty()) {
      return;
    }
    RefundDao dao = tx.attach(RefundDao.class);
    for (RefundStore.RefusedForDispute part : store.refusedForWonDispute(paymentIntentId)) {
      long returned = dao.returnedCents(paymentIntentId);
      if (returned + part.amountCents() > locked.get().amountCents()) {
        log.warn(
            "refund {} of {}, refused by Stripe for dispute {} since won, not asked again: {} of"
                + " its {} cents went back otherwise; an admin may close it",
            part.id(),
            paymentIntentId,
            part.wonDisputeId(),
            returned,
            locked.get().amountCents());
        continue;
      }
      Instant now = clock.instant();
      if (dao.retryFailed(part.id(), now) == 0) {
        continue;
      }
      store.noteRetriedForWonDispute(part.id(), part.wonDisputeId(), now);
      log.info(
          "refund {} (part {}) of {}, refused by Stripe for dispute {}, asked again now that it is"
              + " won",
          part.id(),
          part.automaticPart(),
          paymentIntentId,
          part.wonDisputeId());
      tx.afterCommit(() -> dispatcher.submit(part.id()));
    }
  }

  /**
   * Money of the payment went back outside the system (a refund made in Stripe's dashboard was
   * recorded), or room was offered: a failed part of its automatic refund that no longer fits in
   * what is left of the payment is closed as {@value #SUPERSEDED}, and the decision owes what is
   * left as a further part ({@link #decideWaiting}), as it would have owed had that money been
   * counted when the part was decided. Stripe refuses a part that asks more than is left (the
   * dashboard refund was made before, its events told after the decision), and an admin's retry of
   * it could never pass: left failed, the customer got only what the dashboard gave back. A part
   * awaiting an admin's review (past 24 h) that no longer fits is closed the same way, {@code
   * rejected} and announced as {@code refund.rejected} with no admin named: checkout-api refuses
   * its approval as more than is left, and an admin who rejected it instead would leave the
   * customer nothing of the rest the decision owes; the later part owes that rest, for review, as
   * the decision would have had the dashboard refund been told first. Parts that still fit stay for
   * an admin to retry, close or approve; parts Stripe refused for a chargeback wait for its win
   * ({@link #retryRefusedForWonDispute}); nothing is done once an admin rejected a part of the
   * decision. The decision, kept waiting as of when its first superseded part was decided (the 24 h
   * rule), is then owed again by whatever gives room back. The caller holds the payment's lock.
   */
  public void supersedeWhatNoLongerFits(Handle tx, String paymentIntentId) {
    RefundStore store = tx.attach(RefundStore.class);
    Optional<Payment> locked = store.lockPayment(paymentIntentId);
    if (locked.isEmpty()) {
      return;
    }
    List<RefundStore.FailedPart> failed = store.openFailedAutomaticParts(paymentIntentId);
    List<RefundStore.FailedPart> pending = store.pendingAutomaticParts(paymentIntentId);
    if ((failed.isEmpty() && pending.isEmpty())
        || store.automaticParts(paymentIntentId).stream()
            .anyMatch(AutomaticPart::rejectedByAnAdmin)) {
      return;
    }
    long returned = tx.attach(RefundDao.class).returnedCents(paymentIntentId);
    long paid = locked.get().amountCents();
    Instant now = clock.instant();
    Optional<RefundStore.FailedPart> first = Optional.empty();
    for (RefundStore.FailedPart part : failed) {
      if (returned + part.amountCents() <= paid) {
        continue; // it fits: an admin may still retry it
      }
      String why =
          "superseded: "
              + part.amountCents()
              + " cents no longer fit in what is left of "
              + paid
              + " ("
              + returned
              + " went back otherwise); what is left is owed by a later part";
      if (store.closeSuperseded(part.id(), why, now) == 0) {
        continue;
      }
      log.warn(
          "{} refund {} (part {}) of {}: {}",
          part.reason(),
          part.id(),
          part.automaticPart(),
          paymentIntentId,
          why);
      first = first.isPresent() ? first : Optional.of(part);
    }
    // a part awaiting review that no longer fits could never be approved (checkout-api refuses it
    // as more than is left), and rejecting it would give the customer nothing of what is left: it
    // is closed the same way, and the later part owes the rest, for review as it was
    long owedByFailedParts =
        store.automaticParts(paymentIntentId).stream()
            .filter(p -> p.refundStatus() == RefundStatus.FAILED && p.stillDecided())
            .mapToLong(AutomaticPart::amountCents)
            .sum();
    long taken = returned + owedByFailedParts;
    for (RefundStore.FailedPart part : pending) {
      if (taken + part.amountCents() <= paid) {
        taken += part.amountCents(); // it fits: an admin may still approve it
        continue;
      }
      String why =
          "superseded: "
              + part.amountCents()
              + " cents no longer fit in what is left of "
              + paid
              + " ("
              + returned
              + " went back otherwise"
              + (taken > returned ? ", " + (taken - returned) + " owed by other parts" : "")
              + "); what is left is owed by a later part";
      if (store.closePendingSuperseded(part.id(), why, now) == 0) {
        continue;
      }
      RefundRecord closed = store.lock(part.id()).orElseThrow();
      RefundEvents.append(tx, closed, RefundEvents.rejected(closed, why, null, now));
      log.warn(
          "{} refund {} (part {}) of {}, awaiting review: {}",
          part.reason(),
          part.id(),
          part.automaticPart(),
          paymentIntentId,
          why);
      first = first.isPresent() ? first : Optional.of(part);
    }
    if (first.isEmpty()) {
      return;
    }
    store.parkDecision(
        paymentIntentId, first.get().reason(), first.get().createdAt(), first.get().note(), now);
    decideWaiting(tx, paymentIntentId);
  }

  /**
   * Records part {@code part} of the payment's automatic refund, {@code amount} cents, approved or
   * pending by the 24 h rule as of {@code decidedAt}. The payment's failed refunds are closed: the
   * amount owes their money (what failed is not counted as gone back), so an admin's retry of one
   * would pay it twice. An approved part closes the payment's user requests pending review too
   * ({@link RequestsOwedByAutomaticRefund}): it gives back what they ask for, so no admin could
   * approve them. Keeps the decision waiting for room while its parts fall short of the payment:
   * money counted as gone back may come back, and is owed then.
   */
  private Decision record(
      Handle tx,
      Payment locked,
      RefundReason reason,
      Instant decidedAt,
      String note,
      int part,
      long amount) {
    RefundStore store = tx.attach(RefundStore.class);
    String pi = locked.paymentIntentId();
    RefundStatus status = RefundPolicy.initialStatus(locked.paidAt(), decidedAt);
    UUID id = UUID.randomUUID();
    Instant now = clock.instant();
    int inserted =
        store.insertDecision(
            part,
            id,
            locked.userId(),
            locked.listingId(),
            pi,
            amount,
            reason.wire(),
            status.wire(),
            note,
            now);
    if (inserted == 0) {
      log.info("{} already has part {} of its automatic refund", pi, part);
      return Decision.ALREADY_DECIDED;
    }
    String owed = RequestsOwedByAutomaticRefund.reason(reason, id, part);
    int closed = store.closeFailedOwedBy(pi, id, owed, now);
    if (closed > 0) {
      log.info("{} failed refunds of {} closed: refund {} owes their money", closed, pi, id);
    }
    if (status == RefundStatus.APPROVED) {
      // it gives back what a pending request asks for; one pending itself leaves the requests to
      // the admin who approves it (checkout-api closes them then) or rejects it
      int requests = RequestsOwedByAutomaticRefund.close(tx, pi, id, owed, now);
      if (requests > 0) {
        log.info("{} pending requests of {} closed: refund {} owes their money", requests, pi, id);
      }
    }
    long decided =
        store.automaticParts(pi).stream()
            .filter(p -> !p.superseded())
            .mapToLong(AutomaticPart::amountCents)
            .sum();
    if (decided < locked.amountCents()) {
      store.parkDecision(pi, reason.wire(), decidedAt, note, now);
    } else {
      store.unparkDecision(pi);
    }
    if (status == RefundStatus.APPROVED) {
      log.info(
          "automatic {} refund {} (part {}) of {} cents for {} approved",
          reason,
          id,
          part,
          amount,
          pi);
      tx.afterCommit(() -> dispatcher.submit(id));
      return Decision.REFUND_NOW;
    }
    RefundRecord refund = store.lock(id).orElseThrow();
    RefundEvents.append(tx, refund, RefundEvents.requested(refund, now));
    tx.afterCommit(requested::increment);
    log.info(
        "{} refund {} (part {}) of {} for {} is past 24 h: pending review",
        reason,
        id,
        part,
        amount,
        pi);
    return Decision.REVIEW;
  }
}
