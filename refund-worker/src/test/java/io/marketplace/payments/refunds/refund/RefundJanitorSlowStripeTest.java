package io.marketplace.payments.refunds.refund;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.refunds.Harness;
import io.marketplace.payments.testsupport.Await;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The janitor's round while Stripe does not answer: its retries of approved refunds are bounded in
 * time, so the catch-up passes that need only PostgreSQL (a dispute to count, a refund to record)
 * still have their round every few seconds.
 */
class RefundJanitorSlowStripeTest {

  private static final int APPROVED = 15;

  private static Harness h;

  @BeforeAll
  static void start() {
    // a janitor round every second; a call to Stripe gives up after 1 s
    h = new Harness(Duration.ofSeconds(1), Duration.ofSeconds(1));
  }

  @AfterAll
  static void stop() {
    h.close();
  }

  @Test
  void shouldCountADisputeWhoseRowCameWhileStripeHoldsEveryRefundCall() {
    // Given a user's payment, succeeded at Stripe, disputed before its payments row exists
    UUID user = UUID.randomUUID();
    UUID listing = UUID.randomUUID();
    String pi = h.charge(user, listing, 500, "posting_fee");
    String disputeId = h.emulator().openDispute(pi);
    Await.until(
        Harness.WAIT,
        "the dispute recorded without a user",
        () -> h.db().count("payment_disputes WHERE stripe_dispute_id = ?", disputeId) == 1);
    h.awaitStripeEventsApplied();

    // and a Stripe that holds every refund call past our timeout, with approved refunds waiting
    // for the janitor to retry them
    h.emulator().hangNextRefunds(1000, Duration.ofSeconds(3));
    String[] paid = new String[APPROVED];
    for (int i = 0; i < APPROVED; i++) {
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
        Duration.ofSeconds(6),
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
}
