package io.marketplace.payments.processor.payment;

import io.marketplace.payments.common.logging.Mdc;
import io.marketplace.payments.common.stripe.StripeEvent;
import io.marketplace.payments.processor.audit.Outcome;
import io.marketplace.payments.processor.batch.PaymentBatch;
import io.marketplace.payments.processor.listing.ListingActivation;
import io.marketplace.payments.processor.promotion.Promotions;
import io.marketplace.payments.processor.refund.TechnicalFailures;
import java.time.Clock;
import java.time.Instant;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code payment_intent.succeeded}: the payment is marked succeeded and what it bought, as our
 * {@code payments} row says, is delivered: a posting fee activates the listing, a featured
 * promotion starts (or extends the running one), a bump moves the listing up. Publishes {@code
 * payment.succeeded} and {@code listing.activated} or {@code promotion.created}; when the purchase
 * can no longer be delivered, a refund command instead. A second success of the same PaymentIntent
 * (another event id) changes nothing.
 *
 * <p>Times: the payment succeeded when Stripe says ({@code created} of the event); the listing's
 * life and a featured week start when the effect is applied (the injected clock), so a backlog
 * after an outage does not eat into what the user paid for. A bump counts from the payment.
 */
public final class PaymentSucceededHandler {

  private static final Logger log = LoggerFactory.getLogger(PaymentSucceededHandler.class);

  private final ListingActivation listings;
  private final Promotions promotions;
  private final PaymentMetrics metrics;
  private final Clock clock;

  public PaymentSucceededHandler(
      ListingActivation listings, Promotions promotions, PaymentMetrics metrics, Clock clock) {
    this.listings = listings;
    this.promotions = promotions;
    this.metrics = metrics;
    this.clock = clock;
  }

  public Outcome handle(PaymentBatch batch, StripeEvent event) {
    Optional<PaymentRow> row = batch.payment(event.paymentIntentId().orElseThrow());
    if (row.isEmpty()) {
      return Outcome.ignored(PaymentOutcomes.NOT_OURS);
    }
    if (!row.get().succeed(event.created())) {
      return PaymentOutcomes.already(row.get());
    }
    Payment payment = row.get().purchase();
    try (var scope = Mdc.put(Mdc.LISTING_ID, payment.listingId().toString())) {
      Instant now = clock.instant();
      PaymentFacts.succeeded(batch, payment, event.created());
      batch.afterCommit(() -> metrics.succeeded(payment.type()));
      Delivery delivery =
          switch (payment.type()) {
            case POSTING_FEE -> listings.activate(batch, payment, now);
            case PROMOTION_FEATURED -> promotions.feature(batch, payment, now);
            case PROMOTION_BUMP -> promotions.bump(batch, payment, event.created());
          };
      if (delivery.delivered()) {
        return Outcome.processed();
      }
      TechnicalFailures.requestRefund(batch, payment, delivery.problem(), now);
      batch.afterCommit(metrics::technicalFailure);
      log.warn(
          "paid {} cannot be delivered ({}); automatic refund requested",
          payment.type().wire(),
          delivery.problem());
      return Outcome.processed(
          "technical failure, automatic refund requested: " + delivery.problem());
    }
  }
}
