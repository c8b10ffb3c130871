package io.marketplace.payments.common.refund;

import com.stripe.StripeClient;
import com.stripe.exception.ApiException;
import com.stripe.exception.AuthenticationException;
import com.stripe.exception.InvalidRequestException;
import com.stripe.exception.StripeException;
import com.stripe.model.Refund;
import com.stripe.net.RequestOptions;
import com.stripe.net.StripeResponse;
import com.stripe.param.RefundCreateParams;
import com.stripe.param.RefundListParams;
import io.marketplace.payments.common.logging.Mdc;
import io.marketplace.payments.common.promotion.FeaturedPromotions;
import io.marketplace.payments.common.stripe.StripeKeys;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Refunds an {@code approved} refund record through Stripe and marks it {@code processed}: the one
 * place that moves money back, used by the refund worker (automatic refunds, retries) and by the
 * admin's approval in checkout-api.
 *
 * <p>Stripe is never called inside a database transaction. The decision to refund is already
 * committed (the row is {@code approved}); this reads it, calls Stripe with {@code
 * metadata[refund_id]} and the idempotency key {@code refund-<id>}, then, in a short transaction
 * that locks the row and re-checks it, moves it to {@code processed} with the Stripe refund id and
 * appends {@code refund.processed}. Because the amount, metadata and key of a record never change,
 * any number of calls, concurrent or retried after a timeout whose answer was lost, reach one and
 * the same Stripe refund, and only the first to commit moves the record. An answer settles only the
 * attempt it was asked for: one that comes back after Stripe failed that refund and an admin
 * retried the record (a new attempt, a new key) is not the retry's refund, and leaves it alone.
 *
 * <p>Stripe forgets an idempotency key after 24 hours, so a retry of a record that may already have
 * reached Stripe (it failed before, or its first call to Stripe, stamped in {@code
 * first_attempted_at} before the call, was a while ago) first looks for the refund among the
 * PaymentIntent's refunds by {@code metadata[refund_id]}, and only asks for a new one if there is
 * none. {@code first_attempted_at} is never moved by the janitor's claim, so the look-up still
 * happens on the janitor's retries a day later.
 *
 * <p>A transient Stripe failure (no connection, a timeout, rate limits, a 5xx) leaves the record
 * {@code approved} with {@code last_error}; the refund worker's janitor retries it. A 500 that
 * Stripe's API itself answered ({@code api_error}) may be kept for the Idempotency-Key and then be
 * replayed to every retry with that key for 24 hours: a retry that gets it replayed moves the
 * record to its next key round ({@code key_round}). Stripe's 500 leaves the call's outcome unknown
 * (Stripe may still finish it), so for {@link #ROUND_SETTLES} after the move a retry only looks for
 * a refund the failed call made; after that it looks, and asks again under the round's new key,
 * {@code refund-<id>[-<attempt>]-r<round>}, if there is none. Callers of one round share its key,
 * so concurrent ones still reach one refund. A permanent refusal (an invalid request: no such
 * PaymentIntent in this account or mode, already refunded, more than what is left to refund, ...)
 * and a refund Stripe created as failed end the record {@code failed} with Stripe's reason,
 * announce {@code refund.failed} and count {@code payments_refunds_failed_total{reason}}: retrying
 * the same request cannot help, an admin decides. A refusal of our key (a 403 for a restricted key
 * without the permission, a 401 for a key rolled, revoked or wrong) is stored with the prefix
 * {@value #REFUSED}, logged as an error, counted as {@code
 * payments_refunds_stripe_failures_total{kind="refused"}} and retried rarely: no refund goes
 * through until an operator fixes the key, and then it does, unchanged.
 */
public final class RefundExecutor {

  private static final Logger log = LoggerFactory.getLogger(RefundExecutor.class);

  /** The metadata key of our refunds at Stripe, pointing back to {@code payment_refunds.id}. */
  public static final String METADATA_REFUND_ID = "refund_id";

  /** The metadata key of the attempt, set from an admin's first retry of a failed refund on. */
  public static final String METADATA_ATTEMPT = "refund_attempt";

  /** The prefix of {@code last_error} when Stripe refused the refund outright. */
  public static final String REFUSED = "refused by Stripe: ";

  private static final Set<String> FAILED_REFUND_STATUSES = Set.of("failed", "canceled");
  private static final Duration RETRY_LOOKUP_AFTER = Duration.ofMinutes(10);

  /**
   * How long after a 500 Stripe kept for the key the record waits before asking under its next key
   * round: Stripe's 500 leaves the call's outcome unknown, and a refund it still makes shows among
   * the PaymentIntent's refunds well within this. Until then a retry only looks for it.
   */
  static final Duration ROUND_SETTLES = Duration.ofMinutes(10);

  private static final int MAX_ERROR_LENGTH = 500;

  private final Jdbi jdbi;
  private final StripeClient stripe;
  private final Clock clock;
  private final MeterRegistry registry;
  private final Counter stripeFailures;
  private final Counter stripeRefusals;

  /** Error codes of an invalid request that a later identical request may not get. */
  private static final Set<String> TRANSIENT_CODES =
      Set.of("lock_timeout", "rate_limit", "idempotency_key_in_use");

  public RefundExecutor(Jdbi jdbi, StripeClient stripe, Clock clock, MeterRegistry registry) {
    this.jdbi = jdbi;
    this.stripe = stripe;
    this.clock = clock;
    this.registry = registry;
    this.stripeFailures =
        Counter.builder("payments.refunds.stripe.failures")
            .description("refund calls to Stripe that failed and will be retried")
            .tag("kind", "retryable")
            .register(registry);
    this.stripeRefusals =
        Counter.builder("payments.refunds.stripe.failures")
            .description("refund calls to Stripe that failed and will be retried")
            .tag("kind", "refused")
            .register(registry);
  }

  /** The Stripe idempotency key of a refund record: the same record can only refund once. */
  public static String idempotencyKey(UUID refundId) {
    return "refund-" + refundId;
  }

  /**
   * The key of an attempt of a refund record: attempt 0 keeps {@link #idempotencyKey(UUID)}; an
   * admin's retry of a failed refund gets a new one, since the old key would only return the failed
   * refund again.
   */
  public static String idempotencyKey(UUID refundId, int attempt) {
    return attempt == 0 ? idempotencyKey(refundId) : idempotencyKey(refundId) + "-" + attempt;
  }

  /**
   * The key of a key round of an attempt: round 0 keeps {@link #idempotencyKey(UUID, int)}; a later
   * round, after Stripe kept a 500 for the earlier round's key, gets a new one.
   */
  public static String idempotencyKey(UUID refundId, int attempt, int round) {
    String key = idempotencyKey(refundId, attempt);
    return round == 0 ? key : key + "-r" + round;
  }

  /**
   * Refunds {@code refundId} through Stripe if it is {@code approved}; see {@link RefundOutcome}.
   * Never throws for a Stripe failure; throws {@link NoSuchElementException} for an unknown id, and
   * lets a database failure through (the record is then unchanged or retried by the janitor).
   */
  public RefundOutcome execute(UUID refundId) {
    RefundRecord refund =
        jdbi.withHandle(h -> h.attach(RefundDao.class).find(refundId))
            .orElseThrow(() -> new NoSuchElementException("no refund " + refundId));
    if (refund.status() != RefundStatus.APPROVED) {
      return RefundOutcome.unchanged(refund);
    }
    if (refund.stripeRefundId() != null) {
      // Stripe answered before and only the bookkeeping is missing: its refund says when it was
      // made
      try (var mdc = Mdc.put(Mdc.PAYMENT_INTENT_ID, refund.paymentIntentId())) {
        Refund made = stripe.v1().refunds().retrieve(refund.stripeRefundId());
        return finish(refund, made.getId(), madeAt(made));
      } catch (StripeException e) {
        return fail(refund, describe(e), isRefusal(e), false);
      }
    }
    boolean lookFirst = mayHaveReachedStripe(refund);
    if (refund.firstAttemptedAt() == null) {
      // stamped before the call: a caller that dies after it leaves the mark for the next one
      jdbi.useHandle(h -> h.attach(RefundDao.class).markAttempted(refundId, clock.instant()));
    }
    Refund created;
    try (var mdc = Mdc.put(Mdc.PAYMENT_INTENT_ID, refund.paymentIntentId())) {
      Optional<Refund> earlier = lookFirst ? madeEarlier(refund) : Optional.empty();
      if (earlier.isEmpty() && roundUnsettled(refund)) {
        // the failed call's outcome may still land at Stripe: no new key before it would show
        log.info(
            "refund {} of {}: not asked again under key round {} before {}",
            refund.id(),
            refund.paymentIntentId(),
            refund.keyRound(),
            refund.keyRoundAt().plus(ROUND_SETTLES));
        return RefundOutcome.failed(refund, refund.lastError());
      }
      created =
          earlier.isPresent()
              ? earlier.get()
              : stripe.v1().refunds().create(params(refund), options(refund));
    } catch (StripeException e) {
      if (isPermanent(e)) {
        return failForGood(refund, null, failureReason(e), describePermanent(e));
      }
      return fail(refund, describe(e), isRefusal(e), isKeptForTheKey(e));
    } catch (RuntimeException e) {
      // an answer we could not read: the outcome is unknown, which the idempotency key settles
      return fail(
          refund, "no usable answer from Stripe: " + StripeKeys.redact(e.toString()), false, false);
    }
    if (FAILED_REFUND_STATUSES.contains(created.getStatus())) {
      // The same key returns the same failed refund: retrying cannot help, an admin decides.
      String reason =
          created.getFailureReason() != null ? created.getFailureReason() : created.getStatus();
      return failForGood(
          refund,
          created.getId(),
          reason,
          "Stripe refund " + created.getId() + " is " + created.getStatus() + " (" + reason + ")");
    }
    return finish(refund, created.getId(), madeAt(created));
  }

  /**
   * When Stripe made {@code refund}: its {@code created}, the time {@code refund.processed} is
   * dated by, whichever of our call's answer and Stripe's webhook records it; the clock only for a
   * refund without one.
   */
  private Instant madeAt(Refund refund) {
    Long created = refund.getCreated();
    return created != null && created > 0 ? Instant.ofEpochSecond(created) : clock.instant();
  }

  /**
   * Whether an earlier attempt may have made this refund at Stripe without our knowing: one failed
   * (perhaps a timeout whose answer was lost), or its first call to Stripe was a while ago and it
   * is still approved (perhaps a caller died between Stripe's answer and the commit). Keyed off
   * {@code first_attempted_at}, not {@code updated_at}, which the janitor moves to claim the
   * record.
   */
  private boolean mayHaveReachedStripe(RefundRecord refund) {
    return refund.lastError() != null
        || refund.keyRound() > 0
        || (refund.firstAttemptedAt() != null
            && refund.firstAttemptedAt().isBefore(clock.instant().minus(RETRY_LOOKUP_AFTER)));
  }

  /** Whether the record moved to its key round too recently to ask under the round's new key. */
  private boolean roundUnsettled(RefundRecord refund) {
    return refund.keyRound() > 0
        && refund.keyRoundAt() != null
        && clock.instant().isBefore(refund.keyRoundAt().plus(ROUND_SETTLES));
  }

  /**
   * The refund an earlier attempt made, found at Stripe by {@code metadata[refund_id]} among the
   * PaymentIntent's refunds. Stripe keeps an idempotency key for 24 hours only: a retry after that
   * would otherwise refund the customer a second time.
   */
  private Optional<Refund> madeEarlier(RefundRecord refund) throws StripeException {
    RefundListParams params =
        RefundListParams.builder()
            .setPaymentIntent(refund.paymentIntentId())
            .setLimit(100L)
            .build();
    String id = refund.id().toString();
    String attempt = Integer.toString(refund.attempt());
    for (Refund candidate : stripe.v1().refunds().list(params).autoPagingIterable()) {
      if (candidate.getMetadata() != null
          && id.equals(candidate.getMetadata().get(METADATA_REFUND_ID))
          && attempt.equals(candidate.getMetadata().getOrDefault(METADATA_ATTEMPT, "0"))) {
        log.info(
            "refund {} of {} was made at Stripe by an earlier attempt as {}",
            refund.id(),
            refund.paymentIntentId(),
            candidate.getId());
        return Optional.of(candidate);
      }
    }
    return Optional.empty();
  }

  /**
   * Moves an {@code approved} refund, locked by the caller in {@code tx}, to {@code processed} with
   * {@code stripeRefundId} and appends {@code refund.processed}, dated {@code madeAt}: when Stripe
   * made the refund (the Refund's {@code created}), not when we record it, which a late webhook or
   * a retry puts hours later; {@code processed_at} keeps when we recorded it. When that was the
   * last of a featured purchase's money, its week ends ({@link
   * FeaturedPromotions#endForRefundedPayment}). Used by {@link #execute} and by the refund worker
   * when Stripe's webhook for our refund arrives first. Returns false when the record was no longer
   * approved.
   */
  public boolean markProcessed(
      Handle tx, RefundRecord refund, String stripeRefundId, Instant madeAt) {
    Instant now = clock.instant();
    if (tx.attach(RefundDao.class).markProcessed(refund.id(), stripeRefundId, now) == 0) {
      return false;
    }
    RefundEvents.append(tx, refund, RefundEvents.processed(refund, stripeRefundId, madeAt));
    FeaturedPromotions.endForRefundedPayment(tx, refund.paymentIntentId(), now);
    countProcessed(tx, refund.reason());
    log.info(
        "refund {} of {} processed by Stripe as {}",
        refund.id(),
        refund.paymentIntentId(),
        stripeRefundId);
    return true;
  }

  /**
   * Moves a refund, locked by the caller in {@code tx}, from {@code approved} or {@code processed}
   * to {@code failed}, notes the failed Stripe refund {@code stripeRefundId} (when there is one)
   * once, appends {@code refund.failed} and counts {@code payments_refunds_failed_total{reason}}
   * once {@code tx} commits. Used by {@link #execute} on a permanent refusal and by the refund
   * worker when Stripe reports a refund failed after creating it. Returns false when the record was
   * in neither state.
   */
  public boolean markFailed(
      Handle tx, RefundRecord refund, String stripeRefundId, String failureReason, String detail) {
    Instant now = clock.instant();
    RefundDao dao = tx.attach(RefundDao.class);
    String reason = reasonTag(failureReason);
    if (stripeRefundId != null) {
      dao.noteStripeFailure(stripeRefundId, refund.id(), reason, now);
    }
    String stored = truncate(detail);
    if (dao.markFailed(refund.id(), stripeRefundId, reason, stored, now) == 0) {
      return false;
    }
    RefundRecord failed = dao.find(refund.id()).orElseThrow();
    RefundEvents.append(
        tx, failed, RefundEvents.failed(failed, failed.stripeRefundId(), reason, stored, now));
    Counter counter = failedCounter(registry, reason);
    tx.afterCommit(counter::increment);
    log.error(
        "refund {} of {} failed at Stripe ({}): {}; an admin may retry or close it",
        refund.id(),
        refund.paymentIntentId(),
        reason,
        stored);
    return true;
  }

  /**
   * {@code payments_refunds_failed_total{reason}}: refunds that ended failed, by Stripe's reason.
   */
  public static Counter failedCounter(MeterRegistry registry, String reason) {
    return Counter.builder("payments.refunds.failed")
        .description("refunds Stripe refused for good or failed after creating them, by reason")
        .tag("reason", reasonTag(reason))
        .register(registry);
  }

  /** Stripe's reason codes are short snake_case words; anything else is tagged {@code other}. */
  static String reasonTag(String reason) {
    return reason != null && reason.matches("[a-z0-9_]{1,64}") ? reason : "other";
  }

  /**
   * Counts a refund that reached {@code processed} once {@code tx} commits: {@code
   * homepage_refunds_processed_total{reason}} (SPEC §6).
   */
  public void countProcessed(Handle tx, RefundReason reason) {
    Counter counter = processedCounter(registry, reason);
    tx.afterCommit(counter::increment);
  }

  /** The counter of processed refunds, registered with the same description everywhere. */
  public static Counter processedCounter(MeterRegistry registry, RefundReason reason) {
    return Counter.builder("homepage.refunds.processed")
        .description("refunds processed, by reason")
        .tag("reason", reason.wire())
        .register(registry);
  }

  private RefundOutcome finish(RefundRecord asked, String stripeRefundId, Instant madeAt) {
    return jdbi.inTransaction(
        tx -> {
          RefundDao dao = tx.attach(RefundDao.class);
          RefundRecord locked = dao.lock(asked.id()).orElseThrow();
          if (locked.status() != RefundStatus.APPROVED || isLater(locked, asked, stripeRefundId)) {
            // a concurrent caller, or Stripe's webhook, completed it first
            return RefundOutcome.unchanged(locked);
          }
          markProcessed(tx, locked, stripeRefundId, madeAt);
          return RefundOutcome.processed(dao.find(asked.id()).orElseThrow());
        });
  }

  private RefundOutcome failForGood(
      RefundRecord asked, String stripeRefundId, String reason, String detail) {
    return jdbi.inTransaction(
        tx -> {
          RefundDao dao = tx.attach(RefundDao.class);
          RefundRecord locked = dao.lock(asked.id()).orElseThrow();
          if (locked.status() != RefundStatus.APPROVED || isLater(locked, asked, stripeRefundId)) {
            // a concurrent caller or Stripe's webhook settled it first
            return RefundOutcome.unchanged(locked);
          }
          markFailed(tx, locked, stripeRefundId, reason, detail);
          RefundRecord failed = dao.find(asked.id()).orElseThrow();
          return RefundOutcome.endedFailed(failed, failed.lastError());
        });
  }

  private RefundOutcome fail(
      RefundRecord asked, String error, boolean refused, boolean keptForTheKey) {
    String stored = truncate(refused && !error.startsWith(REFUSED) ? REFUSED + error : error);
    (refused ? stripeRefusals : stripeFailures).increment();
    return jdbi.inTransaction(
        tx -> {
          RefundDao dao = tx.attach(RefundDao.class);
          RefundRecord locked = dao.lock(asked.id()).orElseThrow();
          if (locked.status() != RefundStatus.APPROVED || isLater(locked, asked, null)) {
            // lost a race to a caller that got Stripe's answer: nothing failed after all
            return RefundOutcome.unchanged(locked);
          }
          dao.noteFailure(asked.id(), stored, clock.instant());
          if (keptForTheKey
              && dao.nextKeyRound(asked.id(), asked.attempt(), asked.keyRound(), clock.instant())
                  > 0) {
            log.warn(
                "refund {} of {}: Stripe keeps its 500 for key {}; the retry looks for the refund"
                    + " and asks again under a new key",
                asked.id(),
                locked.paymentIntentId(),
                idempotencyKey(asked.id(), asked.attempt(), asked.keyRound()));
          }
          if (refused) {
            // every refund waits on this until the key is fixed: an operator's, not the refund's
            log.error(
                "refund {} of {} not done: Stripe refuses our key, fix STRIPE_SECRET_KEY (the"
                    + " refund is retried unchanged): {}",
                asked.id(),
                locked.paymentIntentId(),
                stored);
          } else {
            log.warn(
                "refund {} of {} not done yet: {}", asked.id(), locked.paymentIntentId(), stored);
          }
          return RefundOutcome.failed(dao.find(asked.id()).orElseThrow(), stored);
        });
  }

  /**
   * Whether the record moved on to a later attempt (an admin's retry) since {@code asked} was read:
   * Stripe's answer for the earlier attempt, {@code stripeRefundId}, is then not the record's.
   */
  private static boolean isLater(RefundRecord locked, RefundRecord asked, String stripeRefundId) {
    if (locked.attempt() == asked.attempt()) {
      return false;
    }
    log.warn(
        "refund {} of {}: Stripe's answer for attempt {} ({}) came after the admin's retry, attempt"
            + " {}; left to the retry",
        asked.id(),
        asked.paymentIntentId(),
        asked.attempt(),
        stripeRefundId == null ? "no refund" : stripeRefundId,
        locked.attempt());
    return true;
  }

  private static RefundCreateParams params(RefundRecord refund) {
    RefundCreateParams.Builder params =
        RefundCreateParams.builder()
            .setPaymentIntent(refund.paymentIntentId())
            .setAmount(refund.amountCents())
            .putMetadata(METADATA_REFUND_ID, refund.id().toString())
            .putMetadata("refund_reason", refund.reason().wire());
    if (refund.attempt() > 0) {
      params.putMetadata(METADATA_ATTEMPT, Integer.toString(refund.attempt()));
    }
    if (refund.reason() == RefundReason.USER_REQUEST) {
      params.setReason(RefundCreateParams.Reason.REQUESTED_BY_CUSTOMER);
    }
    return params.build();
  }

  private static RequestOptions options(RefundRecord refund) {
    return RequestOptions.builder()
        .setIdempotencyKey(idempotencyKey(refund.id(), refund.attempt(), refund.keyRound()))
        .build();
  }

  /**
   * A 500 {@code api_error} that Stripe kept for the request's Idempotency-Key: a retry with the
   * key got it replayed ({@code Idempotent-Replayed: true}), so the first call finished at Stripe,
   * with this error, and every later one with the key will get it too. Not a first 500 (it may not
   * be kept: a retry with the key may go through), a 502 to 504 of a proxy, a timeout or a lost
   * connection: after those the request may still be running, and only the same key keeps a retry
   * from refunding twice.
   */
  static boolean isKeptForTheKey(StripeException e) {
    if (!(e instanceof ApiException)
        || e.getStatusCode() == null
        || e.getStatusCode() != 500
        || e.getStripeError() == null
        || !"api_error".equals(e.getStripeError().getType())) {
      return false;
    }
    StripeResponse response = e.getStripeError().getLastResponse();
    return response != null
        && response.headers().firstValue("Idempotent-Replayed").map("true"::equals).orElse(false);
  }

  /**
   * Stripe refused our key, for a reason an operator must fix outside the refund: a restricted key
   * without the permission (403, {@code PermissionException}) or a key Stripe does not take (401:
   * rolled, revoked or wrong, {@code AuthenticationException}, which the former extends). Retried
   * rarely; see {@link #isPermanent} for the refusals that end the refund.
   */
  static boolean isRefusal(StripeException e) {
    return e instanceof AuthenticationException;
  }

  /**
   * Stripe refused the request for good: an invalid request (400, 404: no such PaymentIntent in
   * this account or mode, already refunded, more than is left, disputed, ...). The same request
   * will always fail, so the refund ends failed. Connection failures, rate limits, 5xx, idempotency
   * conflicts and authentication or permission errors are not: they pass or get fixed without
   * changing the refund.
   */
  static boolean isPermanent(StripeException e) {
    return e instanceof InvalidRequestException
        && (e.getStatusCode() == null || e.getStatusCode() != 429)
        && (e.getCode() == null || !TRANSIENT_CODES.contains(e.getCode()));
  }

  /** Stripe's error code of a permanent refusal, the reason recorded and counted. */
  static String failureReason(StripeException e) {
    if (e.getCode() != null && !e.getCode().isBlank()) {
      return e.getCode();
    }
    return e.getStatusCode() != null && e.getStatusCode() == 404
        ? "resource_missing"
        : "invalid_request";
  }

  private static String describePermanent(StripeException e) {
    String text = "refused by Stripe for good: " + describe(e);
    if ("charge_already_refunded".equals(e.getCode())) {
      // not necessarily a loss for the customer: another refund gave the money back
      text += " (the charge is fully refunded at Stripe: the money may have gone back already)";
    }
    return text;
  }

  static boolean isRefusal(String lastError) {
    return lastError != null && lastError.startsWith(REFUSED);
  }

  private static String describe(StripeException e) {
    StringBuilder text = new StringBuilder(e.getClass().getSimpleName());
    if (e.getStatusCode() != null && e.getStatusCode() > 0) {
      text.append(" (HTTP ").append(e.getStatusCode()).append(')');
    }
    if (e.getCode() != null) {
      text.append(" ").append(e.getCode());
    }
    // stored, shown to admins and announced in refund.failed: never with our key's last digits
    text.append(": ").append(StripeKeys.redact(e.getMessage()));
    return text.toString();
  }

  private static String truncate(String text) {
    return text.length() <= MAX_ERROR_LENGTH ? text : text.substring(0, MAX_ERROR_LENGTH);
  }
}
