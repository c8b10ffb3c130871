package io.marketplace.payments.refunds.refund;

import static org.assertj.core.api.Assertions.assertThat;

import com.stripe.exception.ApiConnectionException;
import com.stripe.net.HttpURLConnectionClient;
import com.stripe.net.StripeRequest;
import com.stripe.net.StripeResponse;
import io.marketplace.payments.refunds.Harness;
import io.marketplace.payments.testsupport.Await;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The janitor's round while Stripe does not answer: its retries of approved refunds are bounded in
 * time, so the catch-up passes that need only PostgreSQL (a dispute to count, a refund to record)
 * still have their round every few seconds.
 */
class RefundJanitorSlowStripeTest {

  private static final int HELD_CALLS = 15;

  private static final Duration READ_TIMEOUT = Duration.ofSeconds(1);

  /** Whether Stripe holds every cancellation of a PaymentIntent past our read timeout. */
  private static final AtomicBoolean cancelsHeld = new AtomicBoolean();

  private static final AtomicInteger cancelCalls = new AtomicInteger();

  private static Harness h;

  @BeforeAll
  static void start() {
    // a janitor round every second; a call to Stripe gives up after 1 s
    h =
        new Harness(
            Duration.ofSeconds(1),
            READ_TIMEOUT,
            stripe -> stripe.setHttpClient(new CancellationsHeld()));
  }

  @AfterEach
  void releaseStripe() {
    h.emulator().clearRefundFailures();
    cancelsHeld.set(false);
  }

  @AfterAll
  static void stop() {
    h.close();
  }

  @Test
  void shouldCountADisputeWhoseRowCameWhileStripeHoldsEveryRefundCall() {
    // Given a user's payment, succeeded at Stripe, disputed before its payments row exists
    Disputed disputed = disputedBeforeItsRow();
    UUID user = disputed.user();
    UUID listing = disputed.listing();
    String pi = disputed.paymentIntentId();
    String disputeId = disputed.disputeId();

    // and a Stripe that holds every refund call past our timeout, with approved refunds waiting
    // for the janitor to retry them
    h.emulator().hangNextRefunds(1000, Duration.ofSeconds(3));
    String[] paid = new String[HELD_CALLS];
    for (int i = 0; i < HELD_CALLS; i++) {
      paid[i] = h.paidListing(Duration.ofHours(1)).paymentIntentId();
    }
    // approved a while ago, all in one statement: one janitor round finds them all due
    h.db()
        .execute(
            """
            INSERT INTO payment_refunds
                (id, user_id, listing_id, stripe_payment_intent_id, amount_cents, reason, status,
                 created_at, updated_at)
            SELECT gen_random_uuid(), user_id, listing_id, stripe_payment_intent_id, 100,
                   'user_request', 'approved', now() - interval '1 hour', now() - interval '1 hour'
            FROM payments WHERE stripe_payment_intent_id = ANY(?)
            """,
            (Object) paid);
    Await.until(
        Harness.WAIT,
        "the janitor retrying the approved refunds",
        () -> h.db().count("payment_refunds WHERE first_attempted_at IS NOT NULL") > 0);

    // When the payment's row appears (rebuilt by the payment processor)
    h.recordPayment(pi, user, listing, 500, "posting_fee", h.now().minus(Duration.ofHours(2)));

    // Then the janitor counts the chargeback within seconds, not after it has waited on Stripe
    // for each of the approved refunds in turn
    Await.until(
        Duration.ofSeconds(10),
        "the chargeback of " + disputeId + " recorded for its user",
        () ->
            h.db()
                    .count(
                        "payment_refunds WHERE stripe_dispute_id = ? AND user_id = ?",
                        disputeId,
                        user)
                == 1);
    assertThat(h.db().count("payment_refunds WHERE status = 'approved'"))
        .as("approved refunds still waiting for Stripe")
        .isPositive();
  }

  @Test
  void shouldCountADisputeWhoseRowCameWhileStripeHoldsEveryCancellation() {
    // Given a user's payment, succeeded at Stripe, disputed before its payments row exists
    Disputed disputed = disputedBeforeItsRow();

    // and a banned user with PaymentIntents still open, whose cancellations Stripe holds past our
    // timeout
    UUID banned = UUID.randomUUID();
    h.db().execute("INSERT INTO users (id) VALUES (?)", banned);
    cancelsHeld.set(true);
    h.db()
        .execute(
            """
            INSERT INTO payments
                (stripe_payment_intent_id, listing_id, user_id, payment_type, amount_cents, status)
            SELECT 'pi_held_' || replace(gen_random_uuid()::text, '-', ''), gen_random_uuid(), ?,
                   'posting_fee', 500, 'requires_payment'
            FROM generate_series(1, ?)
            """,
            banned,
            HELD_CALLS);
    // banned once all are there: one janitor round finds them all
    h.db().execute("UPDATE users SET banned_at = now(), ban_reason = 'test' WHERE id = ?", banned);
    int before = cancelCalls.get();
    Await.until(
        Harness.WAIT,
        "the janitor cancelling the banned user's PaymentIntents",
        () -> cancelCalls.get() > before);

    // When the disputed payment's row appears (rebuilt by the payment processor)
    h.recordPayment(
        disputed.paymentIntentId(),
        disputed.user(),
        disputed.listing(),
        500,
        "posting_fee",
        h.now().minus(Duration.ofHours(2)));

    // Then the janitor counts the chargeback within seconds, not after it has waited on Stripe
    // for each of the cancellations in turn
    Await.until(
        Duration.ofSeconds(10),
        "the chargeback of " + disputed.disputeId() + " recorded for its user",
        () ->
            h.db()
                    .count(
                        "payment_refunds WHERE stripe_dispute_id = ? AND user_id = ?",
                        disputed.disputeId(),
                        disputed.user())
                == 1);
  }

  private record Disputed(UUID user, UUID listing, String paymentIntentId, String disputeId) {}

  /** A payment, succeeded at Stripe, whose dispute was recorded before its payments row exists. */
  private static Disputed disputedBeforeItsRow() {
    UUID user = UUID.randomUUID();
    UUID listing = UUID.randomUUID();
    String pi = h.charge(user, listing, 500, "posting_fee");
    String disputeId = h.emulator().openDispute(pi);
    Await.until(
        Harness.WAIT,
        "the dispute recorded without a user",
        () -> h.db().count("payment_disputes WHERE stripe_dispute_id = ?", disputeId) == 1);
    h.awaitStripeEventsApplied();
    return new Disputed(user, listing, pi, disputeId);
  }

  /**
   * stripe-java's client, but while {@link #cancelsHeld} a cancellation gets no answer within the
   * read timeout, as from a Stripe that holds the call.
   */
  private static final class CancellationsHeld extends HttpURLConnectionClient {

    @Override
    public StripeResponse request(StripeRequest request) throws ApiConnectionException {
      if (request.url().getPath().endsWith("/cancel")) {
        cancelCalls.incrementAndGet();
        if (cancelsHeld.get()) {
          try {
            Thread.sleep(READ_TIMEOUT);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          throw new ApiConnectionException("Read timed out", new SocketTimeoutException());
        }
      }
      return super.request(request);
    }
  }
}
