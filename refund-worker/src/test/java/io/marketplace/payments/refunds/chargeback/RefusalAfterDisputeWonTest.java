package io.marketplace.payments.refunds.chargeback;

import static org.assertj.core.api.Assertions.assertThat;

import com.stripe.exception.ApiConnectionException;
import com.stripe.net.ApiResource;
import com.stripe.net.HttpURLConnectionClient;
import com.stripe.net.StripeRequest;
import com.stripe.net.StripeResponse;
import io.marketplace.payments.refunds.Harness;
import io.marketplace.payments.testsupport.Await;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A rejection's refund that Stripe refuses for a chargeback we have not heard of yet, whose answer
 * comes back only after the dispute's win was applied: the win found the refund still on its way
 * and had nothing to ask again, and no later event comes. The janitor asks again. (A harness of its
 * own: its worker's Stripe client holds the first refund's answer, and its janitor runs only when
 * the test asks.)
 */
class RefusalAfterDisputeWonTest {

  private static final HeldFirstRefundAnswer held = new HeldFirstRefundAnswer();
  private static Harness h;

  @BeforeAll
  static void start() {
    h =
        new Harness(
            Duration.ofMinutes(10), Duration.ofSeconds(20), stripe -> stripe.setHttpClient(held));
  }

  @AfterAll
  static void stop() {
    held.release.countDown();
    h.close();
  }

  @Test
  void shouldRefundARejectionWhoseRefusalForTheDisputeIsRecordedAfterItsWin() throws Exception {
    // Given a posting fee paid an hour ago whose chargeback opened at Stripe, its events delayed
    var paid = h.paidListing(Duration.ofHours(1));
    h.webhooks().hold(e -> e.type().startsWith("charge.dispute."));
    String disputeId = h.emulator().openDispute(paid.paymentIntentId());
    // and a rejection whose refund Stripe refuses for the open chargeback, the answer held
    h.reject(paid.listingId(), h.now());
    assertThat(held.answered.await(20, TimeUnit.SECONDS)).as("Stripe answered the call").isTrue();

    // When the dispute is won and its events applied while the refusal is on its way
    h.emulator().closeDispute(disputeId, "won");
    h.webhooks().release();
    Await.until(
        Harness.WAIT,
        "the dispute's win forwarded",
        () -> !h.webhooks().forwarded("charge.dispute.funds_reinstated", disputeId).isEmpty());
    h.awaitStripeEventsApplied();
    // and the refusal then recorded
    held.release.countDown();
    Map<String, Object> refused = h.awaitRefund(paid.paymentIntentId(), "failed");
    assertThat(refused).containsEntry("failure_reason", "charge_disputed");

    // Then the janitor asks again, and the customer gets the rejection's refund once
    Map<String, Object> refund =
        Await.value(
            Harness.WAIT,
            "the refused refund processed",
            () -> {
              h.retryNow();
              return h.refunds(paid.paymentIntentId()).stream()
                  .filter(r -> refused.get("id").equals(r.get("id")))
                  .filter(r -> "processed".equals(r.get("status")))
                  .findFirst();
            });
    assertThat(h.stripeRefunds(paid.paymentIntentId()))
        .singleElement()
        .satisfies(
            r -> {
              assertThat(r.getId()).isEqualTo(refund.get("stripe_refund_id"));
              assertThat(r.getAmount()).isEqualTo(500L);
            });
    assertThat(h.paymentEvents("refund.processed", refund.get("id").toString())).hasSize(1);
    // and a later round asks nothing more
    h.retryNow();
    assertThat(h.stripeRefunds(paid.paymentIntentId())).hasSize(1);
  }

  /** Holds Stripe's answer to the first refund creation until {@link #release} opens. */
  private static final class HeldFirstRefundAnswer extends HttpURLConnectionClient {
    final CountDownLatch answered = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);
    private final AtomicBoolean first = new AtomicBoolean(true);

    @Override
    public StripeResponse request(StripeRequest request) throws ApiConnectionException {
      StripeResponse response = super.request(request);
      if (request.method() == ApiResource.RequestMethod.POST
          && request.url().getPath().equals("/v1/refunds")
          && first.compareAndSet(true, false)) {
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
