package io.marketplace.payments.refunds.refund;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.marketplace.payments.common.db.PaymentIntentLock;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.promotion.FeaturedPromotions;
import io.marketplace.payments.common.refund.RefundDao;
import io.marketplace.payments.common.refund.RefundEvents;
import io.marketplace.payments.common.refund.RefundExecutor;
import io.marketplace.payments.common.refund.RefundReason;
import io.marketplace.payments.common.refund.RefundRecord;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.Locale;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.core.Handle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Records a refund Stripe made outside the system (its dashboard) on one of our payments: once
 * ({@code user_request}, {@code processed}, id derived from the {@code re_} id), announced as
 * {@code refund.processed}. When our records would then sum to more than was paid, they still count
 * money that is coming back to us (a refund Stripe has failed, a dispute we won, their events not
 * delivered yet: Stripe does not order its events, and never refunds more than the charge), so the
 * refund waits in {@code refunds_awaiting_room} until {@link AwaitingRoom} offers it room.
 *
 * <p>A refund in another currency than the payment's is not recorded (its cents are not the
 * payment's): logged and counted as not recorded ({@code payments_refunds_unrecorded_total}), as a
 * refund without an amount is, for an operator to reconcile.
 *
 * <p>A refund of a PaymentIntent we have no payments row for yet (checkout-api's insert lost or not
 * visible yet; the payment processor rebuilds the row from the PaymentIntent's metadata when it
 * applies the success) waits in {@code refunds_awaiting_payment}, counted as money gone back on
 * that PaymentIntent, and is recorded once the row exists: by the janitor's pass {@link
 * RefundsAwaitingPayment}, or the refund's next event, whichever comes first.
 */
public final class ExternalRefunds {

  private static final Logger log = LoggerFactory.getLogger(ExternalRefunds.class);
  static final String EXTERNAL_NOTE = "refunded outside the system";

  private final RefundExecutor executor;
  private final RefundDecisions decisions;
  private final Clock clock;
  private final Counter external;
  private final Counter unrecorded;
  private final Counter awaitingRoom;
  private final Counter awaitingPayment;
  private final WithheldDeliveries withheld;

  public ExternalRefunds(
      RefundExecutor executor, RefundDecisions decisions, Clock clock, MeterRegistry registry) {
    this.executor = executor;
    this.decisions = decisions;
    this.clock = clock;
    this.withheld = new WithheldDeliveries(clock);
    this.external =
        Counter.builder("payments.refunds.external")
            .description("refunds made outside the system and recorded from Stripe's events")
            .register(registry);
    this.unrecorded = StripeRefundHandler.unrecordedCounter(registry);
    this.awaitingRoom =
        Counter.builder("payments.refunds.awaiting.room")
            .description(
                "Stripe refunds kept until money counted as gone back on the payment comes back")
            .register(registry);
    this.awaitingPayment =
        Counter.builder("payments.refunds.awaiting.payment")
            .description("Stripe refunds kept until their PaymentIntent's payments row exists")
            .register(registry);
  }

  /** Records {@code refund}, or keeps it waiting for room; nothing when already recorded. */
  void record(Handle tx, JsonNode refund, String stripeRefundId, String paymentIntentId) {
    RefundStore store = tx.attach(RefundStore.class);
    Optional<Payment> payment = store.lockPayment(paymentIntentId);
    if (payment.isEmpty()) {
      // the processor may be building the row right now: one of us waits for the other, so that
      // it counts this refund, or this finds its row
      PaymentIntentLock.lock(tx, paymentIntentId);
      payment = store.lockPayment(paymentIntentId);
    }
    if (tx.attach(RefundDao.class).stripeRefundFailed(stripeRefundId)) {
      // its failure was applied while this waited for the lock (the janitor read the refund
      // before): no money went back, and nothing waits for it any more
      store.unparkFromPayment(stripeRefundId);
      store.unpark(stripeRefundId);
      log.info("refund {} on {} failed at Stripe: not recorded", stripeRefundId, paymentIntentId);
      return;
    }
    long amount = refund.path("amount").asLong(0);
    if (payment.isEmpty() && amount > 0) {
      if (store.parkUntilPayment(
              stripeRefundId, paymentIntentId, amount, refund.toString(), clock.instant())
          > 0) {
        tx.afterCommit(awaitingPayment::increment);
        log.info(
            "refund {} of {} cents is on {}, which we have no payment row for: kept until the row"
                + " exists (or for good, if it is not one of our payments)",
            stripeRefundId,
            amount,
            paymentIntentId);
      }
      return;
    }
    if (payment.isEmpty()) {
      log.info("refund {} is on {}, not one of our payments", stripeRefundId, paymentIntentId);
      return;
    }
    // the row is there: a refund that waited for it waits no more (recorded, or kept for room)
    store.unparkFromPayment(stripeRefundId);
    if (amount <= 0) {
      tx.afterCommit(unrecorded::increment);
      log.error(
          "refund {} on {} not recorded: its amount is {}; an operator must reconcile it",
          stripeRefundId,
          paymentIntentId,
          amount);
      return;
    }
    String currency = refund.path("currency").asText("").toLowerCase(Locale.ROOT);
    if (!currency.isEmpty() && !currency.equals(payment.get().currency())) {
      // Stripe refunds in the charge's currency: the PaymentIntent was not charged as we priced it
      // (the payment processor refuses to deliver it), and its cents are not the payment's cents
      store.unpark(stripeRefundId);
      tx.afterCommit(unrecorded::increment);
      log.error(
          "refund {} on {} not recorded: it is {} {}, but the payment was {} {}; an operator must"
              + " reconcile it",
          stripeRefundId,
          paymentIntentId,
          amount,
          currency,
          payment.get().amountCents(),
          payment.get().currency());
      return;
    }
    long already = store.processedCents(paymentIntentId);
    if (already + amount > payment.get().amountCents()) {
      if (store.park(stripeRefundId, paymentIntentId, refund.toString(), clock.instant()) > 0) {
        tx.afterCommit(awaitingRoom::increment);
        log.warn(
            "refund {} of {} cents on {} waits: our records have {} cents refunded of {} paid,"
                + " so money they count must be coming back (a refund failed, a dispute won);"
                + " recorded when it does",
            stripeRefundId,
            amount,
            paymentIntentId,
            already,
            payment.get().amountCents());
      }
      return;
    }
    store.unpark(stripeRefundId);
    UUID id = externalRecordId(stripeRefundId);
    Instant now = clock.instant();
    long created = refund.path("created").asLong(0);
    Instant processedAt = created > 0 ? Instant.ofEpochSecond(created) : now;
    int inserted =
        store.insertExternal(
            id,
            payment.get().userId(),
            payment.get().listingId(),
            paymentIntentId,
            stripeRefundId,
            amount,
            EXTERNAL_NOTE,
            now,
            processedAt);
    if (inserted == 0) {
      return;
    }
    RefundRecord record = tx.attach(RefundDao.class).find(id).orElseThrow();
    RefundEvents.append(tx, record, RefundEvents.processed(record, stripeRefundId, processedAt));
    FeaturedPromotions.endForRefundedPayment(tx, paymentIntentId, now);
    executor.countProcessed(tx, RefundReason.USER_REQUEST);
    // the processor may have delivered the purchase before this was recorded, though Stripe
    // refunded it first: it takes the purchase back, as it would have held it back
    withheld.withdrawIfDelivered(
        tx, payment.get(), processedAt, "refund " + stripeRefundId + " recorded");
    // an automatic refund decided before this was told asked for money this gave back, and Stripe
    // refused it: the decision owes what is left instead
    decisions.supersedeWhatNoLongerFits(tx, paymentIntentId);
    // a user's request pending review that this left nothing for can never be approved
    RequestsTakenBack.closeIfNothingLeft(
        tx, payment.get(), id, RequestsTakenBack.byDashboardRefund(id, stripeRefundId), now);
    tx.afterCommit(external::increment);
    log.info(
        "recorded refund {} of {} cents on {} made outside the system",
        stripeRefundId,
        amount,
        paymentIntentId);
  }

  /**
   * Records the refunds of the payment that waited for room, oldest first; one that still does not
   * fit waits on.
   */
  void recordWaiting(Handle tx, String paymentIntentId) {
    for (String json : tx.attach(RefundStore.class).parked(paymentIntentId)) {
      JsonNode refund;
      try {
        refund = Json.mapper().readTree(json);
      } catch (JsonProcessingException e) {
        throw new IllegalStateException("refunds_awaiting_room holds no JSON", e);
      }
      record(tx, refund, refund.path("id").asText(), paymentIntentId);
    }
  }

  /**
   * Records a refund that waited for its payment's row, now that the row may be there (or keeps it
   * for room, see {@link #record}); true when it waits for the row no more, false when it still
   * does or was settled meanwhile (its next event recorded it, Stripe failed it).
   */
  boolean recordAwaitingPayment(Handle tx, String stripeRefundId) {
    Optional<String> json = tx.attach(RefundStore.class).awaitingPayment(stripeRefundId);
    if (json.isEmpty()) {
      return false;
    }
    JsonNode refund;
    try {
      refund = Json.mapper().readTree(json.get());
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("refunds_awaiting_payment holds no JSON", e);
    }
    String paymentIntentId = refund.path("payment_intent").asText();
    record(tx, refund, stripeRefundId, paymentIntentId);
    return tx.attach(RefundStore.class).awaitingPayment(stripeRefundId).isEmpty();
  }

  /** The record id of a refund made outside the system: the same for every event about it. */
  static UUID externalRecordId(String stripeRefundId) {
    return UUID.nameUUIDFromBytes(
        ("stripe-refund/" + stripeRefundId).getBytes(StandardCharsets.UTF_8));
  }
}
