package io.marketplace.payments.processor.payment;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** The life of a payment as Stripe's events move it, without I/O. */
class PaymentRowTest {

  private static final Instant AT = Instant.parse("2026-03-02T09:59:30Z");

  @Test
  void shouldSucceedOnceWhenSuccessIsReportedTwice() {
    // Given an unpaid payment
    PaymentRow payment = row("requires_payment");

    // When Stripe reports its success twice
    boolean first = payment.succeed(AT);
    boolean second = payment.succeed(AT.plusSeconds(5));

    // Then only the first counts, with its time
    assertThat(first).isTrue();
    assertThat(second).isFalse();
    assertThat(payment.succeededAt()).isEqualTo(AT);
    assertThat(payment.changed()).isTrue();
  }

  @Test
  void shouldNeverLeaveSucceededWhenFailureOrCancellationArrivesLate() {
    // Given a payment that succeeded
    PaymentRow payment = row("succeeded");

    // When a failure and a cancellation arrive out of order
    // Then neither moves it
    assertThat(payment.fail("ch_1", "Your card was declined.", AT)).isFalse();
    assertThat(payment.cancel()).isFalse();
    assertThat(payment.status()).isEqualTo("succeeded");
    assertThat(payment.changed()).isFalse();
  }

  @Test
  void shouldRecordEachFailedAttemptAndStillSucceedWhenTheUserRetries() {
    // Given a payment whose first two attempts are declined
    PaymentRow payment = row("requires_payment");
    assertThat(payment.fail("ch_1", "Your card was declined.", AT)).isTrue();
    assertThat(payment.fail("ch_2", "Your card has insufficient funds.", AT.plusSeconds(30)))
        .isTrue();

    // When the third attempt succeeds
    // Then the payment succeeded, keeping the last failure message for the record
    assertThat(payment.succeed(AT)).isTrue();
    assertThat(payment.status()).isEqualTo("succeeded");
    assertThat(payment.failureMessage()).isEqualTo("Your card has insufficient funds.");
  }

  @Test
  void shouldRecordAnAttemptReportedTwiceOnce() {
    // Given a payment whose attempt ch_1 was declined
    PaymentRow payment = row("requires_payment");
    assertThat(payment.fail("ch_1", "Your card was declined.", AT)).isTrue();

    // When the same attempt is reported again, then another
    // Then the repeat changes nothing and the other is recorded
    assertThat(payment.fail("ch_1", "Your card was declined.", AT.plusSeconds(1))).isFalse();
    assertThat(payment.fail("ch_2", "Your card has insufficient funds.", AT.plusSeconds(30)))
        .isTrue();
    assertThat(payment.failedAttempt()).isEqualTo("ch_2");
  }

  @Test
  void shouldKeepTheLaterAttemptWhenAnEarlierOneIsReportedAgainAfterIt() {
    // Given a payment whose attempts ch_1 then ch_2 were declined
    PaymentRow payment = row("requires_payment");
    assertThat(payment.fail("ch_1", "Your card was declined.", AT)).isTrue();
    assertThat(payment.fail("ch_2", "Your card has insufficient funds.", AT.plusSeconds(30)))
        .isTrue();

    // When Stripe's second event about ch_1 (another event id, as old as the first) comes last
    boolean late = payment.fail("ch_1", "Your card was declined.", AT);

    // Then it changes nothing: the payment's last failure is still ch_2's
    assertThat(late).isFalse();
    assertThat(payment.failedAttempt()).isEqualTo("ch_2");
    assertThat(payment.failureMessage()).isEqualTo("Your card has insufficient funds.");
    assertThat(payment.failedAt()).isEqualTo(AT.plusSeconds(30));
  }

  @Test
  void shouldNotFailACanceledPayment() {
    PaymentRow payment = row("requires_payment");
    assertThat(payment.cancel()).isTrue();
    assertThat(payment.fail("ch_1", "late", AT)).isFalse();
    assertThat(payment.status()).isEqualTo("canceled");
  }

  private static PaymentRow row(String status) {
    return new PaymentRow(
        new Payment(
            "pi_3PtestTestTest",
            UUID.randomUUID(),
            UUID.randomUUID(),
            PaymentType.POSTING_FEE,
            500,
            "usd"),
        status,
        "succeeded".equals(status) ? AT.minusSeconds(60) : null,
        null,
        null,
        null,
        false);
  }
}
