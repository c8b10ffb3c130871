package io.marketplace.payments.checkout.admin;

import io.javalin.http.Context;
import io.marketplace.payments.checkout.auth.Caller;
import io.marketplace.payments.checkout.checkout.PaymentIntents;
import io.marketplace.payments.checkout.http.PathIds;
import io.marketplace.payments.checkout.http.Reply;
import io.marketplace.payments.checkout.http.RequestBody;
import io.marketplace.payments.checkout.idempotency.RequestKey;
import io.marketplace.payments.checkout.listing.Listing;
import io.marketplace.payments.checkout.listing.ListingDao;
import io.marketplace.payments.checkout.listing.ListingStatus;
import io.marketplace.payments.checkout.listing.Listings;
import io.marketplace.payments.common.events.ModerationDecision;
import io.marketplace.payments.common.events.PaymentEvent;
import io.marketplace.payments.common.events.PaymentEventType;
import io.marketplace.payments.common.http.ProblemException;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.outbox.Destination;
import io.marketplace.payments.common.outbox.Outbox;
import io.marketplace.payments.common.promotion.FeaturedPromotions;
import io.marketplace.payments.common.stripe.PaymentIntentsToCancel;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code POST /admin/api/marketplace/listings/{id}/reject {"reason"}}: moderation rejects a
 * listing. In one transaction the listing becomes {@code rejected}, {@code listing.rejected} is
 * announced, its featured weeks still to run end, each announced as {@code promotion.expired}
 * ({@link FeaturedPromotions#endForRejectedListing}), and a {@link ModerationDecision} goes to
 * {@code marketplace.moderation.v1}, where the refund worker applies the refund rule to every
 * payment of the listing (SPEC §1). The listing's purchases not paid yet (its posting fee, or
 * promotions of an active listing; not one paid or processing) have their PaymentIntents canceled
 * at Stripe after the commit, so its owner cannot pay for them; a PaymentIntent a checkout is
 * creating meanwhile is canceled by that checkout, which finds the listing rejected ({@code
 * Purchases}). A cancel that fails is logged and leaves the rejection as it is (a payment that
 * succeeds anyway is refunded as a dead listing's).
 *
 * <p>An admin's own listing is rejected by another admin only (403, four eyes): the rejection
 * refunds its payments, at once within 24 h of each. Whether it refunds anything is not known when
 * the admin asks (a PaymentIntent that could not be canceled may still succeed, and is refunded as
 * a dead listing's), so the refusal does not depend on it.
 *
 * <p>Under an {@code Idempotency-Key} the listing keeps the request's {@link RequestKey}: a rerun
 * of the same request whose answer was lost after the rejection committed finds it, announces
 * nothing again, makes the cancels the first run may not have lived to make, and answers with the
 * rejected listing as the first run did, not 409 "already rejected".
 */
public final class ModerationController {

  private static final Logger log = LoggerFactory.getLogger(ModerationController.class);
  static final int MAX_REASON = 1000;

  /** The data of {@code listing.rejected}; the refund worker announces the same shape. */
  /** The data of {@code listing.rejected}; {@code rejectedBy} the super_admin who rejected it. */
  public record ListingRejected(
      UUID listingId, UUID userId, String reason, Instant rejectedAt, UUID rejectedBy) {}

  private final Jdbi jdbi;
  private final Clock clock;
  private final PaymentIntents paymentIntents;

  public ModerationController(Jdbi jdbi, Clock clock, PaymentIntents paymentIntents) {
    this.jdbi = jdbi;
    this.clock = clock;
    this.paymentIntents = paymentIntents;
  }

  private record Rejection(Listing listing, List<String> openPaymentIntents) {}

  public Reply reject(Context ctx, Caller caller) {
    UUID id = PathIds.uuid(ctx, "id", "listing");
    RequestBody body = RequestBody.of(ctx);
    String reason = body.requiredText("reason", MAX_REASON);
    body.validate();
    Optional<String> requestKey = RequestKey.of(ctx, caller.userId());
    Rejection rejection =
        jdbi.inTransaction(
            tx -> {
              Instant now = clock.instant();
              ListingDao listings = tx.attach(ListingDao.class);
              Listing listing = listings.lock(id, now).orElseThrow(() -> Listings.notFound(id));
              // the rejection refunds the listing's payments, the admin's own
              caller.refuseOwn(
                  listing.userId(),
                  "reject their own listing, whose payments the rejection refunds");
              if (requestKey.isPresent()
                  && listings.rejectedUnder(id, requestKey.get(), RequestKey.bindsSince(now))) {
                // this request rejected it, and announced it, already
                return new Rejection(
                    listing, PaymentIntentsToCancel.ofRejectedListing(tx, id, now));
              }
              // an active listing past its end is expired, as the listing JSON says, whether or
              // not the expirer's daily pass has marked it yet: rejecting it would refund what it
              // ran its time with, which a rejection after that pass does not
              ListingStatus status =
                  listing.listingStatus() == ListingStatus.ACTIVE && !listing.isLive(now)
                      ? ListingStatus.EXPIRED
                      : listing.listingStatus();
              if (status == ListingStatus.REJECTED || status == ListingStatus.EXPIRED) {
                throw ProblemException.conflict(
                    "the listing is already " + status.wire() + "; there is nothing to reject");
              }
              // recorded with the rejection: what is not canceled below, the refund worker cancels
              List<String> open = PaymentIntentsToCancel.ofRejectedListing(tx, id, now);
              listings.reject(id, reason, caller.userId(), requestKey.orElse(null), now);
              String key = id.toString();
              // factKey = listing id: the refund worker announces the same fact under the same id
              Outbox.append(
                  tx,
                  PaymentEvent.of(
                      PaymentEventType.LISTING_REJECTED,
                      key,
                      now,
                      new ListingRejected(id, listing.userId(), reason, now, caller.userId())),
                  key);
              // its featured weeks end with it, each announced as promotion.expired
              FeaturedPromotions.endForRejectedListing(tx, id, now);
              Outbox.append(
                  tx,
                  Destination.MODERATION,
                  decisionId(id),
                  key,
                  ModerationDecision.REJECTED,
                  Json.write(new ModerationDecision(id, ModerationDecision.REJECTED, reason, now)));
              return new Rejection(listings.find(id, now).orElseThrow(), open);
            });
    log.info("listing {} rejected by moderation ({})", id, caller.userId());
    for (String paymentIntentId : rejection.openPaymentIntents()) {
      if (paymentIntents.cancel(paymentIntentId)) {
        log.info("PaymentIntent {} of rejected listing {} canceled", paymentIntentId, id);
        try {
          jdbi.useHandle(h -> PaymentIntentsToCancel.done(h, paymentIntentId));
        } catch (RuntimeException e) {
          // its row stays: the refund worker asks again, and Stripe answers from this cancellation
          log.warn("PaymentIntent {} canceled, but its row to cancel stays", paymentIntentId, e);
        }
      } else {
        log.warn(
            "PaymentIntent {} of rejected listing {} not canceled now; the rejection stands, the"
                + " refund worker asks Stripe again, and a payment that succeeds meanwhile is"
                + " refunded",
            paymentIntentId,
            id);
      }
    }
    return Reply.ok(rejection.listing().view(clock.instant()));
  }

  /** One rejection per listing, so one stable message id per listing. */
  static UUID decisionId(UUID listingId) {
    return UUID.nameUUIDFromBytes(
        ("marketplace.moderation.v1/rejected/" + listingId).getBytes(StandardCharsets.UTF_8));
  }
}
