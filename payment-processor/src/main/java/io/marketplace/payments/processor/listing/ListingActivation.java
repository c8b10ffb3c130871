package io.marketplace.payments.processor.listing;

import io.marketplace.payments.common.events.PaymentEvent;
import io.marketplace.payments.common.events.PaymentEventType;
import io.marketplace.payments.processor.payment.Delivery;
import io.marketplace.payments.processor.payment.Payment;
import io.marketplace.payments.processor.tx.PendingWrites;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.core.Handle;

/**
 * A paid posting fee: the listing goes from {@code pending_payment} to {@code active} for the
 * listing lifetime (LISTING_TTL_DAYS), and {@code listing.activated} is announced. Only a listing
 * still waiting for payment is activated; any other (rejected, expired, deleted, or already
 * activated by another payment) makes the payment undeliverable.
 */
public final class ListingActivation {

  /** {@code listing.activated}, keyed by listing id; one per listing and activating payment. */
  public record Activated(
      UUID listingId,
      UUID userId,
      String paymentIntentId,
      Instant activatedAt,
      Instant expiresAt) {}

  private final Duration listingTtl;
  private final PendingWrites writes;

  public ListingActivation(Duration listingTtl, PendingWrites writes) {
    this.listingTtl = listingTtl;
    this.writes = writes;
  }

  public Delivery activate(Handle tx, Payment payment, Instant now) {
    Instant expiresAt = now.plus(listingTtl);
    Optional<UUID> owner =
        tx.createQuery(
                """
                UPDATE marketplace_listings
                SET status = 'active', activated_at = :now, expires_at = :expires,
                    payment_intent_id = :pi, updated_at = now()
                WHERE id = :id AND status = 'pending_payment'
                RETURNING user_id
                """)
            .bind("id", payment.listingId())
            .bind("now", now)
            .bind("expires", expiresAt)
            .bind("pi", payment.paymentIntentId())
            .mapTo(UUID.class)
            .findOne();
    if (owner.isEmpty()) {
      return Delivery.impossible(Listings.describe(tx, payment.listingId()));
    }
    var event =
        PaymentEvent.of(
            PaymentEventType.LISTING_ACTIVATED,
            payment.listingId() + ":" + payment.paymentIntentId(),
            now,
            new Activated(
                payment.listingId(), owner.get(), payment.paymentIntentId(), now, expiresAt));
    writes.append(tx, event, payment.listingId().toString());
    return Delivery.done();
  }
}
