package io.marketplace.payments.checkout.admin;

import io.javalin.http.Context;
import io.marketplace.payments.checkout.auth.Caller;
import io.marketplace.payments.checkout.http.PathIds;
import io.marketplace.payments.checkout.http.Reply;
import io.marketplace.payments.checkout.http.RequestBody;
import io.marketplace.payments.checkout.idempotency.RequestKey;
import io.marketplace.payments.checkout.refund.RefundRequestDao;
import io.marketplace.payments.checkout.refund.RefundView;
import io.marketplace.payments.common.http.ProblemException;
import io.marketplace.payments.common.promotion.FeaturedPromotions;
import io.marketplace.payments.common.refund.RefundDao;
import io.marketplace.payments.common.refund.RefundEvents;
import io.marketplace.payments.common.refund.RefundExecutor;
import io.marketplace.payments.common.refund.RefundOutcome;
import io.marketplace.payments.common.refund.RefundReason;
import io.marketplace.payments.common.refund.RefundRecord;
import io.marketplace.payments.common.refund.RefundStatus;
import io.marketplace.payments.common.refund.RequestsOwedByAutomaticRefund;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The super_admin's refund review (SPEC §1): the queue, approve ({@code pending → approved}, then
 * Stripe refunds it and it becomes {@code processed}) and reject ({@code pending → rejected}); and
 * for a refund that {@code failed} at Stripe, retry ({@code failed → approved}, under a new Stripe
 * idempotency key, then {@code processed}) or close (it stays {@code failed}, no longer awaiting
 * anyone). Each of these decisions is kept in {@code refund_decisions} with the admin who took it,
 * in the transaction that takes it.
 *
 * <p>Under an {@code Idempotency-Key} the decision also keeps the request's {@link RequestKey}: a
 * rerun of the same decision (approve, reject, retry or close) whose answer was lost after the
 * decision committed finds it, takes no second decision, and answers with the refund as the first
 * run did (an approval or a retry once Stripe is done with it) rather than 409 "the refund is
 * processed" or "closed".
 */
public final class AdminRefundController {

  private static final Logger log = LoggerFactory.getLogger(AdminRefundController.class);
  static final int DEFAULT_LIMIT = 100;
  static final int MAX_LIMIT = 500;
  static final int MAX_REASON = 1000;
  static final Set<String> CLOSE_OUTCOMES = Set.of("refunded_elsewhere", "not_owed");

  private final Jdbi jdbi;
  private final RefundExecutor executor;
  private final Clock clock;

  public AdminRefundController(Jdbi jdbi, RefundExecutor executor, Clock clock) {
    this.jdbi = jdbi;
    this.executor = executor;
    this.clock = clock;
  }

  /**
   * {@code GET /admin/api/marketplace/refunds?status=&limit=&cursor=}: oldest first, a page of at
   * most {@code limit} records, of every status when {@code status} is absent or empty. When more
   * follow, a {@code Link: <...>; rel="next"} header gives the next page's address, with an opaque
   * {@code cursor} (the position after the last record shown, so records added or changed meanwhile
   * are neither skipped nor shown twice by order).
   */
  public Reply list(Context ctx, Caller caller) {
    // empty (an "all" filter of an admin screen) is no filter, as absent is
    String status =
        Optional.ofNullable(ctx.queryParam("status")).filter(s -> !s.isEmpty()).orElse(null);
    if (status != null
        && Arrays.stream(RefundStatus.values()).noneMatch(s -> s.wire().equals(status))) {
      throw ProblemException.invalidFields(
          Map.of("status", "must be one of pending, approved, rejected, processed, failed"));
    }
    int limit = limit(ctx.queryParam("limit"));
    Optional<Cursor> after = Optional.ofNullable(ctx.queryParam("cursor")).map(Cursor::parse);
    List<RefundRecord> page =
        jdbi.withHandle(
            h ->
                h.attach(RefundRequestDao.class)
                    .list(
                        status,
                        after.map(Cursor::createdAt).orElse(null),
                        after.map(Cursor::id).orElse(null),
                        limit + 1));
    if (page.size() > limit) {
      page = page.subList(0, limit);
      RefundRecord last = page.getLast();
      String next =
          ctx.path()
              + "?"
              + (status == null ? "" : "status=" + status + "&")
              + "limit="
              + limit
              + "&cursor="
              + new Cursor(last.createdAt(), last.id()).encode();
      ctx.header("Link", "<" + next + ">; rel=\"next\"");
    }
    return Reply.ok(page.stream().map(RefundView::of).toList());
  }

  /** A position in the queue: after the record created at {@code createdAt} with {@code id}. */
  record Cursor(Instant createdAt, UUID id) {

    String encode() {
      return Base64.getUrlEncoder()
          .withoutPadding()
          .encodeToString((createdAt + "|" + id).getBytes(StandardCharsets.UTF_8));
    }

    /**
     * The earliest and latest times a cursor may hold: those of a record's {@code created_at}.
     * Outside them a time is no record's, and PostgreSQL (or the JDBC binding before it) refuses
     * it: a 500 for a cursor made up by hand.
     */
    private static final Instant EARLIEST = Instant.parse("0001-01-01T00:00:00Z");

    private static final Instant LATEST = Instant.parse("9999-12-31T23:59:59.999999Z");

    static Cursor parse(String raw) {
      try {
        String text = new String(Base64.getUrlDecoder().decode(raw), StandardCharsets.UTF_8);
        int bar = text.indexOf('|');
        Instant createdAt = Instant.parse(text.substring(0, bar));
        if (createdAt.isBefore(EARLIEST) || createdAt.isAfter(LATEST)) {
          throw new IllegalArgumentException("no record's time: " + createdAt);
        }
        return new Cursor(createdAt, UUID.fromString(text.substring(bar + 1)));
      } catch (RuntimeException e) {
        throw ProblemException.invalidFields(
            Map.of("cursor", "must be a cursor from a previous page's Link header"));
      }
    }
  }

  /**
   * {@code POST .../refunds/{id}/approve}: records the approval, then asks Stripe. When Stripe
   * fails the refund stays {@code approved} with {@code lastError} shown; approving it again (or
   * the refund worker's janitor) retries, and the idempotency key {@code refund-<id>} makes sure it
   * is refunded once. A refund of the admin's own payment is approved by another admin only (403);
   * rejecting one's own request, which gives nothing back, is allowed. Approving an automatic
   * refund awaiting review (a rejection or technical failure past 24 h) closes the user requests of
   * its payment still pending: it gives back what they ask for ({@link
   * RequestsOwedByAutomaticRefund}), and they would otherwise keep it from fitting.
   */
  public Reply approve(Context ctx, Caller caller) {
    UUID id = PathIds.uuid(ctx, "id", "refund");
    RequestBody.of(ctx).validate(); // no body: an amount sent here would be taken for all
    Optional<String> requestKey = RequestKey.of(ctx, caller.userId());
    jdbi.useTransaction(
        tx -> {
          RefundRecord refund = lockWithPayment(tx, id);
          caller.refuseOwn(refund.userId(), "approve a refund of their own payment");
          Instant now = clock.instant();
          if (decidedBefore(tx, id, "approved", requestKey, now)) {
            return; // this request approved it: Stripe finishes it, or it is answered as it is
          }
          switch (refund.status()) {
            case PENDING -> {
              RefundRequestDao dao = tx.attach(RefundRequestDao.class);
              if (refund.reason().isAutomatic()) {
                // approved, it gives back what the payment's pending requests ask for: they are
                // closed for it (undone with the rest if it does not fit), not left waiting
                String owed =
                    RequestsOwedByAutomaticRefund.reason(
                        refund.reason(), id, dao.automaticPart(id));
                int closed =
                    RequestsOwedByAutomaticRefund.close(
                        tx, refund.paymentIntentId(), id, owed, now);
                if (closed > 0) {
                  log.info(
                      "{} pending requests of {} closed: refund {} owes their money",
                      closed,
                      refund.paymentIntentId(),
                      id);
                }
              }
              requireRoomFor(tx, refund, "approved");
              dao.approve(id, now);
              dao.recordDecision(
                  id, "approved", caller.userId(), null, requestKey.orElse(null), now);
            }
            case APPROVED -> {} // approved before and not refunded yet: try Stripe again
            default ->
                throw ProblemException.conflict(
                    "the refund is " + refund.status().wire() + "; only a pending one is approved");
          }
        });
    log.info("refund {} approved by {}; asking Stripe to refund it", id, caller.userId());
    RefundOutcome outcome = executor.execute(id);
    return Reply.ok(RefundView.of(outcome.refund()));
  }

  /**
   * {@code POST .../refunds/{id}/reject {"reason"}}: pending → rejected, announced. The payment's
   * failed refunds the refund worker closed because this one (an automatic refund waiting for
   * review) owed their money are reopened: it will never pay them, so they are owed again.
   */
  public Reply reject(Context ctx, Caller caller) {
    UUID id = PathIds.uuid(ctx, "id", "refund");
    RequestBody body = RequestBody.of(ctx);
    String reason = body.requiredText("reason", MAX_REASON);
    body.validate();
    Optional<String> requestKey = RequestKey.of(ctx, caller.userId());
    RefundRecord rejected =
        jdbi.inTransaction(
            tx -> {
              // the payment's lock first: failed refunds this one took over are reopened, and
              // their room counted again, under it
              RefundRecord refund = lockWithPayment(tx, id);
              Instant now = clock.instant();
              if (decidedBefore(tx, id, "rejected", requestKey, now)) {
                return refund; // this request rejected it (and announced it) already
              }
              if (refund.status() != RefundStatus.PENDING) {
                throw ProblemException.conflict(
                    "the refund is " + refund.status().wire() + "; only a pending one is rejected");
              }
              RefundRequestDao dao = tx.attach(RefundRequestDao.class);
              dao.reject(id, reason, now);
              if (refund.paymentIntentId() != null) {
                int reopened = dao.reopenClosedFor(refund.paymentIntentId(), id, now);
                if (reopened > 0) {
                  log.info(
                      "{} failed refunds of {} reopened: rejected refund {} owed their money",
                      reopened,
                      refund.paymentIntentId(),
                      id);
                }
              }
              dao.recordDecision(
                  id, "rejected", caller.userId(), reason, requestKey.orElse(null), now);
              RefundRecord updated = tx.attach(RefundDao.class).find(id).orElseThrow();
              RefundEvents.append(
                  tx, updated, RefundEvents.rejected(updated, reason, caller.userId(), now));
              return updated;
            });
    log.info("refund {} rejected by {}", id, caller.userId());
    return Reply.ok(RefundView.of(rejected));
  }

  /**
   * {@code POST .../refunds/{id}/retry}: a failed refund that is not closed becomes {@code
   * approved} as its next attempt, then Stripe is asked again under a new idempotency key (the old
   * one would only return the failed refund). The answer shows the outcome: {@code processed}, or
   * {@code approved} with {@code lastError} (the janitor retries), or {@code failed} again. As with
   * an approval, a refund of the admin's own payment is retried by another admin only (403).
   */
  public Reply retry(Context ctx, Caller caller) {
    UUID id = PathIds.uuid(ctx, "id", "refund");
    RequestBody.of(ctx).validate(); // no body: an amount sent here would be taken for all
    Optional<String> requestKey = RequestKey.of(ctx, caller.userId());
    jdbi.useTransaction(
        tx -> {
          RefundRecord refund = lockWithPayment(tx, id);
          caller.refuseOwn(refund.userId(), "retry a refund of their own payment");
          Instant now = clock.instant();
          if (decidedBefore(tx, id, "retried", requestKey, now)) {
            return; // this request retried it: Stripe finishes it, or it is answered as it is
          }
          requireOpenFailed(refund, "retried");
          requireRoomFor(tx, refund, "retried");
          tx.attach(RefundDao.class).retryFailed(id, now);
          tx.attach(RefundRequestDao.class)
              .recordDecision(id, "retried", caller.userId(), null, requestKey.orElse(null), now);
        });
    log.info("failed refund {} retried by {}; asking Stripe again", id, caller.userId());
    RefundOutcome outcome = executor.execute(id);
    return Reply.ok(RefundView.of(outcome.refund()));
  }

  /**
   * {@code POST .../refunds/{id}/close {"reason", "outcome"}}: an admin will not retry a failed
   * refund; it stays {@code failed}, closed, and says where its money stands: {@code
   * refunded_elsewhere} (the customer got it back another way, so it still counts as gone back and
   * no later refund of the payment pays it again) or {@code not_owed} (nothing is owed for it: the
   * money went back through another record, or the payment was never ours; its room is free). There
   * is no default: a wrong guess either pays the customer twice or refuses a refund owed. Another
   * admin closes a refund of the admin's own payment (403): where their own money stands is not
   * theirs to say.
   */
  public Reply close(Context ctx, Caller caller) {
    UUID id = PathIds.uuid(ctx, "id", "refund");
    RequestBody body = RequestBody.of(ctx);
    String reason = body.requiredText("reason", MAX_REASON);
    String outcome = body.requiredChoice("outcome", CLOSE_OUTCOMES);
    body.validate();
    Optional<String> requestKey = RequestKey.of(ctx, caller.userId());
    RefundRecord closed =
        jdbi.inTransaction(
            tx -> {
              // the payment's lock first: a close as refunded_elsewhere changes the money counted
              // as returned, which an automatic refund decided meanwhile must see
              RefundRecord refund = lockWithPayment(tx, id);
              caller.refuseOwn(refund.userId(), "close a refund of their own payment");
              Instant now = clock.instant();
              if (decidedBefore(tx, id, "closed", requestKey, now)) {
                return refund; // this request closed it already
              }
              requireOpenFailed(refund, "closed");
              tx.attach(RefundDao.class).closeFailed(id, reason, outcome, now);
              // money counted as gone back again may be the last of a featured week's
              FeaturedPromotions.endForRefundedPayment(tx, refund.paymentIntentId(), now);
              tx.attach(RefundRequestDao.class)
                  .recordDecision(
                      id, "closed", caller.userId(), reason, requestKey.orElse(null), now);
              return tx.attach(RefundDao.class).find(id).orElseThrow();
            });
    log.info("failed refund {} closed by {} as {}: {}", id, caller.userId(), outcome, reason);
    return Reply.ok(RefundView.of(closed));
  }

  /**
   * Whether this very request (its {@link RequestKey}) took {@code decision} on the refund within
   * its key's 24 hours: a rerun after the first run's answer was lost. Never without a key.
   */
  private static boolean decidedBefore(
      Handle tx, UUID id, String decision, Optional<String> requestKey, Instant now) {
    return requestKey.isPresent()
        && tx.attach(RefundRequestDao.class)
            .decidedUnder(id, decision, requestKey.get(), RequestKey.bindsSince(now));
  }

  /** Retry and close act only on a failed refund no admin has closed yet. */
  private static void requireOpenFailed(RefundRecord refund, String verb) {
    if (refund.status() != RefundStatus.FAILED || refund.closedAt() != null) {
      throw ProblemException.conflict(
          "the refund is "
              + refund.status().wire()
              + (refund.closedAt() != null ? " and closed" : "")
              + "; only an open failed one is "
              + verb);
    }
  }

  /**
   * Refuses to send Stripe a refund, pending review or failed and open, that no longer fits in what
   * is left of its payment. Such a refund kept its share reserved in checkout-api ({@link
   * RefundDao#claimedCents}), but the refund worker's automatic refunds (a moderation rejection, a
   * technical failure) do not wait for an admin's decision and give back what was not returned yet:
   * a user's request pending review may by now be money already returned. Only Stripe's limit per
   * charge would then stop a second refund of it. A user's request whose money the payment's
   * automatic refund awaiting review owes (decided past 24 h, after the request) is refused naming
   * that refund, the one to approve: its approval gives the money back once and closes the request.
   */
  private static void requireRoomFor(Handle tx, RefundRecord refund, String verb) {
    String pi = refund.paymentIntentId();
    RefundRequestDao.Payment payment =
        tx.attach(RefundRequestDao.class)
            .lockPayment(pi)
            .orElseThrow(() -> ProblemException.conflict("no payment " + pi + " to refund"));
    long takenByOthers = tx.attach(RefundDao.class).claimedCents(pi) - refund.amountCents();
    long left = Math.max(0, payment.amountCents() - takenByOthers);
    if (refund.amountCents() <= left) {
      return;
    }
    String tooMuch =
        "the refund of "
            + refund.amountCents()
            + " cents is more than is left to refund of its payment: "
            + left
            + " of "
            + payment.amountCents();
    Optional<RefundRequestDao.AutomaticRefund> automatic =
        refund.reason().isAutomatic()
            ? Optional.empty()
            : tx.attach(RefundRequestDao.class)
                .automaticRefund(pi)
                .filter(a -> RefundStatus.PENDING.wire().equals(a.status()));
    if (refund.status() == RefundStatus.PENDING && automatic.isPresent()) {
      // a user's request and the automatic refund decided after it (past 24 h) ask for the same
      // money, both awaiting review: the automatic one is the one to approve, and its approval
      // closes this request as owed by it; rejecting this one would tell the user no for money
      // that is still owed to them, and leave the automatic refund waiting
      RefundRequestDao.AutomaticRefund owedBy = automatic.get();
      throw ProblemException.conflict(
          tooMuch
              + ": it is "
              + RequestsOwedByAutomaticRefund.reason(
                  RefundReason.fromWire(owedBy.reason()), owedBy.id(), owedBy.automaticPart())
              + ", awaiting review; approve refund "
              + owedBy.id()
              + " instead, which gives this money back and closes this request (or reject that"
              + " refund, if its money is not owed, and then approve this one)");
    }
    throw ProblemException.conflict(
        tooMuch
            + " (other refunds returned or hold the rest); "
            + (refund.status() == RefundStatus.PENDING ? "reject" : "close")
            + " it instead of having it "
            + verb);
  }

  /**
   * Locks the refund's payment, then the refund, in the order of every path that reserves part of a
   * payment for a refund, and returns the refund as it is under the lock.
   */
  private static RefundRecord lockWithPayment(Handle tx, UUID id) {
    RefundRecord seen =
        tx.attach(RefundDao.class)
            .find(id)
            .orElseThrow(() -> ProblemException.notFound("no refund " + id));
    if (seen.paymentIntentId() != null) {
      tx.attach(RefundRequestDao.class).lockPayment(seen.paymentIntentId());
    }
    return lock(tx, id);
  }

  private static RefundRecord lock(Handle tx, UUID id) {
    return tx.attach(RefundDao.class)
        .lock(id)
        .orElseThrow(() -> ProblemException.notFound("no refund " + id));
  }

  private static int limit(String raw) {
    if (raw == null) {
      return DEFAULT_LIMIT;
    }
    try {
      int limit = Integer.parseInt(raw);
      if (limit >= 1 && limit <= MAX_LIMIT) {
        return limit;
      }
    } catch (NumberFormatException e) {
      // fall through
    }
    throw ProblemException.invalidFields(
        Map.of("limit", "must be a whole number from 1 to " + MAX_LIMIT));
  }
}
