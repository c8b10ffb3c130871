package io.marketplace.payments.refunds.refund;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.marketplace.payments.refunds.Harness;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
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
}
