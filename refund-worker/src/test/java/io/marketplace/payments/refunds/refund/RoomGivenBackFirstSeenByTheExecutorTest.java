package io.marketplace.payments.refunds.refund;

import static org.assertj.core.api.Assertions.assertThat;

import com.stripe.StripeClient;
import com.stripe.exception.ApiConnectionException;
import com.stripe.net.ApiResource;
import com.stripe.net.HttpURLConnectionClient;
import com.stripe.net.StripeRequest;
import com.stripe.net.StripeResponse;
import io.marketplace.payments.common.refund.RefundExecutor;
import io.marketplace.payments.common.refund.RefundOutcome;
import io.marketplace.payments.refunds.Harness;
import io.marketplace.payments.testsupport.Await;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * An automatic refund decided while another refund of the same payment is on its way back finds
 * nothing left, and waits for room: if Stripe fails that other refund, the money is the payment's
 * again and the waiting refund is owed. Usually Stripe's webhook tells of the failure first; here
 * our executor learns of it first (its call's answer was lost, and its retry finds the refund
 * failed at Stripe), and the webhook, delivered later, finds the failure already noted. The waiting
 * refund must not wait for ever. (A harness of its own: the refund-fail card's failures count in
 * the worker's metrics.)
 */
class RoomGivenBackFirstSeenByTheExecutorTest {

  private Harness h;

  @BeforeEach
  void start() {
    h = new Harness();
  }

  @AfterEach
  void stop() {
    h.close();
  }

  @Test
  void shouldDecideTheWaitingRefundWhenTheWebhookFindsTheFailureNotedByTheExecutor() {
    // Given a rejected listing whose refund waits for room, because an admin's refund of all of
    // the payment was on its way back; that refund failed at Stripe, and our executor was the
    // first to learn it
    String pi = executorLearnsFirstThatTheRefundBeforeItFailed();

    // When Stripe's webhooks about the failure then arrive and are applied
    assertThat(h.webhooks().release()).isPositive();
    h.awaitStripeEventsApplied();

    // Then the rejection's refund is decided: the customer is owed the 500 that did not go back
    awaitRejectionRefundOf(pi, 500);
  }

  @Test
  void shouldDecideTheWaitingRefundOnTheJanitorsPassWhenNoWebhookTellsOfTheFailure() {
    // Given the same, and Stripe's webhooks about the failure never arrive
    String pi = executorLearnsFirstThatTheRefundBeforeItFailed();

    // When the janitor makes its pass
    h.retryNow();

    // Then the rejection's refund is decided all the same
    awaitRejectionRefundOf(pi, 500);
  }

  /**
   * A payment with the card whose refunds Stripe fails after creating them; an admin's approved
   * refund of all of it; moderation rejecting the listing meanwhile, whose refund finds nothing
   * left and waits; then the admin refund's call makes the refund at Stripe but its answer is lost,
   * Stripe fails that refund, and the retry finds it failed before any webhook about this payment's
   * refunds arrives (they are held). Returns the PaymentIntent.
   */
  private String executorLearnsFirstThatTheRefundBeforeItFailed() {
    var paid = h.paidListing(UUID.randomUUID(), Duration.ofHours(2), 500, "pm_card_refundFail");
    String pi = paid.paymentIntentId();
    UUID adminRefund = h.approvedRefund(paid, 500);
    h.webhooks()
        .hold(e -> e.type().contains("refund") && e.paymentIntentId().orElse("").equals(pi));
    h.reject(paid.listingId(), h.now());
    h.awaitModerationApplied(paid.listingId(), 1);
    assertThat(waitingDecisions(pi)).as("the rejection's refund waiting for room").isOne();

    assertThat(answerLostExecutor().execute(adminRefund).result())
        .isEqualTo(RefundOutcome.Result.FAILED);
    Await.until(
        Harness.WAIT,
        "Stripe failing the admin's refund",
        () -> h.stripeRefunds(pi).stream().anyMatch(r -> "failed".equals(r.getStatus())));
    assertThat(h.executor().execute(adminRefund).result())
        .isEqualTo(RefundOutcome.Result.ENDED_FAILED);
    assertThat(waitingDecisions(pi)).as("the rejection's refund still waiting").isOne();
    return pi;
  }

  private void awaitRejectionRefundOf(String pi, int amountCents) {
    Await.untilAsserted(
        Harness.WAIT,
        "a moderation_rejection refund of the payment whose admin refund failed",
        () ->
            assertThat(h.refunds(pi))
                .filteredOn(r -> "moderation_rejection".equals(r.get("reason")))
                .singleElement()
                .satisfies(r -> assertThat(r).containsEntry("amount_cents", amountCents)));
    assertThat(waitingDecisions(pi)).isZero();
  }

  private long waitingDecisions(String pi) {
    return h.db().count("refund_decisions_awaiting_room WHERE stripe_payment_intent_id = ?", pi);
  }

  /** An executor whose refund calls reach Stripe but whose answers never come back. */
  private RefundExecutor answerLostExecutor() {
    return new RefundExecutor(
        h.db().jdbi(),
        StripeClient.builder()
            .setApiKey(h.emulator().secretKey())
            .setApiBase(h.emulator().baseUrl())
            .setHttpClient(new AnswersLost())
            .setMaxNetworkRetries(0)
            .build(),
        Clock.systemUTC(),
        new SimpleMeterRegistry());
  }

  /** Lets a refund creation through to Stripe and loses its answer, as a timeout would. */
  private static final class AnswersLost extends HttpURLConnectionClient {
    @Override
    public StripeResponse request(StripeRequest request) throws ApiConnectionException {
      StripeResponse response = super.request(request);
      if (request.method() == ApiResource.RequestMethod.POST
          && request.url().getPath().equals("/v1/refunds")) {
        throw new ApiConnectionException("read timed out (the answer was lost)");
      }
      return response;
    }
  }
}
