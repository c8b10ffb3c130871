package io.marketplace.payments.expirer.listing;

import io.marketplace.payments.common.events.PaymentEvent;
import io.marketplace.payments.common.events.PaymentEventType;
import io.marketplace.payments.common.outbox.Outbox;
import io.marketplace.payments.common.stripe.PaymentIntentsToCancel;
import io.marketplace.payments.expirer.pass.Expiry;
import io.marketplace.payments.expirer.pass.OutboxSeqs;
import io.marketplace.payments.expirer.pass.Times;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.jdbi.v3.core.Handle;

/**
 * Moves active listings whose {@code expires_at} has come ({@code expires_at <= now}) to {@code
 * expired}, records their PaymentIntents that could still be paid (promotions checked out, unpaid
 * or declined) for the refund worker to cancel at Stripe ({@link PaymentIntentsToCancel}), and
 * appends {@code listing.expired} keyed by listing id. The event id derives from the listing id and
 * the {@code expires_at} that ended it: a re-run announces the same expiry under the same id, and
 * should a listing ever be given a new lifetime, its next expiry is a new fact.
 */
public final class ListingExpiry implements Expiry {

  /**
   * The oldest due active listings, locked, skipping those another transaction holds (a payment
   * worker or a moderator changing the listing); the outer {@code status = 'active'} is re-checked
   * against the row as locked. Walks the partial index {@code listings_active_by_expiry}.
   */
  static final String EXPIRE_BATCH =
      """
      WITH due AS MATERIALIZED (
        SELECT id FROM marketplace_listings
        WHERE status = 'active' AND expires_at <= :now
        ORDER BY expires_at
        LIMIT :limit
        FOR UPDATE SKIP LOCKED
      )
      UPDATE marketplace_listings l
      SET status = 'expired', updated_at = now()
      FROM due
      WHERE l.id = due.id AND l.status = 'active'
      RETURNING l.id, l.user_id, l.expires_at
      """;

  /** What {@link #EXPIRE_BATCH} would take, held rows included, on the same partial index. */
  static final String STILL_DUE =
      """
      SELECT count(*) FROM marketplace_listings WHERE status = 'active' AND expires_at <= :now
      """;

  @Override
  public String name() {
    return LISTINGS;
  }

  @Override
  public long stillDue(Handle handle, Instant now) {
    return handle.createQuery(STILL_DUE).bind("now", Times.bindable(now)).mapTo(Long.class).one();
  }

  @Override
  public Batch expireBatch(Handle tx, Instant now, int limit) {
    List<ListingExpired> ended =
        tx.createQuery(EXPIRE_BATCH)
            .bind("now", Times.bindable(now))
            .bind("limit", limit)
            .map(
                (rs, ctx) ->
                    new ListingExpired(
                        rs.getObject("id", UUID.class),
                        rs.getObject("user_id", UUID.class),
                        Times.read(rs, "expires_at"),
                        now))
            .list();
    if (ended.isEmpty()) {
      return Batch.EMPTY;
    }
    // a promotion checked out and not paid can no longer be bought: the refund worker cancels it
    PaymentIntentsToCancel.ofClosedListings(
        tx,
        ended.stream().map(ListingExpired::listingId).toList(),
        PaymentIntentsToCancel.Reason.LISTING_EXPIRED,
        now);
    List<UUID> eventIds = new ArrayList<>(ended.size());
    for (ListingExpired listing : ended) {
      PaymentEvent event = event(listing);
      Outbox.append(tx, event, listing.listingId().toString());
      eventIds.add(event.id());
    }
    return new Batch(ended.size(), OutboxSeqs.of(tx, eventIds));
  }

  static PaymentEvent event(ListingExpired listing) {
    return PaymentEvent.of(
        PaymentEventType.LISTING_EXPIRED,
        listing.listingId() + ":" + listing.expiresAt(),
        listing.expiredAt(),
        listing);
  }
}
