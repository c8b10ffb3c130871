package io.marketplace.payments.refunds.refund;

import static org.assertj.core.api.Assertions.assertThat;

import com.stripe.model.Refund;
import com.stripe.net.RequestOptions;
import com.stripe.param.RefundCreateParams;
import io.marketplace.payments.common.refund.RefundExecutor;
import io.marketplace.payments.common.refund.RefundOutcome;
import io.marketplace.payments.refunds.Harness;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The shared {@link RefundExecutor} (used by this worker and by checkout-api's approval) against
 * the real database and the Stripe emulator.
 */
class RefundExecutorTest {

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
  void shouldRefundOnceWhenSeveralCallersExecuteTheSameRefundAtOnce() throws Exception {
    // Given an approved refund
    var paid = h.paidListing(Duration.ofHours(1));
    UUID id = h.approvedRefund(paid, 500);

    // When four callers (say the admin's approval and the janitor) execute it at the same moment,
    // Stripe's webhook for the refund held back so that only they race to complete the record
    h.emulator().pauseWebhooks();
    CountDownLatch go = new CountDownLatch(1);
    List<CompletableFuture<RefundOutcome>> calls = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      calls.add(
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  go.await();
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                }
                return h.executor().execute(id);
              }));
    }
    go.countDown();
    for (CompletableFuture<RefundOutcome> call : calls) {
      call.join();
    }
    // (a caller that lost the race at Stripe leaves an error the next pass clears)
    RefundOutcome nextPass = h.executor().execute(id);
    h.emulator().resumeWebhooks();

    // Then Stripe refunded once, and the record moved to processed once, announced once
    assertThat(h.stripeRefunds(paid.paymentIntentId())).hasSize(1);
    assertThat(h.refunds(paid.paymentIntentId()))
        .singleElement()
        .satisfies(
            r -> {
              assertThat(r).containsEntry("status", "processed");
              assertThat(r.get("stripe_refund_id"))
                  .isEqualTo(h.stripeRefunds(paid.paymentIntentId()).get(0).getId());
            });
    assertThat(
            Stream.concat(calls.stream().map(CompletableFuture::join), Stream.of(nextPass))
                .filter(outcome -> outcome.result() == RefundOutcome.Result.PROCESSED))
        .hasSize(1);
    assertThat(
            h.paymentEvents("refund.processed", id.toString()).stream()
                .map(event -> event.path("id").asText())
                .distinct())
        .hasSize(1);
  }

  @Test
  void shouldFindTheRefundAnEarlierAttemptMadeOnceStripeForgotTheIdempotencyKey() throws Exception {
    // Given an approved refund that an earlier attempt made at Stripe, whose answer was lost, more
    // than 24 hours ago: Stripe no longer knows its idempotency key (here: it got another one)
    var paid = h.paidListing(Duration.ofDays(3));
    UUID id = h.approvedRefund(paid, 500);
    h.emulator().pauseWebhooks();
    Refund earlier;
    try {
      earlier =
          h.stripe()
              .v1()
              .refunds()
              .create(
                  RefundCreateParams.builder()
                      .setPaymentIntent(paid.paymentIntentId())
                      .setAmount(500L)
                      .putMetadata(RefundExecutor.METADATA_REFUND_ID, id.toString())
                      .build(),
                  RequestOptions.builder().setIdempotencyKey("expired-" + id).build());
      h.db()
          .execute(
              "UPDATE payment_refunds SET last_error = ?, updated_at = now() - interval '2 days'"
                  + " WHERE id = ?",
              "no usable answer from Stripe: java.net.SocketTimeoutException: Read timed out",
              id);

      // When the janitor retries it
      RefundOutcome outcome = h.executor().execute(id);

      // Then the customer is not refunded twice: the record takes the refund Stripe already made
      assertThat(outcome.result()).isEqualTo(RefundOutcome.Result.PROCESSED);
      assertThat(outcome.refund().stripeRefundId()).isEqualTo(earlier.getId());
      assertThat(h.stripeRefunds(paid.paymentIntentId()))
          .singleElement()
          .satisfies(r -> assertThat(r.getId()).isEqualTo(earlier.getId()));
    } finally {
      h.emulator().resumeWebhooks();
    }
    assertThat(h.refunds(paid.paymentIntentId()))
        .singleElement()
        .satisfies(
            r ->
                assertThat(r)
                    .containsEntry("status", "processed")
                    .containsEntry("stripe_refund_id", earlier.getId()));
  }

  @Test
  void shouldNotCallStripeWhenTheRefundIsPending() {
    // Given a refund waiting for review
    var paid = h.paidListing(Duration.ofDays(2));
    UUID id = h.approvedRefund(paid, 500);
    h.db().execute("UPDATE payment_refunds SET status = 'pending' WHERE id = ?", id);

    // When something executes it
    RefundOutcome outcome = h.executor().execute(id);

    // Then nothing happens
    assertThat(outcome.result()).isEqualTo(RefundOutcome.Result.UNCHANGED);
    assertThat(outcome.refund().status().wire()).isEqualTo("pending");
    assertThat(h.stripeRefunds(paid.paymentIntentId())).isEmpty();
  }

  @Test
  void shouldKeepTheRefundApprovedWithTheErrorWhenStripeFailsAndCompleteItOnRetry() {
    // Given an approved refund and Stripe failing the next call
    var paid = h.paidListing(Duration.ofHours(1));
    UUID id = h.approvedRefund(paid, 300);
    h.emulator().failNextRefunds(1);

    // When it is executed
    // Then it stays approved with Stripe's 500, retryable, nothing refunded yet
    executedIntoA500(id, paid.paymentIntentId());

    // When the janitor's next pass finds it
    retryByTheJanitor(id);

    // Then it is processed, 300 cents refunded at Stripe
    assertThat(h.refunds(paid.paymentIntentId()))
        .singleElement()
        .satisfies(r -> assertThat(r).containsEntry("status", "processed"));
    assertThat(h.stripeRefunds(paid.paymentIntentId()))
        .singleElement()
        .satisfies(r -> assertThat(r.getAmount()).isEqualTo(300L));
  }

  @Test
  void shouldRefundUnderANewKeyWhenStripeKeepsItsServerErrorForTheFirstKey() {
    // Given an approved refund, and Stripe answering its call with a 500 from inside the endpoint,
    // which Stripe keeps for the Idempotency-Key and replays to every retry with it for 24 hours
    var paid = h.paidListing(Duration.ofHours(1));
    UUID id = h.approvedRefund(paid, 300);
    h.emulator().failNextRefundsKept(1, false);

    // When it is executed
    // Then it stays approved with Stripe's 500, retryable, nothing refunded yet
    executedIntoA500(id, paid.paymentIntentId());

    // When the janitor's next pass retries it with the same key, and Stripe replays its 500
    retryByTheJanitor(id);
    assertThat(h.stripeRefunds(paid.paymentIntentId())).isEmpty();

    // and the pass after that comes at once
    retryByTheJanitor(id);

    // Then it only looks for a refund the failed call may have made, and asks for none under a
    // new key yet: a 500 leaves the call's outcome unknown for a while
    assertThat(h.stripeRefunds(paid.paymentIntentId())).isEmpty();
    assertThat(h.refunds(paid.paymentIntentId()))
        .singleElement()
        .satisfies(r -> assertThat(r).containsEntry("status", "approved"));

    // When the janitor retries it once that has had time to show
    h.advanceClock(Duration.ofMinutes(11));
    retryByTheJanitor(id);

    // Then the customer gets the money then, not a day later: one refund of 300 cents, processed
    assertThat(h.stripeRefunds(paid.paymentIntentId()))
        .singleElement()
        .satisfies(r -> assertThat(r.getAmount()).isEqualTo(300L));
    assertThat(h.refunds(paid.paymentIntentId()))
        .singleElement()
        .satisfies(
            r ->
                assertThat(r)
                    .containsEntry("status", "processed")
                    .containsEntry(
                        "stripe_refund_id",
                        h.stripeRefunds(paid.paymentIntentId()).get(0).getId()));
  }

  @Test
  void shouldTakeTheRefundAKeptServerErrorHidRatherThanRefundAgain() {
    // Given an approved refund whose call Stripe carries out and then answers with a kept 500: the
    // money went back, no answer names the refund (Stripe's webhooks held back)
    var paid = h.paidListing(Duration.ofHours(1));
    UUID id = h.approvedRefund(paid, 400);
    h.emulator().failNextRefundsKept(1, true);
    h.emulator().pauseWebhooks();
    try {
      RefundOutcome failed = h.executor().execute(id);
      assertThat(failed.result()).isEqualTo(RefundOutcome.Result.FAILED);
      Refund hidden = h.stripeRefunds(paid.paymentIntentId()).get(0);

      // When the janitor's next pass retries it
      retryByTheJanitor(id);

      // Then the record takes that refund, and the customer is refunded once
      h.assertRefundedOnceAs(paid.paymentIntentId(), hidden.getId());
    } finally {
      h.emulator().resumeWebhooks();
    }
  }

  @Test
  void shouldEndTheRefundFailedWhenStripeRefusesTheRequestForGood() {
    // Given an approved refund of more than the payment (Stripe will refuse it)
    var paid = h.paidListing(Duration.ofHours(1));
    UUID id = h.approvedRefund(paid, 900);

    // When it is executed
    RefundOutcome outcome = h.executor().execute(id);

    // Then it ends failed with Stripe's refusal, and is never retried by the janitor
    assertThat(outcome.result()).isEqualTo(RefundOutcome.Result.ENDED_FAILED);
    assertThat(outcome.retryable()).isFalse();
    assertThat(outcome.refund().status().wire()).isEqualTo("failed");
    assertThat(outcome.refund().failureReason()).isEqualTo("invalid_request");
    assertThat(outcome.refund().lastError()).contains("greater than unrefunded amount");
    h.db()
        .execute(
            "UPDATE payment_refunds SET updated_at = now() - interval '1 day' WHERE id = ?", id);
    assertThat(h.retryNow()).isZero();
    assertThat(h.stripeRefunds(paid.paymentIntentId())).isEmpty();
  }

  /** The janitor's next pass, for a refund left approved a day ago: it retries that one. */
  private static void retryByTheJanitor(UUID id) {
    h.db()
        .execute(
            "UPDATE payment_refunds SET updated_at = now() - interval '1 day' WHERE id = ?", id);
    assertThat(h.retryNow()).isEqualTo(1);
  }

  /**
   * Executes the refund against a Stripe that answers 500: the record stays approved with the
   * error, retryable, and nothing is refunded.
   */
  private static void executedIntoA500(UUID id, String paymentIntentId) {
    RefundOutcome failed = h.executor().execute(id);
    assertThat(failed.result()).isEqualTo(RefundOutcome.Result.FAILED);
    assertThat(failed.retryable()).isTrue();
    assertThat(failed.refund().status().wire()).isEqualTo("approved");
    assertThat(failed.refund().lastError()).contains("HTTP 500");
    assertThat(h.stripeRefunds(paymentIntentId)).isEmpty();
  }
}
