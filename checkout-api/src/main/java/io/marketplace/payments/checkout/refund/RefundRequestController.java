package io.marketplace.payments.checkout.refund;

import io.javalin.http.Context;
import io.marketplace.payments.checkout.auth.Caller;
import io.marketplace.payments.checkout.http.PathIds;
import io.marketplace.payments.checkout.http.Reply;
import io.marketplace.payments.checkout.http.RequestBody;
import io.marketplace.payments.checkout.listing.Listing;
import io.marketplace.payments.checkout.listing.Listings;
import io.marketplace.payments.common.http.ProblemException;
import io.marketplace.payments.common.refund.RefundDao;
import io.marketplace.payments.common.refund.RefundEvents;
import io.marketplace.payments.common.refund.RefundRecord;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.jdbi.v3.core.Jdbi;

/**
 * {@code POST /api/marketplace/listings/{id}/refund-request {"reason"}}: the owner asks for the
 * posting fee back. A user request is always reviewed (SPEC §1): the record is born {@code
 * pending}, {@code refund.requested} is announced, and a super_admin approves or rejects it.
 */
public final class RefundRequestController {

  static final int MAX_REASON = 1000;

  private final Jdbi jdbi;
  private final Clock clock;

  public RefundRequestController(Jdbi jdbi, Clock clock) {
    this.jdbi = jdbi;
    this.clock = clock;
  }

  public Reply request(Context ctx, Caller caller) {
    UUID listingId = PathIds.uuid(ctx, "id", "listing");
    RequestBody body = RequestBody.of(ctx);
    String reason = body.requiredText("reason", MAX_REASON);
    body.validate();
    RefundRecord refund =
        jdbi.inTransaction(
            tx -> {
              Instant now = clock.instant();
              Listing listing = Listings.lockOwned(tx, caller, listingId, now);
              RefundRequestDao dao = tx.attach(RefundRequestDao.class);
              RefundRequestDao.PaidFee paid =
                  dao.succeededPostingFee(listingId)
                      .orElseThrow(
                          () ->
                              ProblemException.conflict(
                                  "nothing was paid for this listing, so there is nothing to"
                                      + " refund"));
              List<RefundRecord> live = dao.liveRefundsOf(paid.stripePaymentIntentId());
              if (!live.isEmpty()) {
                throw ProblemException.conflict(
                    "a refund of this payment is already " + live.getFirst().status().wire());
              }
              UUID id = UUID.randomUUID();
              dao.insertUserRequest(
                  id,
                  listing.userId(),
                  listingId,
                  paid.stripePaymentIntentId(),
                  paid.amountCents(),
                  reason,
                  now);
              RefundRecord created = tx.attach(RefundDao.class).find(id).orElseThrow();
              RefundEvents.append(tx, created, RefundEvents.requested(created, now));
              return created;
            });
    return Reply.of(202, RefundView.of(refund));
  }
}
