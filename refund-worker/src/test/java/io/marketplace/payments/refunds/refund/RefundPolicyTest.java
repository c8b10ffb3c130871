package io.marketplace.payments.refunds.refund;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.common.refund.RefundStatus;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class RefundPolicyTest {

  private static final Instant PAID = Instant.parse("2026-03-01T10:00:00Z");

  @Test
  void shouldRefundAtOnceWhenDecidedWithin24Hours() {
    // Given a payment, When it is rejected an hour later, Then it is refunded at once
    assertThat(RefundPolicy.initialStatus(PAID, PAID.plus(Duration.ofHours(1))))
        .isEqualTo(RefundStatus.APPROVED);
  }

  @Test
  void shouldRefundAtOnceWhenDecidedExactly24HoursLater() {
    assertThat(RefundPolicy.initialStatus(PAID, PAID.plus(Duration.ofHours(24))))
        .isEqualTo(RefundStatus.APPROVED);
  }

  @Test
  void shouldWaitForReviewWhenDecidedAfter24Hours() {
    assertThat(RefundPolicy.initialStatus(PAID, PAID.plus(Duration.ofHours(24)).plusSeconds(1)))
        .isEqualTo(RefundStatus.PENDING);
    assertThat(RefundPolicy.initialStatus(PAID, PAID.plus(Duration.ofHours(25))))
        .isEqualTo(RefundStatus.PENDING);
  }

  @Test
  void shouldRefundAtOnceWhenTheDecisionIsStampedBeforeThePayment() {
    // Given another service's clock a little behind ours
    assertThat(RefundPolicy.initialStatus(PAID, PAID.minusSeconds(5)))
        .isEqualTo(RefundStatus.APPROVED);
  }

  @Test
  void shouldRefundOnlyWhatIsLeftWhenPartOfThePaymentWentBack() {
    assertThat(RefundPolicy.refundable(500, 0)).isEqualTo(500);
    assertThat(RefundPolicy.refundable(500, 200)).isEqualTo(300);
    assertThat(RefundPolicy.refundable(500, 500)).isZero();
    assertThat(RefundPolicy.refundable(500, 700)).isZero();
  }

  @Test
  void shouldAllowOnlyTheTransitionsOfTheRefundStateMachine() {
    assertThat(RefundStatus.PENDING.canMoveTo(RefundStatus.APPROVED)).isTrue();
    assertThat(RefundStatus.PENDING.canMoveTo(RefundStatus.REJECTED)).isTrue();
    assertThat(RefundStatus.APPROVED.canMoveTo(RefundStatus.PROCESSED)).isTrue();
    assertThat(RefundStatus.PENDING.canMoveTo(RefundStatus.PROCESSED)).isFalse();
    assertThat(RefundStatus.REJECTED.canMoveTo(RefundStatus.APPROVED)).isFalse();
    assertThat(RefundStatus.PROCESSED.canMoveTo(RefundStatus.PENDING)).isFalse();
  }
}
