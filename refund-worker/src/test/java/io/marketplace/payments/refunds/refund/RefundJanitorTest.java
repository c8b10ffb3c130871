package io.marketplace.payments.refunds.refund;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.marketplace.payments.refunds.Harness;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The janitor's round against the real database: its catch-up passes, each on its own. */
class RefundJanitorTest {

  private static Harness h;

  @BeforeAll
  static void start() {
    h = new Harness();
  }

  @AfterAll
  static void stop() {
    h.close();
  }

  @Test
  void shouldRunEveryPassOfTheRoundWhenOneFailsAndThenReportTheFailure() {
    // Given a janitor whose first catch-up pass fails (a deadlock with a worker's batch) and whose
    // second has work to do
    AtomicInteger secondRan = new AtomicInteger();
    RuntimeException deadlock = new IllegalStateException("deadlock detected");
    try (RefundJanitor janitor =
        new RefundJanitor(
            h.db().jdbi(),
            h.executor(),
            Clock.systemUTC(),
            Duration.ofMinutes(10),
            Duration.ofHours(1),
            List.of(
                () -> {
                  throw deadlock;
                },
                secondRan::incrementAndGet),
            new SimpleMeterRegistry())) {

      // When a round runs, then it reports the failure for the next round to retry
      assertThatThrownBy(janitor::runOnce).isSameAs(deadlock);
      // And the second pass still had its round
      assertThat(secondRan).hasValue(1);
    }
  }

  @Test
  void shouldCountAPassThatFailsInMetrics() {
    // Given a database where a pass's table is missing (a migration not run)
    h.db().execute("ALTER TABLE refunds_awaiting_payment RENAME TO refunds_awaiting_payment_gone");
    try {
      // When the worker's janitor has its round
      assertThatThrownBy(h::retryNow).hasMessageContaining("refunds_awaiting_payment");
    } finally {
      h.db()
          .execute("ALTER TABLE refunds_awaiting_payment_gone RENAME TO refunds_awaiting_payment");
    }

    // Then /metrics counts the failure of that part (the janitor's own round may have met it too),
    // for the alert that fires when it keeps failing
    assertThat(h.metrics())
        .containsPattern(
            "(?m)^payments_refunds_janitor_failures_total\\{[^}]*pass=\"RefundsAwaitingPayment\"[^}]*\\} [1-9][0-9]*\\.0$");
  }

  @Test
  void shouldShowHowLongTheOldestRefundOfEachStatusHasWaited() {
    // Given a refund requested 4 days ago that no super_admin has decided
    var paid = h.paidListing(Duration.ofDays(5));
    refund(paid, "pending", h.now().minus(Duration.ofDays(4)), null);
    // and one requested 3 days ago, approved by an admin 2 hours ago, still not made at Stripe
    UUID approved = refund(paid, "approved", h.now().minus(Duration.ofDays(3)), null);
    h.db()
        .execute(
            """
            INSERT INTO refund_decisions (refund_id, decision, decided_by, decided_at)
            VALUES (?, 'approved', ?, ?)
            """,
            approved,
            UUID.randomUUID(),
            h.now().minus(Duration.ofHours(2)));
    // and one that failed at Stripe 30 hours ago, which no admin has retried or closed, and an
    // older one an admin closed
    refund(paid, "failed", h.now().minus(Duration.ofDays(2)), h.now().minus(Duration.ofHours(30)));
    UUID closed =
        refund(
            paid, "failed", h.now().minus(Duration.ofDays(4)), h.now().minus(Duration.ofDays(3)));
    h.db()
        .execute(
            "UPDATE payment_refunds SET closed_at = ?, close_reason = 'paid by bank transfer'"
                + " WHERE id = ?",
            h.now(),
            closed);

    // When the janitor has its round
    h.retryNow();

    // Then /metrics shows each one's wait, from what it waits for, for the alerts
    assertThat(oldestAge("pending")).isBetween(4 * 86400.0, 4 * 86400.0 + 120);
    assertThat(oldestAge("approved")).isBetween(2 * 3600.0, 2 * 3600.0 + 120);
    assertThat(oldestAge("failed")).isBetween(30 * 3600.0, 30 * 3600.0 + 120);

    // When they are settled, then none waits
    h.db().execute("DELETE FROM refund_decisions");
    h.db().execute("DELETE FROM payment_refunds");
    h.retryNow();
    assertThat(oldestAge("pending")).isZero();
    assertThat(oldestAge("approved")).isZero();
    assertThat(oldestAge("failed")).isZero();
  }

  /**
   * A user_request refund of 100 cents of {@code paid} in {@code status}, requested at {@code
   * createdAt}, last touched now (so that the janitor does not retry an approved one now).
   */
  private static UUID refund(
      Harness.Paid paid, String status, Instant createdAt, Instant failedAt) {
    UUID id = UUID.randomUUID();
    h.db()
        .execute(
            """
            INSERT INTO payment_refunds
                (id, user_id, listing_id, stripe_payment_intent_id, amount_cents, reason, status,
                 created_at, updated_at, failed_at)
            VALUES (?, ?, ?, ?, 100, 'user_request', ?, ?, ?, ?)
            """,
            id,
            paid.userId(),
            paid.listingId(),
            paid.paymentIntentId(),
            status,
            createdAt,
            h.now(),
            failedAt);
    return id;
  }

  private static double oldestAge(String status) {
    Matcher value =
        Pattern.compile(
                "(?m)^payments_refunds_oldest_age_seconds\\{[^}]*status=\""
                    + status
                    + "\"[^}]*} (\\S+)$")
            .matcher(h.metrics());
    assertThat(value.find()).as("payments_refunds_oldest_age_seconds served").isTrue();
    return Double.parseDouble(value.group(1));
  }
}
