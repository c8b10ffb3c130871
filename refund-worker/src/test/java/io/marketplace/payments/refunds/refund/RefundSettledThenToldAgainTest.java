package io.marketplace.payments.refunds.refund;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import io.marketplace.payments.common.refund.RefundDao;
import io.marketplace.payments.common.refund.RefundOutcome;
import io.marketplace.payments.refunds.Harness;
import io.marketplace.payments.refunds.StripeFixtures;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Stripe telling of a payment's money after its refund settled: a dispute of a payment refunded in
 * full, and a failed dashboard refund told again after an admin's retry paid it. Neither moves any
 * more money, nor announces the refund again.
 */
class RefundSettledThenToldAgainTest {

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
  void shouldRefundNothingMoreWhenAPaymentRefundedInFullIsDisputedAndTheDisputeIsWonThenLost() {
    // Given a posting fee refunded in full by the rejection of its listing within 24 h
    var paid = h.paidListing(Duration.ofHours(1));
    String pi = paid.paymentIntentId();
    h.reject(paid.listingId(), h.now());
    UUID rejectionRefund = (UUID) h.awaitRefund(pi, "processed").get("id");

    // When the customer disputes all of it anyway, the dispute is won, and the issuer then
    // reverses the win
    String du = StripeFixtures.newId("du");
    String opened =
        StripeFixtures.event(
            "charge.dispute.created", StripeFixtures.dispute(du, pi, 500, "needs_response"));
    h.webhooks().publish(opened);
    h.awaitPaymentEvent("chargeback.recorded", du);
    h.webhooks()
        .publish(
            StripeFixtures.createdLater(
                StripeFixtures.sameDispute(opened, "charge.dispute.closed", "won"), 5));
    h.awaitStripeEventsApplied();
    h.retryNow();
    h.webhooks()
        .publish(
            StripeFixtures.createdLater(
                StripeFixtures.sameDispute(opened, "charge.dispute.closed", "lost"), 10));
    h.awaitStripeEventsApplied();
    h.retryNow();

    // Then Stripe made the one refund: the win gave back nothing the rejection still owed
    assertThat(h.stripeRefunds(pi)).hasSize(1);
    assertThat(h.refunds(pi))
        .extracting(r -> r.get("reason"), r -> r.get("status"), r -> r.get("amount_cents"))
        .containsExactlyInAnyOrder(
            tuple("moderation_rejection", "processed", 500), tuple("chargeback", "processed", 500));
    assertThat(h.paymentEvents("refund.processed", rejectionRefund.toString())).hasSize(1);
  }

  @Test
  void shouldKeepAnAdminsRetryOfAFailedDashboardRefundWhenTheDashboardRefundIsToldAgain() {
    // Given a refund of 300 made in Stripe's dashboard, which Stripe then failed
    var paid = h.paidListing(Duration.ofDays(3));
    String pi = paid.paymentIntentId();
    String dashboard = StripeFixtures.newId("re");
    String made =
        StripeFixtures.event(
            "refund.created", StripeFixtures.refund(dashboard, pi, 300, "pending", Map.of()));
    h.webhooks().publish(made);
    h.awaitStripeEventsApplied();
    Map<String, Object> failedRefund =
        StripeFixtures.refund(dashboard, pi, 300, "failed", Map.of());
    failedRefund.put("failure_reason", "declined");
    String failed = StripeFixtures.event("refund.failed", failedRefund);
    h.webhooks().publish(failed);
    UUID id = (UUID) h.awaitRefund(pi, "failed").get("id");
    // and an admin's retry of its record, which Stripe paid
    assertThat(h.db().jdbi().onDemand(RefundDao.class).retryFailed(id, Instant.now())).isOne();
    RefundOutcome retried = h.executor().execute(id);
    assertThat(retried.isProcessed()).isTrue();

    // When Stripe tells of the dashboard refund again, under new event ids and other types, the
    // failure and the earlier snapshots alike
    h.webhooks().publish(StripeFixtures.withNewEventId(made, "refund.updated"));
    h.webhooks().publish(StripeFixtures.withNewEventId(failed, "charge.refund.updated"));
    h.webhooks().publish(StripeFixtures.withNewEventId(failed));
    h.webhooks()
        .publish(
            StripeFixtures.event(
                "charge.refund.updated",
                StripeFixtures.refund(dashboard, pi, 300, "succeeded", Map.of())));
    h.awaitStripeEventsApplied();
    h.retryNow();

    // Then the record stays paid by the retry, the money went back once, and each attempt's
    // outcome was announced once
    assertThat(h.refunds(pi))
        .singleElement()
        .satisfies(
            r ->
                assertThat(r)
                    .containsEntry("status", "processed")
                    .containsEntry("attempt", 1)
                    .containsEntry("stripe_refund_id", retried.refund().stripeRefundId()));
    assertThat(h.stripeRefunds(pi)).hasSize(1);
    assertThat(h.paymentEvents("refund.failed", id.toString())).hasSize(1);
    assertThat(h.paymentEvents("refund.processed", id.toString())).hasSize(2);
  }
}
