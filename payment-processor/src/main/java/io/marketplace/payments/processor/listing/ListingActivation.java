package io.marketplace.payments.processor.listing;

import io.marketplace.payments.common.events.PaymentEvent;
import io.marketplace.payments.common.events.PaymentEventType;
import io.marketplace.payments.processor.batch.PaymentBatch;
import io.marketplace.payments.processor.payment.Delivery;
import io.marketplace.payments.processor.payment.Payment;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;

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

  public ListingActivation(Duration listingTtl) {
    this.listingTtl = listingTtl;
  }

  public Delivery activate(PaymentBatch batch, Payment payment, Instant now) {
    return activate(batch, payment, now, null);
  }

  /**
   * Activates as {@link #activate(PaymentBatch, Payment, Instant)}; {@code withdrawnAt}, when not
   * null, is when an earlier activation by the same payment was taken back ({@code
   * listing.withdrawn}): this one is then announced as a fact of its own, after it.
   */
  public Delivery activate(PaymentBatch batch, Payment payment, Instant now, Instant withdrawnAt) {
    ListingRow listing = batch.listing(payment.listingId());
    Instant expiresAt = now.plus(listingTtl);
    if (listing == null || !listing.activate(payment.paymentIntentId(), now, expiresAt)) {
      return Delivery.impossible(ListingRow.describe(payment.listingId(), listing));
    }
    batch.publish(
        PaymentEvent.written(
            PaymentEventType.LISTING_ACTIVATED,
            payment.listingId()
                + ":"
                + payment.paymentIntentId()
                + (withdrawnAt == null ? "" : ":after-withdrawal:" + withdrawnAt),
            now,
            new Activated(
                listing.id(), listing.userId(), payment.paymentIntentId(), now, expiresAt)),
        listing.id().toString());
    return Delivery.done();
  }
}
