package io.marketplace.payments.refunds.refund;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.stripe.model.Refund;
import com.stripe.net.RequestOptions;
import com.stripe.param.RefundCreateParams;
import io.marketplace.payments.common.refund.RefundExecutor;
import io.marketplace.payments.common.refund.RefundOutcome;
import io.marketplace.payments.refunds.Harness;
import io.marketplace.payments.refunds.StripeFixtures;
import io.marketplace.payments.testsupport.Await;
import io.micrometer.core.instrument.Counter;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Refunds that do not give the money back end {@code failed}, announced and counted, never retried
 * without end nor left looking processed; and a retry long after the first attempt never refunds
 * twice.
 */
class RefundFailuresTest {

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
  void shouldEndTheRefundFailedOnceWhenStripeFailsItAfterCreatingIt() {
    // Given a listing rejected within 24 h and refunded through Stripe
    var paid = h.paidListing(Duration.ofHours(1));
    h.reject(paid.listingId(), h.now());
    Map<String, Object> processed = h.awaitRefund(paid.paymentIntentId(), "processed");
    UUID id = (UUID) processed.get("id");
    String stripeRefundId = (String) processed.get("stripe_refund_id");

    // When Stripe fails the refund: refund.failed, the same failure again as
    // charge.refund.updated, and a late refund.updated that still shows it pending
    Map<String, Object> failed =
        StripeFixtures.refund(
            stripeRefundId,
            paid.paymentIntentId(),
            500,
            "failed",
            Map.of(RefundExecutor.METADATA_REFUND_ID, id.toString()));
    failed.put("failure_reason", "expired_or_canceled_card");
    h.webhooks().publish(StripeFixtures.event("refund.failed", failed));
    h.webhooks().publish(StripeFixtures.event("charge.refund.updated", failed));
    h.webhooks()
        .publish(
            StripeFixtures.event(
                "refund.updated",
                StripeFixtures.refund(
                    stripeRefundId,
                    paid.paymentIntentId(),
                    500,
                    "pending",
                    Map.of(RefundExecutor.METADATA_REFUND_ID, id.toString()))));
    h.awaitStripeEventsApplied();

    // Then the refund is failed with Stripe's reason, announced once on payments.events.v1
    assertThat(h.refunds(paid.paymentIntentId()))
        .singleElement()
        .satisfies(
            r ->
                assertThat(r)
                    .containsEntry("status", "failed")
                    .containsEntry("failure_reason", "expired_or_canceled_card")
                    .containsEntry("stripe_refund_id", stripeRefundId));
    assertThat(h.paymentEvents("refund.failed", id.toString()))
        .singleElement()
        .satisfies(
            event -> {
              JsonNode data = event.path("data");
              assertThat(data.path("status").asText()).isEqualTo("failed");
              assertThat(data.path("failureReason").asText()).isEqualTo("expired_or_canceled_card");
              assertThat(data.path("stripeRefundId").asText()).isEqualTo(stripeRefundId);
              assertThat(data.path("amountCents").asLong()).isEqualTo(500);
            });
    awaitFailedCount("expired_or_canceled_card", 1);
  }

  @Test
  void shouldEndTheRefundFailedWhenStripesFailureArrivesBeforeOurExecutorStoredTheRefund() {
    // Given an approved refund whose Stripe call is in flight (its answer not stored yet)
    var paid = h.paidListing(Duration.ofHours(2));
    UUID id = h.approvedRefund(paid, 500);

    // When Stripe's refund.failed for it arrives first, then its refund.created
    String stripeRefundId = StripeFixtures.newId("re");
    Map<String, String> ours = Map.of(RefundExecutor.METADATA_REFUND_ID, id.toString());
    Map<String, Object> failed =
        StripeFixtures.refund(stripeRefundId, paid.paymentIntentId(), 500, "failed", ours);
    failed.put("failure_reason", "declined");
    h.webhooks().publish(StripeFixtures.event("refund.failed", failed));
    h.webhooks()
        .publish(
            StripeFixtures.event(
                "refund.created",
                StripeFixtures.refund(
                    stripeRefundId, paid.paymentIntentId(), 500, "pending", ours)));
    h.awaitStripeEventsApplied();

    // Then the record is failed, not processed, and nothing announces it processed
    assertThat(h.refunds(paid.paymentIntentId()))
        .singleElement()
        .satisfies(
            r ->
                assertThat(r)
                    .containsEntry("status", "failed")
                    .containsEntry("failure_reason", "declined")
                    .containsEntry("stripe_refund_id", stripeRefundId));
    assertThat(h.executor().execute(id).result()).isEqualTo(RefundOutcome.Result.UNCHANGED);
    assertThat(h.paymentEvents("refund.failed", id.toString())).hasSize(1);
    assertThat(h.paymentEvents("refund.processed", id.toString())).isEmpty();
  }

  @Test
  void shouldEndTheRefundFailedAndNotRetryItWhenStripeHasNoSuchPaymentIntent() {
    // Given a paid listing whose PaymentIntent Stripe does not know (another account or mode)
    UUID userId = UUID.randomUUID();
    UUID listingId = UUID.randomUUID();
    String unknown = StripeFixtures.newId("pi");
    Instant paidAt = h.now().minus(Duration.ofHours(1));
    h.db().execute("INSERT INTO users (id) VALUES (?)", userId);
    h.db()
        .execute(
            """
            INSERT INTO marketplace_listings
                (id, user_id, category_id, title, status, payment_intent_id, activated_at,
                 expires_at)
            VALUES (?, ?, 1, 'Room to let', 'active', ?, ?, ?)
            """,
            listingId,
            userId,
            unknown,
            paidAt,
            paidAt.plus(Duration.ofDays(30)));
    h.recordPayment(unknown, userId, listingId, 500, "posting_fee", paidAt);

    // When a moderator rejects the listing (an automatic refund)
    h.reject(listingId, h.now());

    // Then Stripe's refusal ends the refund failed with its reason, announced and counted
    Map<String, Object> failed = h.awaitRefund(unknown, "failed");
    assertThat(failed).containsEntry("failure_reason", "resource_missing");
    assertThat((String) failed.get("last_error")).contains("resource_missing");
    JsonNode event = h.awaitPaymentEvent("refund.failed", failed.get("id").toString());
    assertThat(event.path("data").path("failureReason").asText()).isEqualTo("resource_missing");
    awaitFailedCount("resource_missing", 1);

    // And no janitor pass ever retries it, however late
    h.advanceClock(Duration.ofDays(2));
    assertThat(h.retryNow()).isZero();
    assertThat(h.refunds(unknown))
        .singleElement()
        .satisfies(r -> assertThat(r).containsEntry("status", "failed"));
  }

  @Test
  void shouldRecordThatTheMoneyMayHaveGoneBackWhenStripeSaysTheChargeIsAlreadyRefunded() {
    // Given a payment refunded in full in Stripe's dashboard, which we have not heard of yet
    var paid = h.paidListing(Duration.ofHours(1));
    h.emulator().pauseWebhooks();
    try {
      h.emulator().refundOutsideSystem(paid.paymentIntentId(), null);
      UUID id = h.approvedRefund(paid, 500);

      // When our refund of it is executed
      RefundOutcome outcome = h.executor().execute(id);

      // Then it ends failed, not retried, with the precise reason
      assertThat(outcome.result()).isEqualTo(RefundOutcome.Result.ENDED_FAILED);
      assertThat(outcome.refund().status().wire()).isEqualTo("failed");
      assertThat(outcome.refund().failureReason()).isEqualTo("charge_already_refunded");
      assertThat(outcome.refund().lastError()).contains("may have gone back");
      assertThat(h.retryNow()).isZero();
    } finally {
      h.emulator().resumeWebhooks();
    }
  }

  @Test
  void shouldFindTheEarlierStripeRefundWhenTheJanitorRetriesADayAfterTheFirstAttempt() {
    // Given an approved refund whose first attempt, 25 h ago, reached Stripe and whose answer was
    // lost (Stripe has since forgotten the idempotency key: here the refund was made under another)
    var paid = h.paidListing(Duration.ofDays(2));
    UUID id = h.approvedRefund(paid, 500);
    h.emulator().pauseWebhooks();
    try {
      Refund earlier = earlierAttempt(paid, id);
      Instant firstAttempt = h.now().minus(Duration.ofHours(25));
      h.db()
          .execute(
              "UPDATE payment_refunds SET first_attempted_at = ?, updated_at = ? WHERE id = ?",
              firstAttempt,
              firstAttempt,
              id);

      // When the janitor claims and retries it
      assertThat(h.retryNow()).isEqualTo(1);

      // Then the customer is refunded once: the record takes the refund Stripe already made
      h.assertRefundedOnceAs(paid.paymentIntentId(), earlier.getId());
    } finally {
      h.emulator().resumeWebhooks();
    }
  }

  private static Refund earlierAttempt(Harness.Paid paid, UUID id) {
    try {
      return h.stripe()
          .v1()
          .refunds()
          .create(
              RefundCreateParams.builder()
                  .setPaymentIntent(paid.paymentIntentId())
                  .setAmount(500L)
                  .putMetadata(RefundExecutor.METADATA_REFUND_ID, id.toString())
                  .build(),
              RequestOptions.builder().setIdempotencyKey("forgotten-" + id).build());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static void awaitFailedCount(String reason, double count) {
    Await.until(
        Harness.WAIT,
        "payments_refunds_failed_total{reason=" + reason + "} = " + count,
        () -> {
          Counter counter =
              h.worker().registry().find("payments.refunds.failed").tag("reason", reason).counter();
          return counter != null && counter.count() == count;
        });
  }
}
