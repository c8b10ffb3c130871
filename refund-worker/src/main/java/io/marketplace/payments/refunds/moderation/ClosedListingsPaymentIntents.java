package io.marketplace.payments.refunds.moderation;

import com.stripe.StripeClient;
import com.stripe.exception.StripeException;
import io.marketplace.payments.common.stripe.PaymentIntentCancellation;
import io.marketplace.payments.common.stripe.PaymentIntentsToCancel;
import io.marketplace.payments.common.stripe.StripeKeys;
import io.marketplace.payments.common.worker.Failures;
import io.marketplace.payments.refunds.refund.JanitorRows;
import io.marketplace.payments.refunds.refund.RefundJanitor;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A pass of the {@link RefundJanitor}: cancels at Stripe the PaymentIntents of listings rejected or
 * expired that someone could still pay ({@code payment_intents_to_cancel}, {@link
 * PaymentIntentsToCancel}): those of a rejection from another service on {@code
 * marketplace.moderation.v1} and of an expiry, which nobody else cancels, and those checkout-api's
 * reject route, or a checkout it refused (closing the open purchase of the same listing and type:
 * the listing expired, a featured week no longer fits), could not cancel at once (Stripe
 * unreachable or holding it off). Without it the buyer, who still holds the client secret, could
 * pay for what cannot be delivered, and be charged only to be refunded, with Stripe's fee kept.
 * Each cancellation is counted in {@code
 * payments_payment_intents_canceled_for_closed_listing_total{reason}}, {@code reason} as the row's:
 * {@code listing_rejected}, {@code listing_expired} or {@code checkout_refused}.
 *
 * <p>A row is deleted once Stripe has canceled its PaymentIntent, answered from an earlier
 * cancellation under the same key, or said it cannot be canceled (paid: its event is on its way,
 * and a payment that succeeds on a listing no longer live is refunded). One whose payment is
 * processing is not settled (a payment that fails leaves it payable again): its row is asked again
 * after the same backoff, without counting a failure, until Stripe cancels it or says it is paid. A
 * refusal of its own ({@code resource_missing}, ...) is counted in {@code
 * payments_refunds_janitor_failures_total{pass="ClosedListingsPaymentIntents"}} and the row is
 * asked again later, backing off up to {@value #MAX_BACKOFF_MINUTES} minutes, so that one Stripe
 * keeps refusing keeps the alert on. A Stripe that cannot be reached, fails in itself or holds us
 * off ends the pass, and every row it had not settled is due again at once.
 *
 * <p>A pass claims the rows it takes (they are due again only after {@link #CLAIM}, should the
 * process die holding them), so replicas running the pass at once ask Stripe once for each.
 */
public final class ClosedListingsPaymentIntents implements RefundJanitor.Pass {

  private static final Logger log = LoggerFactory.getLogger(ClosedListingsPaymentIntents.class);
  private static final int BATCH = 100;
  private static final long MAX_BACKOFF_MINUTES = 5;
  static final Duration CLAIM = Duration.ofMinutes(5);

  private record Row(String paymentIntentId, UUID listingId, String reason, int attempts) {}

  private final Jdbi jdbi;
  private final StripeClient stripe;
  private final Clock clock;
  private final Duration budget;
  private final Duration firstBackoff;
  private final Map<String, Counter> canceled;
  private final JanitorRows rows;

  /**
   * A pass that starts no new cancellation once it has spent {@code budget} on them; a row Stripe
   * refused is asked again after {@code firstBackoff}, then twice as long each time.
   */
  public ClosedListingsPaymentIntents(
      Jdbi jdbi,
      StripeClient stripe,
      Clock clock,
      Duration budget,
      Duration firstBackoff,
      MeterRegistry registry) {
    this.jdbi = jdbi;
    this.stripe = stripe;
    this.clock = clock;
    this.budget = budget;
    this.firstBackoff = firstBackoff;
    Map<String, Counter> counters = new HashMap<>();
    for (PaymentIntentsToCancel.Reason reason : PaymentIntentsToCancel.Reason.values()) {
      counters.put(reason.wire(), counter(registry, reason));
    }
    this.canceled = Map.copyOf(counters);
    this.rows = new JanitorRows(name(), registry);
  }

  private static Counter counter(MeterRegistry registry, PaymentIntentsToCancel.Reason reason) {
    return Counter.builder("payments.payment_intents.canceled_for_closed_listing")
        .description(
            "open PaymentIntents of rejected or expired listings, or of refused checkouts,"
                + " canceled at Stripe")
        .tag("reason", reason.wire())
        .register(registry);
  }

  @Override
  public int run() {
    List<Row> due = claim();
    long deadline = System.nanoTime() + budget.toNanos();
    int settled = 0;
    int tried = 0;
    try {
      for (Row row : due) {
        if (tried > 0 && System.nanoTime() - deadline >= 0) {
          log.info(
              "{} PaymentIntents of closed listings left for the next pass: Stripe is slow",
              due.size() - tried);
          break;
        }
        if (cancel(row)) {
          settled++;
        }
        tried++;
      }
    } finally {
      // the rows claimed but not asked (the budget spent, or Stripe down) are due again at once
      release(due.subList(tried, due.size()));
    }
    return settled;
  }

  private List<Row> claim() {
    Instant now = clock.instant();
    return jdbi.inTransaction(
        h ->
            h.createQuery(
                    """
                    UPDATE payment_intents_to_cancel SET next_attempt_at = :claimedUntil
                    WHERE stripe_payment_intent_id IN (
                        SELECT stripe_payment_intent_id FROM payment_intents_to_cancel
                        WHERE next_attempt_at <= :now
                        ORDER BY next_attempt_at, stripe_payment_intent_id
                        LIMIT :limit
                        FOR UPDATE SKIP LOCKED)
                    RETURNING stripe_payment_intent_id, listing_id, reason, attempts
                    """)
                .bind("now", now)
                .bind("claimedUntil", now.plus(CLAIM))
                .bind("limit", BATCH)
                .map(
                    (rs, ctx) ->
                        new Row(
                            rs.getString("stripe_payment_intent_id"),
                            rs.getObject("listing_id", UUID.class),
                            rs.getString("reason"),
                            rs.getInt("attempts")))
                .list());
  }

  private void release(List<Row> untried) {
    if (untried.isEmpty()) {
      return;
    }
    jdbi.useHandle(
        h ->
            h.createUpdate(
                    """
                    UPDATE payment_intents_to_cancel SET next_attempt_at = :now
                    WHERE stripe_payment_intent_id = ANY(:ids)
                    """)
                .bind("now", clock.instant())
                .bindArray("ids", String.class, untried.stream().map(Row::paymentIntentId).toList())
                .execute());
  }

  /**
   * Cancels one; true when its row is settled (deleted). Throws when Stripe cannot be reached or
   * fails in itself: the pass ends there.
   */
  private boolean cancel(Row row) {
    try {
      if (PaymentIntentCancellation.answeredBefore(
          PaymentIntentCancellation.cancel(stripe, row.paymentIntentId()))) {
        log.info(
            "PaymentIntent {} of listing {} ({}) was canceled already",
            row.paymentIntentId(),
            row.listingId(),
            row.reason());
      } else {
        canceled
            .getOrDefault(
                row.reason(), canceled.get(PaymentIntentsToCancel.Reason.LISTING_REJECTED.wire()))
            .increment();
        log.warn(
            "PaymentIntent {} of listing {} ({}) canceled at Stripe: it must not take a"
                + " payment now",
            row.paymentIntentId(),
            row.listingId(),
            row.reason());
      }
    } catch (StripeException e) {
      if (PaymentIntentCancellation.refusedWhileProcessing(e)) {
        Duration backoff = postpone(row);
        log.info(
            "PaymentIntent {} of listing {} ({}) is processing a payment; asked again in {}, to"
                + " be canceled should that payment fail",
            row.paymentIntentId(),
            row.listingId(),
            row.reason(),
            backoff);
        return false;
      }
      if (PaymentIntentCancellation.NOT_CANCELABLE.equals(e.getCode())) {
        log.info(
            "PaymentIntent {} of listing {} ({}) is not cancelable: {}",
            row.paymentIntentId(),
            row.listingId(),
            row.reason(),
            StripeKeys.redact(e.getMessage()));
      } else if (PaymentIntentCancellation.isStripeUnavailable(e)) {
        throw new Failures.TransientFailure(
            "Stripe could not cancel PaymentIntent "
                + row.paymentIntentId()
                + " (status "
                + e.getStatusCode()
                + "): "
                + StripeKeys.redact(e.getMessage())
                + "; the next pass asks again",
            null);
      } else {
        refused(row, "status " + e.getStatusCode() + ", code " + e.getCode(), e);
        return false;
      }
    } catch (RuntimeException e) {
      // an answer we could not read: this PaymentIntent's, as far as we can tell
      refused(row, "unreadable answer", e);
      return false;
    }
    jdbi.useHandle(h -> PaymentIntentsToCancel.done(h, row.paymentIntentId()));
    return true;
  }

  private void refused(Row row, String why, Exception e) {
    rows.countFailed();
    Duration backoff = postpone(row);
    log.warn(
        "could not cancel PaymentIntent {} of listing {} ({}; {}): {}; asked again in {}",
        row.paymentIntentId(),
        row.listingId(),
        row.reason(),
        why,
        StripeKeys.redact(String.valueOf(e.getMessage())),
        backoff);
  }

  /** Counts an ask that did not settle the row, and makes it due again after the backoff. */
  private Duration postpone(Row row) {
    Duration backoff = backoff(row.attempts() + 1);
    jdbi.useHandle(
        h ->
            h.createUpdate(
                    """
                    UPDATE payment_intents_to_cancel
                    SET attempts = attempts + 1, next_attempt_at = :next
                    WHERE stripe_payment_intent_id = :id
                    """)
                .bind("next", clock.instant().plus(backoff))
                .bind("id", row.paymentIntentId())
                .execute());
    return backoff;
  }

  /** {@code firstBackoff} after the first refusal, twice as long after each next, at most 5 min. */
  Duration backoff(int attempts) {
    Duration max = Duration.ofMinutes(MAX_BACKOFF_MINUTES);
    Duration backoff = firstBackoff;
    for (int i = 1; i < attempts && backoff.compareTo(max) < 0; i++) {
      backoff = backoff.multipliedBy(2);
    }
    return backoff.compareTo(max) > 0 ? max : backoff;
  }
}
