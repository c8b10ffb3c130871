package io.marketplace.payments.checkout.admin;

import io.javalin.http.Context;
import io.marketplace.payments.checkout.auth.Caller;
import io.marketplace.payments.checkout.http.Reply;
import io.marketplace.payments.checkout.http.RequestBody;
import io.marketplace.payments.checkout.idempotency.Idempotency;
import io.marketplace.payments.checkout.refund.RefundRequestDao;
import io.marketplace.payments.checkout.refund.RefundView;
import io.marketplace.payments.common.http.ProblemException;
import io.marketplace.payments.common.refund.RefundDao;
import io.marketplace.payments.common.refund.RefundEvents;
import io.marketplace.payments.common.refund.RefundExecutor;
import io.marketplace.payments.common.refund.RefundOutcome;
import io.marketplace.payments.common.refund.RefundRecord;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code POST /admin/api/marketplace/payments/{paymentIntentId}/refunds {"amountCents","reason"}}:
 * a super_admin refunds any succeeded payment (posting fee, featured, bump) for a chosen amount, up
 * to what is left of it ({@link RefundDao#claimedCents}). An optional {@code "currency"} must be
 * {@code usd}: another one is a 400, not that many US cents refunded.
 *
 * <p>The refund is decided in one transaction that locks the payment's row, checks what is left and
 * records the refund {@code approved} ({@code reason=user_request}, the admin's text in {@code
 * note}, the admin in {@code created_by}); of two concurrent refunds that together exceed the
 * payment, the second finds the first's amount taken and gets 409. Then, outside any transaction,
 * the {@link RefundExecutor} asks Stripe under the idempotency key derived from the record's id,
 * marks it {@code processed} and announces {@code refund.processed}. If Stripe does not answer, the
 * record stays {@code approved} with {@code lastError} and the refund worker's janitor retries it;
 * a client's retry with the same {@code Idempotency-Key} gets the first answer, never a second
 * refund (see {@link #recordId}). An admin's own payment is refunded by another admin only (403).
 * Without a key (SPEC §3 makes it optional), the same refund asked again by the same admin within
 * {@link #KEYLESS_REPEAT_WINDOW} is answered with the first one: this is the one route that moves
 * an amount of the caller's choosing, and a double click must not give the money back twice. A
 * second, equal refund on purpose takes a key of its own.
 */
public final class AdminPaymentRefundController {

  private static final Logger log = LoggerFactory.getLogger(AdminPaymentRefundController.class);
  static final int MAX_REASON = 1000;
  static final int MAX_PAYMENT_INTENT_ID = 255;

  /**
   * Without an Idempotency-Key, the same refund (admin, payment, amount, reason) asked again within
   * this long is the first one asked again: a double click, a client's retry after a lost answer.
   */
  static final Duration KEYLESS_REPEAT_WINDOW = Duration.ofMinutes(2);

  private final Jdbi jdbi;
  private final RefundExecutor executor;
  private final Clock clock;

  public AdminPaymentRefundController(Jdbi jdbi, RefundExecutor executor, Clock clock) {
    this.jdbi = jdbi;
    this.executor = executor;
    this.clock = clock;
  }

  public Reply refund(Context ctx, Caller caller) {
    String paymentIntentId = ctx.pathParam("paymentIntentId");
    RequestBody body = RequestBody.of(ctx);
    long amountCents = body.requiredPositiveWholeNumber("amountCents", Integer.MAX_VALUE);
    String reason = body.requiredText("reason", MAX_REASON);
    // optional, as amountCents is US cents; but an amount meant in another currency is refused,
    // not refunded as that many US cents
    body.optionalText("currency", MAX_REASON)
        .filter(currency -> !currency.equalsIgnoreCase(RefundEvents.CURRENCY))
        .ifPresent(
            currency ->
                body.reject(
                    "currency",
                    "must be "
                        + RefundEvents.CURRENCY
                        + " (amountCents is in US cents) or left out"));
    body.validate();
    if (paymentIntentId.length() > MAX_PAYMENT_INTENT_ID) {
      throw unknown(paymentIntentId.substring(0, 40) + "…");
    }
    String idempotencyKey = ctx.header(Idempotency.HEADER);
    UUID id =
        jdbi.inTransaction(
            tx -> {
              RefundRequestDao dao = tx.attach(RefundRequestDao.class);
              RefundRequestDao.Payment payment =
                  dao.lockPayment(paymentIntentId).orElseThrow(() -> unknown(paymentIntentId));
              caller.refuseOwn(payment.userId(), "refund their own payment");
              Instant now = clock.instant();
              if (idempotencyKey == null) {
                // a double click, or a client's quick retry: the same refund once
                Optional<UUID> same =
                    dao.sameAdminRefundSince(
                        paymentIntentId,
                        caller.userId(),
                        amountCents,
                        reason,
                        now.minus(KEYLESS_REPEAT_WINDOW));
                if (same.isPresent()) {
                  log.info(
                      "refund of {} cents of {} by {} asked again without a key within {}:"
                          + " answered with refund {}",
                      amountCents,
                      paymentIntentId,
                      caller.userId(),
                      KEYLESS_REPEAT_WINDOW,
                      same.get());
                  return same.get();
                }
                return record(tx, UUID.randomUUID(), payment, amountCents, reason, caller, now);
              }
              RefundDao refunds = tx.attach(RefundDao.class);
              UUID keyed =
                  Idempotency.recordId(
                      generation -> recordId(caller.userId(), idempotencyKey, generation),
                      candidate -> refunds.find(candidate).map(RefundRecord::createdAt),
                      now);
              Optional<RefundRecord> earlier = refunds.find(keyed);
              if (earlier.isPresent()) {
                requireSameRefund(earlier.get(), paymentIntentId, amountCents);
                // a retry of a request that recorded it and then failed: finish that one
                return keyed;
              }
              return record(tx, keyed, payment, amountCents, reason, caller, now);
            });
    log.info(
        "refund {} of {} cents of {} made by admin {}; asking Stripe to refund it",
        id,
        amountCents,
        paymentIntentId,
        caller.userId());
    RefundOutcome outcome = executor.execute(id);
    return Reply.of(201, RefundView.of(outcome.refund()));
  }

  /** Records the refund after checking what is left of the payment; returns its id. */
  private static UUID record(
      Handle tx,
      UUID id,
      RefundRequestDao.Payment payment,
      long amountCents,
      String reason,
      Caller caller,
      Instant now) {
    if (!payment.succeeded()) {
      throw ProblemException.conflict(
          "the payment is " + payment.status() + "; only a succeeded payment is refunded");
    }
    long left =
        Math.max(
            0,
            payment.amountCents()
                - tx.attach(RefundDao.class).claimedCents(payment.stripePaymentIntentId()));
    if (amountCents > left) {
      throw ProblemException.conflict(
          amountCents
              + " cents is more than is left to refund of this payment: "
              + left
              + " of "
              + payment.amountCents()
              + " (refunds recorded, approved, pending review, failed and not closed, or"
              + " closed as refunded elsewhere count as taken)");
    }
    tx.attach(RefundRequestDao.class)
        .insertAdminRefund(
            id,
            payment.userId(),
            payment.listingId(),
            payment.stripePaymentIntentId(),
            amountCents,
            reason,
            caller.userId(),
            now);
    return id;
  }

  /**
   * The record id of the admin's request under an {@code Idempotency-Key}, in its {@code
   * generation} (0 for the key's first request, 1 for its reuse after 24 h, ...). The answer to a
   * key is replayed for 24 h, but a request that recorded the refund and then failed (a 5xx
   * releases the key) is retried under the same key, and must reach the same record, hence the same
   * Stripe idempotency key {@code refund-<id>}, rather than refund a second time.
   */
  static UUID recordId(UUID adminId, String idempotencyKey, int generation) {
    String name = "admin-refund/" + adminId + "/" + idempotencyKey;
    return UUID.nameUUIDFromBytes(
        (generation == 0 ? name : name + "/" + generation).getBytes(StandardCharsets.UTF_8));
  }

  private static void requireSameRefund(
      RefundRecord earlier, String paymentIntentId, long amountCents) {
    if (!earlier.paymentIntentId().equals(paymentIntentId)
        || earlier.amountCents() != amountCents) {
      throw ProblemException.unprocessable(
          "this Idempotency-Key was used for another refund (refund "
              + earlier.id()
              + " of "
              + earlier.amountCents()
              + " cents of "
              + earlier.paymentIntentId()
              + ")");
    }
  }

  private static ProblemException unknown(String paymentIntentId) {
    return ProblemException.notFound("no payment " + paymentIntentId);
  }
}
