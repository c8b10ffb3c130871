package io.marketplace.payments.refunds.refund;

import static org.assertj.core.api.Assertions.assertThat;

import com.stripe.StripeClient;
import com.stripe.exception.ApiConnectionException;
import com.stripe.net.ApiResource;
import com.stripe.net.HttpURLConnectionClient;
import com.stripe.net.StripeRequest;
import com.stripe.net.StripeResponse;
import io.marketplace.payments.common.refund.RefundDao;
import io.marketplace.payments.common.refund.RefundExecutor;
import io.marketplace.payments.common.refund.RefundOutcome;
import io.marketplace.payments.refunds.Harness;
import io.marketplace.payments.testsupport.Await;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Stripe's answer to a refund call settles only the attempt it was asked for. A caller that pauses
 * between Stripe's answer and our commit may come back after Stripe failed that refund and a
 * super_admin retried the record (attempt 1, a new key): its answer is not the retry's refund. (A
 * harness of its own: the refund-fail card's failures count in the worker's metrics.)
 */
class LateRefundAnswerTest {

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
  void shouldNotSettleAnAdminsRetryWithTheRefundOfTheAttemptItReplacedWhenThatAnswerComesLate()
      throws Exception {
    // Given a payment with the card whose refunds Stripe fails after creating them, and an approved
    // refund of it whose call to Stripe made refund re_A, but whose answer is held (a caller paused
    // between Stripe's answer and our commit)
    var paid = h.paidListing(UUID.randomUUID(), Duration.ofHours(2), 500, "pm_card_refundFail");
    UUID id = h.approvedRefund(paid, 500);
    HeldRefundAnswers held = new HeldRefundAnswers();
    RefundExecutor paused =
        new RefundExecutor(
            h.db().jdbi(),
            StripeClient.builder()
                .setApiKey(h.emulator().secretKey())
                .setApiBase(h.emulator().baseUrl())
                .setHttpClient(held)
                .setMaxNetworkRetries(0)
                .build(),
            Clock.systemUTC(),
            new SimpleMeterRegistry());
    CompletableFuture<RefundOutcome> late = CompletableFuture.supplyAsync(() -> paused.execute(id));
    assertThat(held.answered.await(20, TimeUnit.SECONDS)).as("Stripe answered the call").isTrue();
    String refundA = h.stripeRefunds(paid.paymentIntentId()).get(0).getId();
    // And Stripe failed re_A meanwhile (its webhook applied), and a super_admin retried the refund
    Await.until(
        Harness.WAIT,
        "the refund failed by Stripe's webhook",
        () -> "failed".equals(h.refunds(paid.paymentIntentId()).get(0).get("status")));
    assertThat(h.db().jdbi().onDemand(RefundDao.class).retryFailed(id, Instant.now())).isOne();
    h.db().awaitOutboxPublished(Harness.WAIT);
    int announced = h.paymentEvents("refund.processed", id.toString()).size();

    // When the held answer of the replaced attempt finally comes back
    held.release.countDown();
    RefundOutcome outcome = late.get(20, TimeUnit.SECONDS);

    // Then it does not settle the retry with re_A, the refund that failed: the retry still waits
    // for its own refund, and nothing more announces it processed
    assertThat(outcome.result()).isEqualTo(RefundOutcome.Result.UNCHANGED);
    assertThat(h.refunds(paid.paymentIntentId()))
        .singleElement()
        .satisfies(
            r ->
                assertThat(r)
                    .containsEntry("status", "approved")
                    .containsEntry("attempt", 1)
                    .containsEntry("stripe_refund_id", null));
    h.db().awaitOutboxPublished(Harness.WAIT);
    assertThat(h.paymentEvents("refund.processed", id.toString())).hasSize(announced);
    // And the retry's own execution asks Stripe for a refund of attempt 1, under its own key (its
    // answer may come after Stripe's webhook failing that refund too, this card's way, has settled
    // the record: then the execution changes nothing more)
    RefundOutcome retried = h.executor().execute(id);
    assertThat(retried.result())
        .isIn(RefundOutcome.Result.PROCESSED, RefundOutcome.Result.UNCHANGED);
    String refundB =
        assertThat(h.stripeRefunds(paid.paymentIntentId()))
            .filteredOn(r -> "1".equals(r.getMetadata().get(RefundExecutor.METADATA_ATTEMPT)))
            .singleElement()
            .actual()
            .getId();
    assertThat(refundB).isNotEqualTo(refundA);
    // and the record ends on that refund, failed by Stripe as this card's refunds are
    Await.until(
        Harness.WAIT,
        "the retry's refund failed by Stripe's webhook",
        () -> "failed".equals(h.refunds(paid.paymentIntentId()).get(0).get("status")));
    assertThat(h.refunds(paid.paymentIntentId()))
        .singleElement()
        .satisfies(
            r ->
                assertThat(r)
                    .containsEntry("attempt", 1)
                    .containsEntry("stripe_refund_id", refundB));
  }

  /** Stripe's answers to refund creations, held until {@link #release} opens. */
  private static final class HeldRefundAnswers extends HttpURLConnectionClient {
    final CountDownLatch answered = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);

    @Override
    public StripeResponse request(StripeRequest request) throws ApiConnectionException {
      StripeResponse response = super.request(request);
      if (request.method() == ApiResource.RequestMethod.POST
          && request.url().getPath().equals("/v1/refunds")) {
        answered.countDown();
        try {
          release.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      return response;
    }
  }
}
