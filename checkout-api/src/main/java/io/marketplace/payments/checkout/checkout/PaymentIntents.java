package io.marketplace.payments.checkout.checkout;

import com.stripe.StripeClient;
import com.stripe.exception.ApiConnectionException;
import com.stripe.exception.ApiException;
import com.stripe.exception.IdempotencyException;
import com.stripe.exception.InvalidRequestException;
import com.stripe.exception.RateLimitException;
import com.stripe.exception.StripeException;
import com.stripe.model.PaymentIntent;
import com.stripe.net.RequestOptions;
import com.stripe.param.PaymentIntentCreateParams;
import io.marketplace.payments.checkout.listing.Listing;
import io.marketplace.payments.common.http.ProblemException;
import io.marketplace.payments.common.stripe.PaymentIntentCancellation;
import io.marketplace.payments.common.stripe.StripeKeys;
import java.time.Duration;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * PaymentIntents at Stripe. A create always carries the attempt's id as its idempotency key and
 * parameters that depend only on the attempt and the listing, so any number of calls for one
 * attempt (retried, concurrent, or after an answer was lost) return one PaymentIntent.
 */
public final class PaymentIntents {

  private static final Logger log = LoggerFactory.getLogger(PaymentIntents.class);

  /** How long to keep asking while Stripe is still answering a concurrent call with our key. */
  private static final int IN_FLIGHT_RETRIES = 8;

  private static final Duration FIRST_BACKOFF = Duration.ofMillis(100);
  private static final Duration MAX_BACKOFF = Duration.ofSeconds(1);
  private static final long RETRY_AFTER_SECONDS = 2;
  private static final String UNAVAILABLE =
      "the payment provider is unavailable; try again shortly";

  private final StripeClient stripe;
  private final String keyFingerprint;

  /** {@code keyFingerprint}: the key of {@code stripe}, as {@code StripeConfig#keyFingerprint}. */
  public PaymentIntents(StripeClient stripe, String keyFingerprint) {
    this.stripe = stripe;
    this.keyFingerprint = keyFingerprint;
  }

  /** Which key this client calls Stripe with, recorded with every PaymentIntent it gets. */
  public String keyFingerprint() {
    return keyFingerprint;
  }

  public PaymentIntent create(CheckoutAttempt attempt, Listing listing) {
    PaymentIntentCreateParams params =
        PaymentIntentCreateParams.builder()
            .setAmount((long) attempt.amountCents())
            .setCurrency(Prices.CURRENCY)
            .setDescription(attempt.paymentType() + " for listing " + listing.id())
            .putAllMetadata(
                Map.of(
                    "listing_id", listing.id().toString(),
                    "user_id", listing.userId().toString(),
                    "category_id", Long.toString(listing.categoryId()),
                    "payment_type", attempt.paymentType()))
            .build();
    RequestOptions options =
        RequestOptions.builder().setIdempotencyKey(attempt.idempotencyKey()).build();
    Duration backoff = FIRST_BACKOFF;
    for (int tries = 0; ; tries++) {
      try {
        return stripe.v1().paymentIntents().create(params, options);
      } catch (StripeException e) {
        if (isInFlight(e) && tries < IN_FLIGHT_RETRIES) {
          // a concurrent checkout of the same purchase holds the key: its answer is ours too
          pause(backoff);
          backoff =
              backoff.multipliedBy(2).compareTo(MAX_BACKOFF) > 0
                  ? MAX_BACKOFF
                  : backoff.multipliedBy(2);
          continue;
        }
        if (spendsKey(e)) {
          failure("create", e);
          throw new KeySpent();
        }
        if (refusesCreation(e)) {
          throw new Refused(isPermanent(e) ? permanent(e, attempt) : failure("create", e));
        }
        throw failure("create", e);
      }
    }
  }

  /**
   * Stripe answered a creation with an answer it keeps for the attempt's key for 24 hours, and will
   * give to every retry with it: a server error (Stripe keeps an answer it gave from inside an
   * endpoint, a 500 too), or an {@code idempotency_error} saying the key was first used with other
   * parameters (the listing changed since a call whose answer was lost, say its category, or a
   * release changed what a creation sends). The attempt must not ask with that key again. Asking
   * with a new one is safe even if an earlier call made a PaymentIntent: nobody ever got that one's
   * client secret (the attempt has no PaymentIntent recorded), so nobody can pay it. A timeout is
   * different: the same key then finds what the lost call made.
   */
  public static final class KeySpent extends ProblemException {
    private KeySpent() {
      super(
          503,
          "Service Unavailable",
          UNAVAILABLE,
          Map.of(),
          Map.of("Retry-After", Long.toString(RETRY_AFTER_SECONDS)));
    }
  }

  /**
   * Stripe refused to create the attempt's PaymentIntent with a 4xx (other than our key refused,
   * rate limits and a concurrent call with the key, which keep nothing): no PaymentIntent was made,
   * and Stripe keeps such an answer for the key for 24 hours if its endpoint gave it (the account
   * could not take charges then, say), replaying it to every retry. The attempt must not ask with
   * that key again: asking with a new one is safe, since the refused call made nothing anyone could
   * pay. {@link #answer()} is what the client is told: 502 as for any refusal the client cannot act
   * on, or, when Stripe refused what the purchase is ({@link #isPermanent}: its amount, say), a 422
   * saying so, which no retry changes until its price is corrected.
   */
  public static final class Refused extends RuntimeException {
    private final ProblemException answer;

    private Refused(ProblemException answer) {
      super(answer.getMessage(), null, false, false);
      this.answer = answer;
    }

    public ProblemException answer() {
      return answer;
    }
  }

  /** A 4xx to a creation that is Stripe's refusal of it; see {@link Refused}. */
  static boolean refusesCreation(StripeException e) {
    Integer status = e.getStatusCode();
    return e instanceof InvalidRequestException
        && status != null
        && status >= 400
        && status < 500
        && status != 409
        && status != 429;
  }

  /**
   * Stripe refused a parameter of the purchase itself (its amount too small or too large for one
   * charge, a value it does not take): the same purchase is refused under any key.
   */
  static boolean isPermanent(StripeException e) {
    String code = e.getCode() == null ? "" : e.getCode();
    return code.startsWith("amount_too_")
        || code.startsWith("parameter_")
        || (e.getStripeError() != null && e.getStripeError().getParam() != null);
  }

  /**
   * The answer to a purchase Stripe refuses as it is: 422, naming Stripe's code and the parameter
   * (never Stripe's text, which may quote our key), not kept for the client's Idempotency-Key, so
   * that a retry once the price is corrected goes through.
   */
  private static ProblemException permanent(StripeException e, CheckoutAttempt attempt) {
    String param = e.getStripeError() == null ? null : e.getStripeError().getParam();
    log.error(
        "Stripe refuses the PaymentIntent of {} ({} cents {}) for good (status {}, code {}, param"
            + " {}, request {}): {}; fix the price",
        attempt.paymentType(),
        attempt.amountCents(),
        Prices.CURRENCY,
        e.getStatusCode(),
        e.getCode(),
        param,
        e.getRequestId(),
        redacted(e.getMessage()));
    return new ProblemException(
            422,
            "Unprocessable Content",
            "the payment provider refuses this purchase as priced ("
                + attempt.amountCents()
                + " cents "
                + Prices.CURRENCY
                + ": "
                + (e.getCode() == null ? "invalid_request" : e.getCode())
                + (param == null ? "" : ", " + param)
                + "): it cannot be paid as priced, and retrying will not help until its price is"
                + " corrected"
                + (e.getRequestId() == null ? "" : " (provider request " + e.getRequestId() + ")"))
        .untilLifted();
  }

  private static boolean spendsKey(StripeException e) {
    return (e instanceof ApiException && e.getStatusCode() != null && e.getStatusCode() >= 500)
        || (e instanceof IdempotencyException && !isInFlight(e));
  }

  /**
   * Cancels a PaymentIntent nobody may pay any more (its listing was rejected). True when Stripe
   * canceled it; false when it could not (unreachable, or the PaymentIntent is not cancelable any
   * more, say paid meanwhile), logged: the caller's decision stands, and a payment that succeeds
   * anyway is refunded by the dead-listing path.
   */
  public boolean cancel(String paymentIntentId) {
    try {
      PaymentIntentCancellation.cancel(stripe, paymentIntentId);
      return true;
    } catch (StripeException e) {
      log.warn(
          "Stripe did not cancel PaymentIntent {} (status {}, code {}, request {}): {}",
          paymentIntentId,
          e.getStatusCode(),
          e.getCode(),
          e.getRequestId(),
          redacted(e.getMessage()));
      return false;
    } catch (RuntimeException e) {
      log.warn("could not cancel PaymentIntent {} at Stripe", paymentIntentId, e);
      return false;
    }
  }

  public PaymentIntent retrieve(String paymentIntentId) {
    try {
      return stripe.v1().paymentIntents().retrieve(paymentIntentId);
    } catch (StripeException e) {
      if (isMissing(e)) {
        log.warn(
            "Stripe does not find PaymentIntent {} with the key in use (status {}, code {},"
                + " request {}): {}",
            paymentIntentId,
            e.getStatusCode(),
            e.getCode(),
            e.getRequestId(),
            redacted(e.getMessage()));
        throw new Gone(paymentIntentId, e.getRequestId());
      }
      throw failure("retrieve", e);
    }
  }

  /**
   * Stripe answered 404 {@code resource_missing} for a PaymentIntent we recorded: the key in use
   * does not find it. With the key it was recorded with (one account, one mode) that means it is
   * gone (test mode's "delete all test data"; live PaymentIntents are never deleted), and nobody
   * can pay it. With another key (rotated to another account or mode, a database restored from
   * another environment) it may still exist where it was made and be paid there by whoever holds
   * its client secret: it must never be replaced by a second one, so this answer (502, saying so)
   * stands until an operator restores the key or settles the purchase.
   */
  public static final class Gone extends ProblemException {
    private final String paymentIntentId;

    private Gone(String paymentIntentId, String requestId) {
      super(
          502,
          "Bad Gateway",
          "the payment provider does not find this purchase's payment "
              + paymentIntentId
              + " with the account in use; it may still be payable where it was made, so it is"
              + " not replaced by another: the operators must restore the account or settle it"
              + (requestId == null ? "" : " (provider request " + requestId + ")"));
      this.paymentIntentId = paymentIntentId;
    }

    public String paymentIntentId() {
      return paymentIntentId;
    }
  }

  /** Stripe's 404 for an id the key in use does not find: {@code No such payment_intent: ...}. */
  static boolean isMissing(StripeException e) {
    return e.getStatusCode() != null
        && e.getStatusCode() == 404
        && "resource_missing".equals(e.getCode());
  }

  /**
   * Stripe's answer to a request whose idempotency key another request is still using: 409 {@code
   * idempotency_error} ({@code idempotency_key_in_use}), kept for nobody. stripe-java raises it as
   * an {@code ApiException} (only a 400 or 404 of that type is an {@code IdempotencyException}).
   */
  static boolean isInFlight(StripeException e) {
    return e.getStatusCode() != null
        && e.getStatusCode() == 409
        && ("idempotency_key_in_use".equals(e.getCode())
            || (e.getStripeError() != null
                && "idempotency_error".equals(e.getStripeError().getType())));
  }

  /**
   * Stripe down, slow, rate limiting or busy with our key: 503, try again. Stripe refusing what we
   * sent: 502, a fault on our side that a retry will not fix. Stripe's own text stays in our log
   * (keys redacted): it can quote the last digits of our API key, so the client gets a generic
   * detail and Stripe's request id, which is what Stripe's support asks for.
   */
  private static ProblemException failure(String what, StripeException e) {
    if (isTransient(e)) {
      log.warn(
          "Stripe could not {} a PaymentIntent (status {}, request {}): {}",
          what,
          e.getStatusCode(),
          e.getRequestId(),
          redacted(e.getMessage()));
      return ProblemException.unavailable(UNAVAILABLE, RETRY_AFTER_SECONDS);
    }
    log.error(
        "Stripe refused to {} a PaymentIntent (status {}, code {}, request {}): {}",
        what,
        e.getStatusCode(),
        e.getCode(),
        e.getRequestId(),
        redacted(e.getMessage()));
    String request = e.getRequestId() == null ? "" : " (provider request " + e.getRequestId() + ")";
    return new ProblemException(
        502,
        "Bad Gateway",
        "the payment provider did not answer as expected; retry later" + request);
  }

  /** Stripe's text without anything shaped like a key ({@code sk_live_...4242}). */
  static String redacted(String message) {
    return StripeKeys.redact(message);
  }

  /** Unreachable, failing, rate limiting, or busy with our key: the same call may work later. */
  static boolean isTransient(StripeException e) {
    if (e instanceof ApiConnectionException
        || e instanceof ApiException
        || e instanceof RateLimitException) {
      return true;
    }
    Integer status = e.getStatusCode();
    return status != null && (status >= 500 || status == 429 || status == 409);
  }

  private static void pause(Duration duration) {
    try {
      Thread.sleep(duration);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw ProblemException.unavailable("interrupted while waiting for Stripe", 1);
    }
  }
}
