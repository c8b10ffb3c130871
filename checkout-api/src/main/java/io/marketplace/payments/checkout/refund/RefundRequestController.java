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
import io.marketplace.payments.common.refund.RefundReason;
import io.marketplace.payments.common.refund.RefundRecord;
import io.marketplace.payments.common.refund.RequestsOwedByAutomaticRefund;
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
 * <p>Without {@code paymentIntentId} it is the listing's posting fee; with it, that payment of the
 * listing (a posting fee, a featured promotion or a bump): 404 when the listing has no such
 * payment, 409 when it has not succeeded. Either way the request is for what is left of the
 * payment, 409 when nothing is ({@link #whatIsLeft}: {@link RefundDao#claimedCents}, under the
 * payment's row lock, as an admin's refund and the approval of the request count it), so that a
 * request is never taken that its approval would refuse, nor refused for a refund that gave nothing
 * back (a chargeback we won).
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
    Optional<String> paymentIntentId =
        body.optionalNonBlankText("paymentIntentId", MAX_PAYMENT_INTENT_ID);
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
                      : postingFee(tx, listingId);
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

  /**
   * The listing's posting fee, for what is left of it: the latest succeeded fee with something left
   * (a listing has one; a second paid one, refunded as undeliverable, leaves nothing).
   */
  private static Claim postingFee(Handle tx, UUID listingId) {
    RefundRequestDao dao = tx.attach(RefundRequestDao.class);
    List<String> fees = dao.succeededPostingFees(listingId);
    if (fees.isEmpty()) {
      throw ProblemException.conflict(
          "nothing was paid for this listing, so there is nothing to refund");
    }
    for (String paymentIntentId : fees) {
      // held like every path that reserves part of a payment, so an admin's refund of it waits
      Optional<RefundRequestDao.Payment> payment =
          dao.lockPayment(paymentIntentId).filter(RefundRequestDao.Payment::succeeded);
      if (payment.isPresent()) {
        long left = whatIsLeft(tx, payment.get());
        if (left > 0) {
          return new Claim(paymentIntentId, left);
        }
      }
    }
    throw nothingLeft(tx, fees.getFirst());
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
    long left = whatIsLeft(tx, payment);
    if (left <= 0) {
      throw nothingLeft(tx, payment.stripePaymentIntentId());
    }
    return new Claim(payment.stripePaymentIntentId(), left);
  }

  /**
   * What a request may still ask of a payment whose row the caller holds locked: the amount paid
   * minus {@link RefundDao#claimedCents} (refunds returned, on their way or awaiting review,
   * chargebacks not won, refunds made in Stripe's dashboard not recorded yet), the rule an admin's
   * refund and the approval of a request apply too.
   */
  private static long whatIsLeft(Handle tx, RefundRequestDao.Payment payment) {
    return payment.amountCents()
        - tx.attach(RefundDao.class).claimedCents(payment.stripePaymentIntentId());
  }

  /**
   * The 409 of a request for a payment with nothing left; when the payment's automatic refund (a
   * moderation rejection's, a technical failure's) gives it back, or owes it awaiting review, the
   * answer names it, in the words a request it closed gives ({@link
   * RequestsOwedByAutomaticRefund}).
   */
  private static ProblemException nothingLeft(Handle tx, String paymentIntentId) {
    Optional<RefundRequestDao.AutomaticRefund> automatic =
        tx.attach(RefundRequestDao.class).automaticRefund(paymentIntentId);
    if (automatic.isPresent()) {
      RefundRequestDao.AutomaticRefund refund = automatic.get();
      return ProblemException.conflict(
          "nothing is left to refund of this payment: "
              + RequestsOwedByAutomaticRefund.reason(
                  RefundReason.fromWire(refund.reason()), refund.id(), refund.automaticPart())
              + ", which is "
              + refund.status());
    }
    return ProblemException.conflict(
        "nothing is left to refund of this payment: it is refunded, or refunds of all of it are"
            + " under way or awaiting review");
  }

  private static String abbreviate(String text) {
    return text.length() <= 40 ? text : text.substring(0, 40) + "…";
  }
}
