package io.marketplace.payments.checkout.refund;

import io.javalin.http.Context;
import io.marketplace.payments.checkout.auth.Caller;
import io.marketplace.payments.checkout.http.PathIds;
import io.marketplace.payments.checkout.http.Reply;
import io.marketplace.payments.checkout.http.RequestBody;
import io.marketplace.payments.checkout.idempotency.Idempotency;
import io.marketplace.payments.checkout.listing.Listing;
import io.marketplace.payments.checkout.listing.Listings;
import io.marketplace.payments.common.http.ProblemException;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.refund.RefundDao;
import io.marketplace.payments.common.refund.RefundEvents;
import io.marketplace.payments.common.refund.RefundRecord;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;

/**
 * {@code POST /api/marketplace/listings/{id}/refund-request {"reason","paymentIntentId"?}}: the
 * owner asks for money back. A user request is always reviewed (SPEC §1): the record is born {@code
 * pending}, {@code refund.requested} is announced, and a super_admin approves or rejects it.
 *
 * <p>Without {@code paymentIntentId} it is the listing's posting fee, in full, and only while no
 * refund of it is under way or done. With it, it is that payment of the listing (a posting fee, a
 * featured promotion or a bump): 404 when the listing has no such payment, 409 when it has not
 * succeeded or nothing is left of it to refund; the request is for what is left ({@link
 * RefundDao#claimedCents}, under the payment's row lock, as an admin's refund takes it).
 *
 * <p>With an {@code Idempotency-Key} the record's id is derived from the caller, the key, the
 * listing and the body ({@link #refundId}), so that a request run again under its key (its first
 * run recorded the refund and then failed, or died, before its answer was stored) answers with the
 * refund the first run recorded instead of a 409 saying a refund is already under way.
 */
public final class RefundRequestController {

  static final int MAX_REASON = 1000;
  static final int MAX_PAYMENT_INTENT_ID = 255;

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
    Optional<String> paymentIntentId = body.optionalText("paymentIntentId", MAX_PAYMENT_INTENT_ID);
    body.validate();
    String idempotencyKey = ctx.header(Idempotency.HEADER);
    RefundRecord refund =
        jdbi.inTransaction(
            tx -> {
              Instant now = clock.instant();
              Listing listing = Listings.lockOwned(tx, caller, listingId, now);
              RefundRequestDao dao = tx.attach(RefundRequestDao.class);
              RefundDao refunds = tx.attach(RefundDao.class);
              UUID id = UUID.randomUUID();
              if (idempotencyKey != null) {
                id =
                    Idempotency.recordId(
                        generation ->
                            refundId(
                                caller.userId(),
                                idempotencyKey,
                                listingId,
                                paymentIntentId.orElse(null),
                                reason,
                                generation),
                        candidate -> refunds.find(candidate).map(RefundRecord::createdAt),
                        now);
                Optional<RefundRecord> earlier = refunds.find(id);
                if (earlier.isPresent()) {
                  return earlier.get(); // an earlier run of this request recorded it
                }
              }
              Claim claim =
                  paymentIntentId.isPresent()
                      ? namedPayment(tx, listingId, paymentIntentId.get())
                      : postingFee(dao, listingId);
              dao.insertUserRequest(
                  id,
                  listing.userId(),
                  listingId,
                  claim.paymentIntentId(),
                  claim.amountCents(),
                  reason,
                  now);
              RefundRecord created = refunds.find(id).orElseThrow();
              RefundEvents.append(tx, created, RefundEvents.requested(created, now));
              return created;
            });
    return Reply.of(202, RefundView.of(refund));
  }

  /**
   * The id of the refund requested by {@code userId} under {@code idempotencyKey} for this listing
   * with this body, in the key's {@code generation} ({@link Idempotency#recordId}): the same for
   * every run of the request, another for another user, key, listing, body or reuse of the key
   * after 24 h.
   */
  static UUID refundId(
      UUID userId,
      String idempotencyKey,
      UUID listingId,
      String paymentIntentId,
      String reason,
      int generation) {
    String name =
        "refund-request/"
            + Json.write(
                Arrays.asList(
                    userId, idempotencyKey, listingId, paymentIntentId, reason, generation));
    return UUID.nameUUIDFromBytes(name.getBytes(StandardCharsets.UTF_8));
  }

  /** What a request asks back: of which payment, how much. */
  private record Claim(String paymentIntentId, long amountCents) {}

  /** The listing's posting fee, in full, when no refund of it is under way or done. */
  private static Claim postingFee(RefundRequestDao dao, UUID listingId) {
    RefundRequestDao.PaidFee paid =
        dao.succeededPostingFee(listingId)
            .orElseThrow(
                () ->
                    ProblemException.conflict(
                        "nothing was paid for this listing, so there is nothing to refund"));
    // held like every path that reserves part of a payment, so an admin's refund of it waits
    dao.lockPayment(paid.stripePaymentIntentId());
    List<RefundRecord> live = dao.liveRefundsOf(paid.stripePaymentIntentId());
    if (!live.isEmpty()) {
      throw ProblemException.conflict(
          "a refund of this payment is already " + live.getFirst().status().wire());
    }
    return new Claim(paid.stripePaymentIntentId(), paid.amountCents());
  }

  /** The listing's payment the owner named, for what is left of it. */
  private static Claim namedPayment(Handle tx, UUID listingId, String paymentIntentId) {
    RefundRequestDao.Payment payment =
        tx.attach(RefundRequestDao.class)
            .lockPayment(paymentIntentId)
            .filter(p -> p.listingId().equals(listingId))
            .orElseThrow(
                () ->
                    ProblemException.notFound(
                        "this listing has no payment " + abbreviate(paymentIntentId)));
    if (!payment.succeeded()) {
      throw ProblemException.conflict(
          "the payment is " + payment.status() + "; only a succeeded payment is refunded");
    }
    long left =
        payment.amountCents()
            - tx.attach(RefundDao.class).claimedCents(payment.stripePaymentIntentId());
    if (left <= 0) {
      throw ProblemException.conflict(
          "nothing is left to refund of this payment: it is refunded, or refunds of all of it are"
              + " under way or awaiting review");
    }
    return new Claim(payment.stripePaymentIntentId(), left);
  }

  private static String abbreviate(String text) {
    return text.length() <= 40 ? text : text.substring(0, 40) + "…";
  }
}
