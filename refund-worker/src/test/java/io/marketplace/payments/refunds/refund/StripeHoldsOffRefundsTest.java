package io.marketplace.payments.refunds.refund;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.common.refund.RefundExecutor;
import io.marketplace.payments.common.refund.RefundOutcome;
import io.marketplace.payments.refunds.Harness;
import io.marketplace.payments.stripeemulator.http.ApiFaults;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Stripe holding a refund off (429: over the rate limit, or the object locked) or refusing our key
 * (403: a restricted key without the permission; 401: a rolled or revoked key) answers before it
 * does anything. None of it is the refund's failure: the record stays {@code approved}, nothing is
 * announced as failed, and the janitor makes it once Stripe lets it through. A refusal of the key
 * is an operator's to fix, so it is stored as Stripe's refusal and counted apart, for the alert.
 */
class StripeHoldsOffRefundsTest {

  private static final String CREATE_REFUND = "POST /v1/refunds";

  private static Harness h;

  @BeforeAll
  static void start() {
    h = new Harness();
  }

  @AfterAll
  static void stop() {
    h.close();
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ApiFaults.Kind.class)
  void shouldKeepTheRefundApprovedAndMakeItOnTheJanitorsRetryWhenStripeHoldsOffOrRefusesOurKey(
      ApiFaults.Kind kind) {
    // Given an approved refund, and Stripe answering its creation with kind
    var paid = h.paidListing(Duration.ofHours(1));
    UUID id = h.approvedRefund(paid, 400);
    double refusedBefore = refusals();
    h.emulator().failNextApiCalls(CREATE_REFUND, 1, kind);

    // When it is executed
    RefundOutcome outcome = h.executor().execute(id);

    // Then it waits approved with Stripe's answer: not failed, nothing refunded, nothing announced
    boolean keyRefused = kind == ApiFaults.Kind.PERMISSION || kind == ApiFaults.Kind.AUTHENTICATION;
    assertThat(outcome.result()).isEqualTo(RefundOutcome.Result.FAILED);
    assertThat(outcome.refund().status().wire()).isEqualTo("approved");
    assertThat(outcome.refund().lastError())
        .contains("HTTP " + (keyRefused ? (kind == ApiFaults.Kind.PERMISSION ? 403 : 401) : 429));
    assertThat(h.stripeRefunds(paid.paymentIntentId())).isEmpty();
    assertThat(h.paymentEvents("refund.failed", id.toString())).isEmpty();
    // a refusal of our key is told as Stripe's refusal, retried rarely and counted for operators;
    // a 429 clears by itself and is retried at the janitor's pace
    assertThat(outcome.refund().lastError().startsWith(RefundExecutor.REFUSED))
        .as(outcome.refund().lastError())
        .isEqualTo(keyRefused);
    assertThat(outcome.retryable()).isEqualTo(!keyRefused);
    assertThat(refusals() - refusedBefore).isEqualTo(keyRefused ? 1.0 : 0.0);

    // When the janitor's next pass finds it, Stripe letting it through now
    h.db()
        .execute(
            "UPDATE payment_refunds SET updated_at = now() - interval '1 day' WHERE id = ?", id);
    assertThat(h.retryNow()).isEqualTo(1);

    // Then it is refunded once, and processed
    assertThat(h.stripeRefunds(paid.paymentIntentId()))
        .singleElement()
        .satisfies(r -> assertThat(r.getAmount()).isEqualTo(400L));
    assertThat(h.refunds(paid.paymentIntentId()))
        .singleElement()
        .satisfies(r -> assertThat(r).containsEntry("status", "processed"));
  }

  @Test
  void shouldStopTheJanitorsRoundAtTheFirstRefundStripeHoldsOffAndMakeTheRestNextRound() {
    // Given three approved refunds due for the janitor, and Stripe over its rate limit for a while
    List<Harness.Paid> paid = new ArrayList<>();
    List<UUID> ids = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      paid.add(h.paidListing(Duration.ofHours(1)));
      ids.add(h.approvedRefund(paid.getLast(), 300));
    }
    makeDue(ids);
    h.emulator().failNextApiCalls(CREATE_REFUND, 3, ApiFaults.Kind.RATE_LIMIT);

    // When the janitor runs a round
    int tried = h.retryNow();

    // Then it stops at the first 429: one call to Stripe, not one per refund, and none refunded
    assertThat(tried).isEqualTo(1);
    assertThat(h.emulator().armedApiFailures()).isEqualTo(2);
    for (int i = 0; i < 3; i++) {
      assertThat(h.stripeRefunds(paid.get(i).paymentIntentId())).isEmpty();
    }

    // And when Stripe lets calls through again, the next rounds make each of them once
    h.emulator().clearApiFailures();
    makeDue(ids);
    assertThat(h.retryNow()).isEqualTo(3);
    for (int i = 0; i < 3; i++) {
      assertThat(h.stripeRefunds(paid.get(i).paymentIntentId()))
          .singleElement()
          .satisfies(r -> assertThat(r.getAmount()).isEqualTo(300L));
      assertThat(h.refunds(paid.get(i).paymentIntentId()))
          .singleElement()
          .satisfies(r -> assertThat(r).containsEntry("status", "processed"));
    }
  }

  private static void makeDue(List<UUID> ids) {
    for (UUID id : ids) {
      h.db()
          .execute(
              "UPDATE payment_refunds SET updated_at = now() - interval '1 day' WHERE id = ?", id);
    }
  }

  /** {@code payments_refunds_stripe_failures_total{kind="refused"}} on the worker's metrics. */
  private static double refusals() {
    return h.metrics()
        .lines()
        .filter(
            line ->
                line.startsWith("payments_refunds_stripe_failures_total{")
                    && line.contains("kind=\"refused\""))
        .mapToDouble(line -> Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)))
        .sum();
  }
}
