package io.marketplace.payments.refunds.chargeback;

import io.marketplace.payments.common.db.PaymentIntentLock;
import io.marketplace.payments.common.events.PaymentEvent;
import io.marketplace.payments.common.events.PaymentEventType;
import io.marketplace.payments.common.outbox.Outbox;
import io.marketplace.payments.common.promotion.FeaturedPromotions;
import io.marketplace.payments.common.refund.RefundEvents;
import io.marketplace.payments.common.stripe.StripeEvent;
import io.marketplace.payments.refunds.refund.AwaitingRoom;
import io.marketplace.payments.refunds.refund.Payment;
import io.marketplace.payments.refunds.refund.RefundStore;
import io.marketplace.payments.refunds.refund.RequestsTakenBack;
import io.marketplace.payments.refunds.refund.WithheldDeliveries;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.core.Handle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Consumes Stripe's dispute events ({@code charge.dispute.created}, {@code .updated}, {@code
 * .closed}, {@code .funds_withdrawn}, {@code .funds_reinstated}). Each carries the whole Dispute,
 * so each is applied the same way, in whatever order they arrive:
 *
 * <ul>
 *   <li>the dispute is recorded once in {@code payment_disputes}, keyed by its {@code du_} id, so
 *       one dispute reaching us under several event ids counts once;
 *   <li>an inquiry ({@code warning_*}) is recorded with {@code is_inquiry}, and nothing else;
 *   <li>a chargeback is recorded as a refund ({@code reason=chargeback, status=processed}) with
 *       {@code chargeback.recorded}; its user, found through the PaymentIntent (a Dispute carries
 *       none of our metadata), is banned at 2 distinct chargebacks not closed as {@code won}; the
 *       ban is decided only when a dispute is first counted ({@code counted_at}), never on a later
 *       event about it, so an admin's unban stands until the next new dispute; each ban is
 *       announced by {@code user.banned};
 *   <li>a closed dispute records its outcome ({@code won}, {@code lost}, {@code warning_closed}); a
 *       dispute won gives its money back to the payment, which is offered to what waited for it
 *       ({@link AwaitingRoom}: a Stripe refund our records could not hold, the automatic refund of
 *       a listing rejected while the dispute was open, the purchase the payment processor held back
 *       because the chargeback was recorded before the payment's success was applied); a featured
 *       week its chargeback ended is given back for what was left of it ({@link
 *       FeaturedPromotions#restoreForWonDispute}, announced as {@code promotion.created}); a win
 *       the card network reverses later (told {@code lost} after {@code won}) takes the money
 *       again, and a week given back for it ends ({@code promotion.expired}); a user's request
 *       closed for the chargeback of a lost dispute is reopened when it is won after all ({@link
 *       RequestsTakenBack#reopen}).
 * </ul>
 *
 * A dispute whose events all came before its payment's row is recorded without a user; {@link
 * #countOnceItsPaymentIsKnown} counts it once the row exists (the janitor's pass {@link
 * DisputesAwaitingPayment}), or its next event does, whichever comes first; an inquiry among them
 * is counted then ({@code payments_disputes_inquiries_total}), once, as one is when its payment's
 * row is there first. Until then its amount counts as money gone back on the PaymentIntent ({@code
 * RefundDao.KEPT_CHARGEBACK_CENTS}), so the payment processor holds back a payment it rebuilds from
 * the PaymentIntent's metadata: with no row to lock, both take the PaymentIntent's {@link
 * PaymentIntentLock} before they look again.
 */
public final class DisputeHandler {

  private static final Logger log = LoggerFactory.getLogger(DisputeHandler.class);

  private final Clock clock;
  private final AwaitingRoom awaitingRoom;
  private final WithheldDeliveries withheld;
  private final Counter chargebacks;
  private final Counter inquiries;
  private final Counter bans;

  public DisputeHandler(Clock clock, AwaitingRoom awaitingRoom, MeterRegistry registry) {
    this.clock = clock;
    this.awaitingRoom = awaitingRoom;
    this.withheld = new WithheldDeliveries(clock);
    this.chargebacks =
        Counter.builder("payments.chargebacks.recorded")
            .description("distinct chargebacks recorded")
            .register(registry);
    this.inquiries =
        Counter.builder("payments.disputes.inquiries")
            .description("dispute inquiries recorded; not chargebacks")
            .register(registry);
    this.bans =
        Counter.builder("payments.users.banned")
            .description("users banned for chargebacks")
            .register(registry);
  }

  /** The data of {@code chargeback.recorded}. */
  public record ChargebackRecorded(
      String disputeId,
      UUID refundId,
      UUID userId,
      UUID listingId,
      String paymentIntentId,
      String chargeId,
      long amountCents,
      String currency,
      String disputeReason,
      String disputeStatus,
      int chargebackCount,
      Instant recordedAt) {}

  /** The data of {@code user.banned}. */
  public record UserBanned(
      UUID userId, String reason, int chargebackCount, List<String> disputeIds, Instant bannedAt) {}

  public void onDispute(Handle tx, StripeEvent event) {
    Optional<String> paymentIntentId = event.paymentIntentId();
    Dispute dispute = Dispute.of(event.object(), paymentIntentId.orElse(null));
    Instant now = clock.instant();
    Instant closedAt = dispute.isClosed() ? now : null;
    // what the event tells is as of when Stripe created it: a later change may arrive first
    Instant toldAt = event.created() != null ? event.created() : now;
    Optional<Payment> payment =
        paymentIntentId.flatMap(pi -> tx.attach(RefundStore.class).lockPayment(pi));
    if (payment.isEmpty() && paymentIntentId.isPresent()) {
      // the processor may be building the row right now: one of us waits for the other, so that
      // it counts this dispute's chargeback as money gone back, or this finds its row
      PaymentIntentLock.lock(tx, paymentIntentId.get());
      payment = tx.attach(RefundStore.class).lockPayment(paymentIntentId.get());
    }
    DisputeStore store = tx.attach(DisputeStore.class);
    if (payment.isEmpty()) {
      log.warn(
          "dispute {} is on {}, not one of our payments: recorded without a user",
          dispute.id(),
          paymentIntentId.orElse("no PaymentIntent"));
      if (paymentIntentId.isPresent()) {
        recordDispute(store, dispute, null, toldAt, now, closedAt);
      }
      return;
    }
    UUID userId = payment.get().userId();
    // user first, then the dispute: one lock order for every dispute of this user
    store.ensureUser(userId);
    store.lockUser(userId);
    // a win is final only until the card network reverses it (the issuer's pre-arbitration)
    boolean wasWon = store.lock(dispute.id()).map(row -> row.dispute().isWon()).orElse(false);
    if (recordDispute(store, dispute, userId, toldAt, now, closedAt)) {
      tx.afterCommit(inquiries::increment);
      log.info("inquiry {} on {} recorded; not a chargeback", dispute.id(), paymentIntentId.get());
    }
    // what the row says now, not the event: an inquiry's event told after its escalation must not
    // count the dispute without recording its chargeback
    Dispute current = store.lock(dispute.id()).orElseThrow().dispute();
    count(tx, store, current, payment.get(), takenBackAt(event, now), now);
    if (closedAt != null && current.isClosed()) {
      store.noteOutcome(dispute.id(), "dispute closed: " + current.status(), now);
      log.info("dispute {} closed: {}", dispute.id(), current.status());
    }
    closeRequestsIfLost(tx, current, payment.get(), now);
    if (wasWon && !current.isWon()) {
      // the win was reversed: the chargeback counts as money gone back again, so a featured week
      // given back for the win ends with it, as the chargeback ended the week it gave back
      log.warn(
          "dispute {} on {} was won, is {} now",
          dispute.id(),
          paymentIntentId.get(),
          current.status());
      FeaturedPromotions.endForChargeback(tx, paymentIntentId.get(), dispute.id(), now);
    }
    if (current.isWon()) {
      // a request closed when the dispute was lost is owed again, first: what the room is offered
      // to below then finds it pending, as it would had the dispute never been lost
      RequestsTakenBack.reopen(
          tx,
          paymentIntentId.get(),
          chargebackRecordId(dispute.id()),
          "dispute " + dispute.id() + " won",
          now);
      // the chargeback no longer counts as money returned: what waited for that room gets it,
      // a purchase held back while the money was gone included
      awaitingRoom.offer(tx, paymentIntentId.get(), "dispute " + dispute.id() + " won");
      // and a featured week its chargeback ended is given back, for what was left of it, once
      FeaturedPromotions.restoreForWonDispute(tx, paymentIntentId.get(), dispute.id(), now);
    }
  }

  /**
   * Counts a dispute recorded without a user, its events having all come before its payment's row,
   * now that the row may be there: gives it the payment's user and counts it as its next event
   * would (chargeback record, {@code chargeback.recorded}, the ban rule), under the same ids. Locks
   * as an event does (payment, user, dispute), and acts only if the dispute still has no user, so a
   * concurrent event about it or a second replica running the same pass counts it once. False when
   * there was nothing to do.
   */
  public boolean countOnceItsPaymentIsKnown(Handle tx, String disputeId) {
    DisputeStore store = tx.attach(DisputeStore.class);
    Optional<Payment> payment =
        store
            .paymentIntentOf(disputeId)
            .flatMap(pi -> tx.attach(RefundStore.class).lockPayment(pi));
    if (payment.isEmpty()) {
      return false;
    }
    UUID userId = payment.get().userId();
    store.ensureUser(userId);
    store.lockUser(userId);
    DisputeRow row = store.lock(disputeId).orElseThrow();
    Instant now = clock.instant();
    if (store.attachUser(disputeId, userId, now) == 0) {
      return false; // an event about it, or another replica, counted it already
    }
    log.info(
        "dispute {} on {}, recorded before its payment's row, is of user {}",
        disputeId,
        row.stripePaymentIntentId(),
        userId);
    if (row.isInquiry()) {
      // recorded as an inquiry before its payment's row: counted now, when it is applied
      tx.afterCommit(inquiries::increment);
      log.info(
          "inquiry {} on {} recorded; not a chargeback", disputeId, row.stripePaymentIntentId());
    }
    // its money went back before we first heard of it, before the payment's row existed
    count(tx, store, row.dispute(), payment.get(), store.recordedAt(disputeId).orElse(now), now);
    if (row.closedAt() != null) {
      store.noteOutcome(disputeId, "dispute closed: " + row.status(), now);
    }
    closeRequestsIfLost(tx, row.dispute(), payment.get(), now);
    return true;
  }

  /**
   * Counts a dispute of the payment's user, whose lock the caller holds: recorded as a chargeback
   * unless it is an inquiry or prevented, and counted once, when it is first a chargeback not won:
   * only then is a ban decided.
   */
  private void count(
      Handle tx,
      DisputeStore store,
      Dispute dispute,
      Payment payment,
      Instant takenBackAt,
      Instant now) {
    boolean newlyCounted = store.markCounted(dispute.id(), now) == 1;
    // a chargeback whose first event to arrive says it is won was, in Stripe's order, counted when
    // it opened, before the win: the ban is decided as it was then, this dispute included
    boolean countedAsOpened = !newlyCounted && store.markCountedWonFirst(dispute.id(), now) == 1;
    if (!dispute.isInquiry() && !dispute.isPrevented()) {
      recordChargeback(tx, store, dispute, payment, takenBackAt, now);
    }
    if (newlyCounted || countedAsOpened) {
      banIfDue(tx, store, payment.userId(), dispute.id(), now);
    }
  }

  /**
   * Inserts or updates the dispute row with what an event created at {@code toldAt} tells; true
   * when an inquiry is recorded for its user now ({@code payments_disputes_inquiries_total} counts
   * it): new, or recorded as an inquiry before its payment's row existed and given its user now,
   * whatever this event tells of it (it may be the escalation). Counted once: the row has its user
   * from then on.
   */
  private static boolean recordDispute(
      DisputeStore store,
      Dispute dispute,
      UUID userId,
      Instant toldAt,
      Instant now,
      Instant closedAt) {
    Optional<DisputeRow> existing = store.lock(dispute.id());
    if (existing.isEmpty()) {
      return store.insert(
                  dispute.id(),
                  dispute.paymentIntentId(),
                  dispute.chargeId(),
                  userId,
                  dispute.amountCents(),
                  toldAt,
                  dispute.reason(),
                  dispute.status(),
                  dispute.isInquiry(),
                  now,
                  closedAt)
              == 1
          && userId != null
          && dispute.isInquiry();
    }
    boolean escalated = existing.get().isInquiry() && !dispute.isInquiry();
    if (existing.get().closedAt() == null || closedAt != null || escalated) {
      // an event about an open dispute arriving after the closing one does not reopen it, but an
      // inquiry closed without a chargeback may still escalate to one under the same id (an
      // inquiry's event never follows its own chargeback's, so this is no stale event)
      store.update(
          dispute.id(),
          dispute.status(),
          dispute.isInquiry(),
          dispute.amountCents(),
          toldAt,
          closedAt,
          now);
    }
    if (userId != null && store.attachUser(dispute.id(), userId, now) == 1) {
      // its first events came before the payment's row: it counts from this event on
      log.info("dispute {} on {} is of user {}", dispute.id(), dispute.paymentIntentId(), userId);
      return existing.get().isInquiry();
    }
    return false;
  }

  private void recordChargeback(
      Handle tx,
      DisputeStore store,
      Dispute dispute,
      Payment payment,
      Instant takenBackAt,
      Instant now) {
    String disputeId = dispute.id();
    long amount = dispute.amountCents();
    UUID refundId = chargebackRecordId(disputeId);
    if (amount <= 0) {
      return;
    }
    if (store.insertChargeback(
            refundId,
            payment.userId(),
            payment.listingId(),
            payment.paymentIntentId(),
            disputeId,
            amount,
            "dispute " + dispute.reason(),
            now)
        == 0) {
      followAmount(tx, store, dispute, payment, takenBackAt, now);
    } else {
      List<String> userChargebacks = store.chargebacksOf(payment.userId());
      // this one included, as it is when its opening events come first: a dispute whose first
      // event to arrive says it is won is no longer among those that count toward a ban, but it
      // took the money back before it was won, and is announced as the chargeback it was
      int chargebackCount = userChargebacks.size() + (userChargebacks.contains(disputeId) ? 0 : 1);
      Outbox.append(
          tx,
          PaymentEvent.of(
              PaymentEventType.CHARGEBACK_RECORDED,
              disputeId,
              now,
              new ChargebackRecorded(
                  disputeId,
                  refundId,
                  payment.userId(),
                  payment.listingId(),
                  payment.paymentIntentId(),
                  dispute.chargeId(),
                  amount,
                  RefundEvents.CURRENCY,
                  dispute.reason(),
                  dispute.status(),
                  chargebackCount,
                  now)),
          payment.listingId().toString());
      // a featured week whose money the dispute took back in full ends, marked as ended by it
      FeaturedPromotions.endForChargeback(tx, payment.paymentIntentId(), disputeId, now);
      // the processor may have delivered the purchase before this was recorded, though the
      // dispute took the money first: it takes the purchase back, as it would have held it back
      withheld.withdrawIfDelivered(tx, payment, takenBackAt, "dispute " + disputeId);
      tx.afterCommit(chargebacks::increment);
      log.warn(
          "chargeback {} on {} recorded: user {} has {} chargebacks",
          disputeId,
          payment.paymentIntentId(),
          payment.userId(),
          chargebackCount);
    }
  }

  /**
   * A chargeback recorded before, whose dispute's amount the network changed since (a later event
   * told it): its record takes the new amount, so that what counts as gone back of the payment is
   * what the chargeback took. More taken back ends a featured week, or takes back a purchase, that
   * now has none of its money with us; less gives the room back to what waited for it, as a won
   * dispute does. {@code chargeback.recorded} told the dispute once and is not told again.
   */
  private void followAmount(
      Handle tx,
      DisputeStore store,
      Dispute dispute,
      Payment payment,
      Instant takenBackAt,
      Instant now) {
    long recorded = store.lockChargebackAmount(dispute.id()).orElse(dispute.amountCents());
    long amount = dispute.amountCents();
    if (recorded == amount) {
      return;
    }
    store.setChargebackAmount(dispute.id(), amount, now);
    log.warn(
        "chargeback {} on {} is for {} cents now, was recorded for {}",
        dispute.id(),
        payment.paymentIntentId(),
        amount,
        recorded);
    String cause = "dispute " + dispute.id() + " for " + amount + " cents";
    if (amount > recorded) {
      FeaturedPromotions.endForChargeback(tx, payment.paymentIntentId(), dispute.id(), now);
      withheld.withdrawIfDelivered(tx, payment, takenBackAt, cause);
    } else {
      awaitingRoom.offer(tx, payment.paymentIntentId(), cause);
    }
  }

  /**
   * A lost chargeback's money is gone for good: a user's request pending review that it left
   * nothing of the payment for is closed as not owed for the chargeback ({@link
   * RequestsTakenBack}), and a part of the payment's automatic refund awaiting review that no
   * longer fits in what it left gives way to a later part owing the rest ({@link
   * AwaitingRoom#supersedeWhatNoLongerFits}), as the decision would have owed had the loss come
   * first. Not while the dispute is open: it may be won, and the money come back.
   */
  private void closeRequestsIfLost(Handle tx, Dispute dispute, Payment payment, Instant now) {
    if (!dispute.isLost() || dispute.isInquiry() || dispute.amountCents() <= 0) {
      return;
    }
    UUID chargeback = chargebackRecordId(dispute.id());
    RequestsTakenBack.closeIfNothingLeft(
        tx, payment, chargeback, RequestsTakenBack.byLostChargeback(chargeback, dispute.id()), now);
    awaitingRoom.supersedeWhatNoLongerFits(tx, payment.paymentIntentId());
  }

  /**
   * When the dispute took the money: its {@code created} at Stripe, or {@code now} when the event
   * does not say (a purchase delivered before now then stays).
   */
  private static Instant takenBackAt(StripeEvent event, Instant now) {
    long created = event.object().path("created").asLong(0);
    return created > 0 ? Instant.ofEpochSecond(created) : now;
  }

  /**
   * Decided once per newly counted dispute: {@code disputeId} is the one that just counted, one of
   * the user's chargebacks not won even when it is told won already (it was not when it opened).
   */
  private void banIfDue(Handle tx, DisputeStore store, UUID userId, String disputeId, Instant now) {
    List<String> disputes = new ArrayList<>(store.chargebacksOf(userId));
    if (!disputes.contains(disputeId)) {
      disputes.add(disputeId);
    }
    if (!BanPolicy.shouldBan(disputes.size())) {
      return;
    }
    String reason =
        disputes.size() + " chargebacks (" + String.join(", ", disputes) + "), policy P3";
    if (store.ban(userId, reason, now) == 0) {
      return; // banned already, and announced then
    }
    Outbox.append(
        tx,
        PaymentEvent.of(
            PaymentEventType.USER_BANNED,
            userId + "/" + disputeId,
            now,
            new UserBanned(userId, reason, disputes.size(), disputes, now)),
        userId.toString());
    tx.afterCommit(bans::increment);
    log.warn("user {} banned: {}", userId, reason);
  }

  /** The refund record id of a chargeback: the same for every event about the dispute. */
  static UUID chargebackRecordId(String disputeId) {
    return UUID.nameUUIDFromBytes(("stripe-dispute/" + disputeId).getBytes(StandardCharsets.UTF_8));
  }
}
