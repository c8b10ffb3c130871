package io.marketplace.payments.processor.promotion;

import io.marketplace.payments.common.events.PaymentEvent;
import io.marketplace.payments.common.events.PaymentEventType;
import io.marketplace.payments.processor.listing.Listings;
import io.marketplace.payments.processor.payment.Delivery;
import io.marketplace.payments.processor.payment.Payment;
import io.marketplace.payments.processor.tx.PendingWrites;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.core.Handle;

/**
 * Paid promotions (SPEC §1), each a {@code listing_promotions} row announced as {@code
 * promotion.created}. Only an {@code active} listing can be promoted; one that is not any more when
 * the payment arrives makes the payment undeliverable.
 */
public final class Promotions {

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

  private record Window(Instant startsAt, Instant expiresAt) {}

  private final PendingWrites writes;

  public Promotions(PendingWrites writes) {
    this.writes = writes;
  }

  /**
   * Features the listing for 7 days from {@code now}, or, while it is featured already, for 7 days
   * from the end of its last running featured promotion: a second purchase extends the first. The
   * listing row is locked first, so two featured payments of one listing never read the same end.
   */
  public Delivery feature(Handle tx, Payment payment, Instant now) {
    Optional<UUID> owner =
        tx.createQuery(
                """
                SELECT user_id FROM marketplace_listings
                WHERE id = :id AND status = 'active' FOR UPDATE
                """)
            .bind("id", payment.listingId())
            .mapTo(UUID.class)
            .findOne();
    if (owner.isEmpty()) {
      return Delivery.impossible(Listings.describe(tx, payment.listingId()));
    }
    UUID promotionId = promotionId(payment.paymentIntentId());
    Optional<Window> window =
        tx.createQuery(
                """
                INSERT INTO listing_promotions
                    (id, listing_id, type, stripe_payment_intent_id, amount_cents, starts_at,
                     expires_at)
                SELECT :promotion, :listing, 'featured', :pi, :amount, running.starts_at,
                       running.starts_at + make_interval(secs => :seconds)
                FROM (SELECT GREATEST(CAST(:now AS timestamptz),
                                      COALESCE(max(expires_at), CAST(:now AS timestamptz)))
                             AS starts_at
                      FROM listing_promotions
                      WHERE listing_id = :listing AND type = 'featured' AND expired_at IS NULL
                     ) running
                ON CONFLICT (stripe_payment_intent_id) DO NOTHING
                RETURNING starts_at, expires_at
                """)
            .bind("promotion", promotionId)
            .bind("listing", payment.listingId())
            .bind("pi", payment.paymentIntentId())
            .bind("amount", payment.amountCents())
            .bind("seconds", (double) FEATURED_FOR.toSeconds())
            .bind("now", now)
            .map(
                (rs, ctx) ->
                    new Window(
                        rs.getObject("starts_at", java.time.OffsetDateTime.class).toInstant(),
                        rs.getObject("expires_at", java.time.OffsetDateTime.class).toInstant()))
            .findOne();
    window.ifPresent(
        w ->
            announce(
                tx, promotionId, payment, owner.get(), "featured", w.startsAt(), w.expiresAt()));
    return Delivery.done();
  }

  /**
   * Bumps the listing: a {@code bump} row (no end) and {@code last_bumped_at} set to when the
   * payment succeeded, never moved back by an older bump processed late.
   */
  public Delivery bump(Handle tx, Payment payment, Instant bumpedAt) {
    Optional<UUID> owner =
        tx.createQuery(
                """
                UPDATE marketplace_listings
                SET last_bumped_at = GREATEST(COALESCE(last_bumped_at, :at), :at),
                    updated_at = now()
                WHERE id = :id AND status = 'active'
                RETURNING user_id
                """)
            .bind("id", payment.listingId())
            .bind("at", bumpedAt)
            .mapTo(UUID.class)
            .findOne();
    if (owner.isEmpty()) {
      return Delivery.impossible(Listings.describe(tx, payment.listingId()));
    }
    UUID promotionId = promotionId(payment.paymentIntentId());
    int inserted =
        tx.createUpdate(
                """
                INSERT INTO listing_promotions
                    (id, listing_id, type, stripe_payment_intent_id, amount_cents, starts_at)
                VALUES (:promotion, :listing, 'bump', :pi, :amount, :at)
                ON CONFLICT (stripe_payment_intent_id) DO NOTHING
                """)
            .bind("promotion", promotionId)
            .bind("listing", payment.listingId())
            .bind("pi", payment.paymentIntentId())
            .bind("amount", payment.amountCents())
            .bind("at", bumpedAt)
            .execute();
    if (inserted == 1) {
      announce(tx, promotionId, payment, owner.get(), "bump", bumpedAt, null);
    }
    return Delivery.done();
  }

  private void announce(
      Handle tx,
      UUID promotionId,
      Payment payment,
      UUID userId,
      String type,
      Instant startsAt,
      Instant expiresAt) {
    var event =
        PaymentEvent.of(
            PaymentEventType.PROMOTION_CREATED,
            payment.paymentIntentId(),
            startsAt,
            new Created(
                promotionId,
                payment.listingId(),
                userId,
                type,
                payment.paymentIntentId(),
                payment.amountCents(),
                payment.currency(),
                startsAt,
                expiresAt));
    writes.append(tx, event, payment.listingId().toString());
  }

  /** One promotion per PaymentIntent, so its id is derived from it: stable under re-processing. */
  static UUID promotionId(String paymentIntentId) {
    return UUID.nameUUIDFromBytes(
        ("listing_promotions/" + paymentIntentId).getBytes(StandardCharsets.UTF_8));
  }
}
