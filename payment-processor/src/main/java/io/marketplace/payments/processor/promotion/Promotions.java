package io.marketplace.payments.processor.promotion;

import io.marketplace.payments.common.events.PaymentEvent;
import io.marketplace.payments.common.events.PaymentEventType;
import io.marketplace.payments.common.promotion.FeaturedPromotions;
import io.marketplace.payments.common.promotion.PromotionExpired;
import io.marketplace.payments.processor.batch.PaymentBatch;
import io.marketplace.payments.processor.listing.ListingRow;
import io.marketplace.payments.processor.payment.Delivery;
import io.marketplace.payments.processor.payment.Payment;
import io.marketplace.payments.processor.payment.PaymentType;
import io.marketplace.payments.processor.refund.TechnicalFailures;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.Optional;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Paid promotions (SPEC §1), each a {@code listing_promotions} row announced as {@code
 * promotion.created}. Only an {@code active} listing not past its {@code expires_at} can be
 * promoted; one that is not any more when the payment arrives (rejected, expired, or past its time
 * but not yet marked by the daily expirer) makes the payment undeliverable.
 */
public final class Promotions {

  private static final Logger log = LoggerFactory.getLogger(Promotions.class);

  public static final Duration FEATURED_FOR = Duration.ofDays(7);

  /** {@code promotion.created}, keyed by listing id; one per PaymentIntent. */
  public record Created(
      UUID promotionId,
      UUID listingId,
      UUID userId,
      String type,
      String paymentIntentId,
      long amountCents,
      String currency,
      Instant startsAt,
      Instant expiresAt) {}

  /**
   * Features the listing for 7 days from {@code now}, or, while it is featured already, for 7 days
   * from the end of its last running featured promotion: a second purchase extends the first. The
   * batch holds the listing's row lock, so no other transaction reads the same end meanwhile.
   *
   * <p>A week that would not end by the listing's {@code expires_at} could not be shown for all of
   * it: the listing is expired for the rest, or for all of it when it is featured up to its own end
   * already. Such a payment is undeliverable like one for a dead listing, and refunded, rather than
   * sold as a week that runs on an expired listing. Checkout refuses such a week; one is paid only
   * when another week of the listing was paid for while this one was being bought.
   */
  public Delivery feature(PaymentBatch batch, Payment payment, Instant now) {
    ListingRow listing = batch.listing(payment.listingId());
    if (listing == null || !listing.isLiveAt(now)) {
      return Delivery.impossible(ListingRow.describe(payment.listingId(), listing, now));
    }
    Instant startsAt =
        batch.featuredUntil(listing.id()).filter(end -> end.isAfter(now)).orElse(now);
    Instant endsAt = startsAt.plus(FEATURED_FOR);
    if (listing.expiresAt() != null && endsAt.isAfter(listing.expiresAt())) {
      return Delivery.impossible(
          "listing "
              + listing.id()
              + " ends at "
              + listing.expiresAt()
              + ", before the end of its featured week from "
              + startsAt
              + " to "
              + endsAt);
    }
    create(batch, listing, payment, "featured", now, startsAt, endsAt);
    return Delivery.done();
  }

  /**
   * Bumps the listing at {@code now}, when the bump is applied: a {@code bump} row (no end) and
   * {@code last_bumped_at}. The owner paid to go to the top; a bump dated by its payment and
   * applied late (a backlog after an outage, a reconcile repair days later) would go below every
   * listing bumped meanwhile. A listing past its {@code expires_at} at {@code now} is not bumped.
   */
  public Delivery bump(PaymentBatch batch, Payment payment, Instant now) {
    ListingRow listing = batch.listing(payment.listingId());
    if (listing == null || !listing.isLiveAt(now)) {
      return Delivery.impossible(ListingRow.describe(payment.listingId(), listing, now));
    }
    listing.bump(now);
    create(batch, listing, payment, "bump", now, now, null);
    return Delivery.done();
  }

  private static void create(
      PaymentBatch batch,
      ListingRow listing,
      Payment payment,
      String type,
      Instant createdAt,
      Instant startsAt,
      Instant expiresAt) {
    if (batch.hasPromotion(payment.paymentIntentId())) {
      return; // this payment's promotion exists already
    }
    UUID promotionId = promotionId(payment.paymentIntentId());
    batch.addPromotion(
        new PromotionRow(
            promotionId,
            listing.id(),
            type,
            payment.paymentIntentId(),
            payment.amountCents(),
            startsAt,
            expiresAt));
    batch.publish(
        PaymentEvent.written(
            PaymentEventType.PROMOTION_CREATED,
            payment.paymentIntentId(),
            createdAt,
            new Created(
                promotionId,
                listing.id(),
                listing.userId(),
                type,
                payment.paymentIntentId(),
                payment.amountCents(),
                payment.currency(),
                startsAt,
                expiresAt)),
        listing.id().toString());
  }

  /**
   * The listing's activation is being taken back ({@code listing.withdrawn}, published before
   * this): its featured weeks still to run end now ({@link
   * FeaturedPromotions#endForWithdrawnListing}), each announced as {@code promotion.expired} under
   * the id any end of it gets, and the payment of each is refunded as a technical failure, as of
   * when it was paid: the week was bought while the listing was live only by an activation that
   * should not have been, and in the other order (the posting fee's money recorded gone first) the
   * listing never went live and no week could be bought. A bump that went out stays. The batch
   * holds the listing's lock.
   */
  public void endForWithdrawnListing(PaymentBatch batch, ListingRow listing, Instant now) {
    for (FeaturedPromotions.WithdrawnWeek week :
        FeaturedPromotions.endForWithdrawnListing(batch.handle(), listing.id(), now)) {
      PromotionExpired promotion = week.promotion();
      batch.publish(
          PaymentEvent.written(
              PaymentEventType.PROMOTION_EXPIRED,
              promotion.promotionId().toString(),
              promotion.expiredAt(),
              promotion),
          listing.id().toString());
      Optional<PaidWeek> paid =
          Optional.ofNullable(week.paidBy())
              .flatMap(
                  pi ->
                      batch
                          .handle()
                          .createQuery(PAID_WEEK)
                          .bind("pi", pi)
                          .map(
                              (rs, ctx) ->
                                  new PaidWeek(
                                      new Payment(
                                          pi,
                                          rs.getObject("listing_id", UUID.class),
                                          rs.getObject("user_id", UUID.class),
                                          PaymentType.fromWire(rs.getString("payment_type")),
                                          rs.getLong("amount_cents"),
                                          rs.getString("currency")),
                                      rs.getObject("succeeded_at", OffsetDateTime.class)
                                          .toInstant()))
                          .findFirst());
      if (paid.isEmpty()) {
        // every week is paid by a succeeded payment (V41: promotions_paid): ending it without its
        // refund would lose the money, so the command fails, is retried, and is dead-lettered
        throw new IllegalStateException(
            "featured week "
                + promotion.promotionId()
                + " of listing "
                + listing.id()
                + " has no succeeded payment to refund (paid by "
                + week.paidBy()
                + ")");
      }
      String problem =
          "listing "
              + listing.id()
              + " taken back to pending_payment: its activation came after its posting fee's"
              + " money went back";
      TechnicalFailures.requestRefund(batch, paid.get().payment(), problem, paid.get().paidAt());
      log.warn(
          "featured week {} of listing {} ended with its activation; payment {} sent for refund",
          promotion.promotionId(),
          listing.id(),
          paid.get().payment().paymentIntentId());
    }
  }

  /** A succeeded payment by PaymentIntent, and when Stripe took its money. */
  static final String PAID_WEEK =
      """
      SELECT listing_id, user_id, payment_type, amount_cents, currency, succeeded_at
      FROM payments WHERE stripe_payment_intent_id = :pi AND status = 'succeeded'
      """;

  private record PaidWeek(Payment payment, Instant paidAt) {}

  /** One promotion per PaymentIntent, so its id is derived from it: stable under re-processing. */
  static UUID promotionId(String paymentIntentId) {
    return UUID.nameUUIDFromBytes(
        ("listing_promotions/" + paymentIntentId).getBytes(StandardCharsets.UTF_8));
  }
}
