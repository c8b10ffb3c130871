package io.marketplace.payments.processor.payment;

import io.marketplace.payments.common.logging.Mdc;
import io.marketplace.payments.common.stripe.StripeEvent;
import io.marketplace.payments.processor.audit.Outcome;
import io.marketplace.payments.processor.listing.ListingActivation;
import io.marketplace.payments.processor.promotion.Promotions;
import io.marketplace.payments.processor.refund.TechnicalFailures;
import io.marketplace.payments.processor.tx.PendingWrites;
import java.time.Clock;
import java.time.Instant;
import org.jdbi.v3.core.Handle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code payment_intent.succeeded}: the payment is marked succeeded and what it bought, as our
 * {@code payments} row says, is delivered: a posting fee activates the listing, a featured
 * promotion starts (or extends the running one), a bump moves the listing up. Publishes {@code
 * payment.succeeded} and {@code listing.activated} or {@code promotion.created}; when the purchase
 * can no longer be delivered, a refund command instead.
 *
 * <p>Times: the payment succeeded when Stripe says ({@code created} of the event); the listing's
 * life and a featured week start when the effect is applied (the injected clock), so a backlog
 * after an outage does not eat into what the user paid for. A bump counts from the payment.
 */
public final class PaymentSucceededHandler {

  private static final Logger log = LoggerFactory.getLogger(PaymentSucceededHandler.class);

  private final Payments payments;
  private final ListingActivation listings;
  private final Promotions promotions;
  private final PaymentMetrics metrics;
  private final PendingWrites writes;
  private final Clock clock;

  public PaymentSucceededHandler(
      Payments payments,
      ListingActivation listings,
      Promotions promotions,
      PaymentMetrics metrics,
      PendingWrites writes,
      Clock clock) {
    this.writes = writes;
    this.payments = payments;
    this.listings = listings;
    this.promotions = promotions;
    this.metrics = metrics;
    this.clock = clock;
  }

  public Outcome handle(Handle tx, StripeEvent event) {
    Payments.Moved moved =
        payments.transition(tx, event, pi -> payments.markSucceeded(tx, pi, event.created()));
    if (!moved.isMoved()) {
      return moved.ignored();
    }
    Payment payment = moved.payment();
    try (var scope = Mdc.put(Mdc.LISTING_ID, payment.listingId().toString())) {
      Instant now = clock.instant();
      PaymentFacts.succeeded(writes, tx, payment, event.created());
      metrics.succeededOnCommit(tx, payment.type());
      Delivery delivery =
          switch (payment.type()) {
            case POSTING_FEE -> listings.activate(tx, payment, now);
            case PROMOTION_FEATURED -> promotions.feature(tx, payment, now);
            case PROMOTION_BUMP -> promotions.bump(tx, payment, event.created());
          };
      if (delivery.delivered()) {
        return Outcome.processed();
      }
      TechnicalFailures.requestRefund(writes, tx, payment, delivery.problem(), now);
      metrics.technicalFailureOnCommit(tx);
      log.warn(
          "paid {} cannot be delivered ({}); automatic refund requested",
          payment.type().wire(),
          delivery.problem());
      return Outcome.processed(
          "technical failure, automatic refund requested: " + delivery.problem());
    }
  }
}
