package io.marketplace.payments.processor.payment;

import io.marketplace.payments.common.events.DeliveryCommand;
import io.marketplace.payments.common.events.PaymentEvent;
import io.marketplace.payments.common.events.PaymentEventType;
import io.marketplace.payments.common.events.WithdrawalCommand;
import io.marketplace.payments.common.logging.Mdc;
import io.marketplace.payments.common.stripe.StripeEvent;
import io.marketplace.payments.processor.audit.Outcome;
import io.marketplace.payments.processor.batch.PaymentBatch;
import io.marketplace.payments.processor.listing.ListingActivation;
import io.marketplace.payments.processor.listing.ListingRow;
import io.marketplace.payments.processor.promotion.Promotions;
import io.marketplace.payments.processor.refund.TechnicalFailures;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code payment_intent.succeeded}: the payment is marked succeeded and what it bought, as our
 * {@code payments} row says, is delivered: a posting fee activates the listing, a featured
 * promotion starts (or extends the running one), a bump moves the listing up. Publishes {@code
 * payment.succeeded} and {@code listing.activated} or {@code promotion.created}; when the purchase
 * can no longer be delivered, a refund command instead. A payment all of whose money went back
 * before its success was applied (a refund or a chargeback the refund worker recorded first) is
 * marked succeeded and announced, and its purchase held back ({@code delivery_withheld_at}): when
 * that money comes back to us (a dispute won, a refund Stripe failed), the refund worker asks for
 * the delivery on {@code payments.internal.delivery-commands.v1} ({@link #deliverWithheld}). In the
 * other order (the success applied first, the money recorded gone after), the refund worker asks on
 * the same topic for an activation made after Stripe took the money back to be taken back ({@link
 * #withdrawDelivered}), so that both orders end the same. A second success of the same
 * PaymentIntent (another event id) changes nothing.
 *
 * <p>Times: the payment succeeded when Stripe says ({@code created} of the event); the listing's
 * life, a featured week and a bump start when the effect is applied (the injected clock), so a
 * backlog after an outage does not eat into what the user paid for, nor place a late bump below the
 * listings bumped since. The refund of a purchase that cannot be delivered counts from the payment
 * (see {@link TechnicalFailures}).
 */
public final class PaymentSucceededHandler {

  private static final Logger log = LoggerFactory.getLogger(PaymentSucceededHandler.class);

  /**
   * The outcome of a success applied after all of the payment's money went back: the refund worker
   * reads the topic from its own place, and recorded a full refund (Stripe's dashboard) or a
   * chargeback first. Delivering would give the customer both the purchase and the money.
   */
  static final String MONEY_WENT_BACK =
      "succeeded, not delivered: all of its money went back before the success was applied;"
          + " held back until it comes back";

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
    OurPaymentIntent.requireChargedAsPriced(row.get().purchase(), event);
    if (!row.get().succeed(event.created())) {
      return deliverAgainIfMissing(batch, row.get(), event);
    }
    Payment payment = row.get().purchase();
    try (var scope = Mdc.put(Mdc.LISTING_ID, payment.listingId().toString())) {
      Instant now = clock.instant();
      PaymentFacts.succeeded(batch, payment, event.created());
      batch.afterCommit(() -> metrics.succeeded(payment.type()));
      if (row.get().returnedInFull()) {
        log.warn(
            "payment {} succeeded after all of its money went back ({} of {} cents: a refund or a"
                + " chargeback recorded first); its {} is not delivered",
            payment.paymentIntentId(),
            row.get().returnedCents(),
            payment.amountCents(),
            payment.type().wire());
        row.get().withhold(now);
        return Outcome.processed(MONEY_WENT_BACK);
      }
      Delivery delivery = deliver(batch, payment, now);
      if (delivery.delivered()) {
        return Outcome.processed();
      }
      row.get().refuseDelivery(now);
      TechnicalFailures.requestRefund(batch, payment, delivery.problem(), event.created());
      batch.afterCommit(metrics::technicalFailure);
      log.warn(
          "paid {} cannot be delivered ({}); automatic refund requested",
          payment.type().wire(),
          delivery.problem());
      return Outcome.processed(
          "technical failure, automatic refund requested: " + delivery.problem());
    }
  }

  /**
   * A second success of a PaymentIntent already marked succeeded: another event id for the same
   * change, or a repair published by {@code payments reconcile}. A purchase found undeliverable
   * before and sent for refund ({@link PaymentRow#refuseDelivery}) is never delivered now, even
   * when it would be (a featured week that fits once the week before it ended early): its money is
   * on its way back. What the payment bought is otherwise delivered if it is missing (a posting fee
   * whose listing is still {@code pending_payment}, a promotion without its row); nothing else
   * changes, nothing is counted again, and a purchase that cannot be delivered any more asks for no
   * second refund (its refund command already exists); one missing that cannot be delivered now is
   * refunded (once per payment, whoever asks first). A payment whose money all went back meanwhile
   * (an admin refunded the missing purchase, a chargeback) is not delivered: the customer would
   * have both; it is held back, like one whose money went back before its first success was
   * applied. A purchase held back is missing whatever its listing became: one that can no longer be
   * delivered is refunded.
   *
   * <p>A posting fee's activation is missing only while its listing waits for this payment (see
   * {@link #waitsFor}): a listing that is {@code pending_payment} again because another payment's
   * activation was taken back ({@link #withdrawDelivered}) did not lose anything this payment gave
   * it. Such a payment found the listing active when its success was applied and was sent for
   * refund: activating with it would leave a live listing whose money is on its way back.
   */
  private Outcome deliverAgainIfMissing(PaymentBatch batch, PaymentRow row, StripeEvent event) {
    Payment payment = row.purchase();
    ListingRow listing = batch.listing(payment.listingId());
    Instant now = clock.instant();
    boolean missing =
        row.deliveryWithheld()
            || switch (payment.type()) {
              case POSTING_FEE -> listing != null && waitsFor(listing, payment);
              // a promotion that went out keeps its row; one without is missing whatever its
              // listing became since, and one its listing no longer takes is refunded
              case PROMOTION_FEATURED, PROMOTION_BUMP ->
                  listing != null && !batch.hasPromotion(payment.paymentIntentId());
            };
    if (!missing) {
      return PaymentOutcomes.already(row);
    }
    if (row.deliveryRefused()) {
      // sent for refund when it could not be delivered: delivering it now that it could (another
      // week ended early, so this one fits) would give the customer the purchase and the money.
      // The refund is asked again under its one command id, in case the first ask never became a
      // refund (what a reconcile repair is for); the refund worker does it once.
      String problem =
          payment.type().wire()
              + " could not be delivered when its success was applied at "
              + row.deliveryRefusedAt()
              + "; sent for refund then";
      TechnicalFailures.requestRefund(batch, payment, problem, row.succeededAt());
      return Outcome.ignored("not delivered again: " + problem);
    }
    if (row.returnedInFull()) {
      log.warn(
          "payment {} had succeeded but its {} was missing; not delivered again: {} of its {} cents"
              + " went back",
          payment.paymentIntentId(),
          payment.type().wire(),
          row.returnedCents(),
          payment.amountCents());
      row.withhold(now);
      return Outcome.ignored(
          "missing delivery of a succeeded payment not restored: its money went back");
    }
    return deliverMissing(batch, row, event.created(), now);
  }

  /**
   * Whether the listing waits for the posting fee {@code payment}: {@code pending_payment}, and
   * naming this PaymentIntent or none. Checkout names the PaymentIntent it hands out in the same
   * transaction as it records the payment, and an activation names the payment that made it, which
   * stays named when that activation is taken back; a listing naming another PaymentIntent waits
   * for that one, or was activated by it.
   */
  private static boolean waitsFor(ListingRow listing, Payment payment) {
    return "pending_payment".equals(listing.status())
        && (listing.paymentIntentId() == null
            || listing.paymentIntentId().equals(payment.paymentIntentId()));
  }

  /**
   * {@code payments.internal.delivery-commands.v1}: money of a payment whose purchase was held back
   * came back to us (a dispute won, a refund Stripe failed). The purchase is delivered, or, when it
   * can no longer be (a listing rejected or expired meanwhile, a week that no longer fits, a
   * listing another payment activated), refunded automatically as of the payment, as a purchase
   * that arrives undeliverable is. Nothing happens unless the purchase is still held back and no
   * longer all of its money is gone: another command, a reconcile repair or a success applied again
   * may have delivered it, and a second chargeback may hold it still.
   */
  public Outcome deliverWithheld(PaymentBatch batch, DeliveryCommand command) {
    Optional<PaymentRow> found = batch.payment(command.paymentIntentId());
    if (found.isEmpty()) {
      return Outcome.ignored(PaymentOutcomes.NOT_OURS);
    }
    PaymentRow row = found.get();
    Payment payment = row.purchase();
    if (!row.deliveryWithheld()) {
      return Outcome.ignored("nothing of the payment is held back");
    }
    if (row.returnedInFull()) {
      log.info(
          "payment {}: {}, but {} of its {} cents are still gone back; its {} stays held back",
          payment.paymentIntentId(),
          command.cause(),
          row.returnedCents(),
          payment.amountCents(),
          payment.type().wire());
      return Outcome.ignored("held back still: all of its money is gone back");
    }
    return deliverMissing(batch, row, row.succeededAt(), clock.instant());
  }

  /**
   * Stripe dates objects to the second: a refund {@code created} at {@code t} was made in {@code
   * [t, t + 1 s)}. Only an activation at or after {@code t + 1 s} certainly came after the money
   * went back; one within that second stays (a chargeback right after the payment, as Stripe's test
   * card {@code pm_card_createDispute} makes, may have come after it).
   */
  private static final Duration STRIPE_TIME_RESOLUTION = Duration.ofSeconds(1);

  /** The data of {@code listing.withdrawn}. */
  public record ListingWithdrawn(
      UUID listingId,
      UUID userId,
      String paymentIntentId,
      Instant activatedAt,
      Instant returnedAt,
      Instant withdrawnAt) {}

  /**
   * {@code payments.internal.delivery-commands.v1}, {@link WithdrawalCommand}: the refund worker
   * recorded a dashboard refund or a chargeback that took the rest of a succeeded payment's money
   * back. A posting fee that activated the listing after Stripe took the money back (this processor
   * applied the success first, the refund worker recorded the money later) is taken back: the
   * listing waits for payment again and the purchase is held back, the state the other order
   * leaves, announced as {@code listing.withdrawn}; when the money comes back to us, the refund
   * worker asks for the delivery as for any purchase held back. Nothing changes for a purchase
   * delivered before the money went back (a chargeback weeks later: the customer had the listing
   * they paid for), for one held back already, or when not all of the money is gone any more. The
   * listing's featured weeks still to run, bought while that activation made it live, end with it
   * and their payments are refunded ({@link Promotions#endForWithdrawnListing}). A promotion's own
   * payment is not taken back here: a bump that went out stays, and a featured week whose money all
   * went back was ended by the refund worker as it recorded that money ({@code
   * FeaturedPromotions.endForRefundedPayment}, {@code endForChargeback}), whichever order.
   */
  public Outcome withdrawDelivered(PaymentBatch batch, WithdrawalCommand command) {
    Optional<PaymentRow> found = batch.payment(command.paymentIntentId());
    if (found.isEmpty()) {
      return Outcome.ignored(PaymentOutcomes.NOT_OURS);
    }
    PaymentRow row = found.get();
    Payment payment = row.purchase();
    if (!"succeeded".equals(row.status())) {
      return Outcome.ignored("not succeeded yet: its success, when applied, holds it back");
    }
    if (row.deliveryWithheld()) {
      return Outcome.ignored("nothing delivered to take back: held back already");
    }
    if (!row.returnedInFull()) {
      return Outcome.ignored("not all of its money is gone back now");
    }
    if (payment.type() != PaymentType.POSTING_FEE) {
      log.info(
          "payment {}: all of its money went back at {} ({}); its {}, which went out, is not"
              + " taken back",
          payment.paymentIntentId(),
          command.returnedAt(),
          command.cause(),
          payment.type().wire());
      return Outcome.ignored("a promotion that went out is not taken back");
    }
    ListingRow listing = batch.listing(payment.listingId());
    if (listing == null
        || !listing.isActive()
        || !payment.paymentIntentId().equals(listing.paymentIntentId())
        || listing.activatedAt() == null
        || listing.activatedAt().isBefore(command.returnedAt().plus(STRIPE_TIME_RESOLUTION))) {
      return Outcome.ignored("its listing was not activated by it after its money went back");
    }
    Instant now = clock.instant();
    Instant activatedAt = listing.activatedAt();
    try (var scope = Mdc.put(Mdc.LISTING_ID, payment.listingId().toString())) {
      listing.withdrawActivation(payment.paymentIntentId());
      row.withdrawActivation(now);
      batch.publish(
          PaymentEvent.written(
              PaymentEventType.LISTING_WITHDRAWN,
              payment.listingId() + ":" + payment.paymentIntentId() + ":" + command.id(),
              now,
              new ListingWithdrawn(
                  listing.id(),
                  listing.userId(),
                  payment.paymentIntentId(),
                  activatedAt,
                  command.returnedAt(),
                  now)),
          listing.id().toString());
      // its featured weeks, bought while it was live by that activation, end and are refunded
      promotions.endForWithdrawnListing(batch, listing, now);
      log.warn(
          "payment {} activated listing {} at {}, after all of its money went back at {} ({});"
              + " the listing waits for payment again, its posting fee held back",
          payment.paymentIntentId(),
          listing.id(),
          activatedAt,
          command.returnedAt(),
          command.cause());
      return Outcome.processed("activation after its money went back taken back; held back");
    }
  }

  /**
   * Delivers the missing purchase of a payment that succeeded (Stripe took the money at {@code
   * paidAt}), or asks for its refund when it cannot be delivered now; either way it is no longer
   * held back.
   */
  private Outcome deliverMissing(PaymentBatch batch, PaymentRow row, Instant paidAt, Instant now) {
    Payment payment = row.purchase();
    row.releaseDelivery();
    try (var scope = Mdc.put(Mdc.LISTING_ID, payment.listingId().toString())) {
      Delivery delivery =
          payment.type() == PaymentType.POSTING_FEE
              ? listings.activate(batch, payment, now, row.activationWithdrawnAt())
              : deliver(batch, payment, now);
      if (delivery.delivered()) {
        log.warn(
            "payment {} had succeeded but its {} was missing; delivered again",
            payment.paymentIntentId(),
            payment.type().wire());
        return Outcome.processed("missing delivery of a succeeded payment restored");
      }
      // paid, never delivered, and now it cannot be: the customer gets the money back (one
      // automatic refund per payment, under a command id fixed by the PaymentIntent)
      row.refuseDelivery(now);
      TechnicalFailures.requestRefund(batch, payment, delivery.problem(), paidAt);
      batch.afterCommit(metrics::technicalFailure);
      log.warn(
          "payment {} had succeeded but its {} was missing and cannot be delivered ({});"
              + " automatic refund requested",
          payment.paymentIntentId(),
          payment.type().wire(),
          delivery.problem());
      return Outcome.processed(
          "missing delivery of a succeeded payment cannot be restored ("
              + delivery.problem()
              + "), automatic refund requested");
    }
  }

  /** Gives what the payment bought, from {@code now} (the moment it is applied). */
  private Delivery deliver(PaymentBatch batch, Payment payment, Instant now) {
    return switch (payment.type()) {
      case POSTING_FEE -> listings.activate(batch, payment, now);
      case PROMOTION_FEATURED -> promotions.feature(batch, payment, now);
      case PROMOTION_BUMP -> promotions.bump(batch, payment, now);
    };
  }
}
