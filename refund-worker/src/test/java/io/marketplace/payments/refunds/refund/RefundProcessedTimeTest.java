package io.marketplace.payments.refunds.refund;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.stripe.model.Refund;
import io.marketplace.payments.common.refund.RefundExecutor;
import io.marketplace.payments.common.refund.RefundOutcome;
import io.marketplace.payments.refunds.Harness;
import io.marketplace.payments.refunds.StripeFixtures;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code refund.processed} is dated by Stripe's own time of the refund (the Refund's {@code
 * created}), not by when we recorded it: downstream services take {@code occurredAt} as the time of
 * the fact. Whichever path records it first (our call's answer or Stripe's webhook), it is one
 * event, under one id, with that time. (A harness of its own: the tests move the worker's clock.)
 */
class RefundProcessedTimeTest {

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
  void shouldDateRefundProcessedByStripesRefundWhenOurCallsAnswerIsRecordedLate() {
    // Given an approved refund, executed by a worker whose clock is two hours past Stripe's (a
    // janitor's pass recording a refund hours after it was made tells the same story)
    var paid = h.paidListing(Duration.ofDays(2));
    UUID id = h.approvedRefund(paid, 500);
    h.advanceClock(Duration.ofHours(2));
    h.webhooks().hold(e -> e.paymentIntentId().orElse("").equals(paid.paymentIntentId()));

    // When the executor refunds it, and Stripe's webhooks about the same refund arrive after
    RefundOutcome outcome = h.executor().execute(id);
    assertThat(h.webhooks().release()).isPositive();
    h.awaitStripeEventsApplied();

    // Then refund.processed is announced once, dated by the refund's time at Stripe
    assertThat(outcome.result()).isEqualTo(RefundOutcome.Result.PROCESSED);
    Refund atStripe = h.stripeRefunds(paid.paymentIntentId()).get(0);
    Instant created = Instant.ofEpochSecond(atStripe.getCreated());
    JsonNode event = h.awaitPaymentEvent("refund.processed", id.toString());
    assertThat(h.paymentEvents("refund.processed", id.toString())).hasSize(1);
    assertThat(Instant.parse(event.path("occurredAt").asText())).isEqualTo(created);
    assertThat(Instant.parse(event.path("data").path("processedAt").asText())).isEqualTo(created);
    assertThat(event.path("data").path("stripeRefundId").asText()).isEqualTo(atStripe.getId());
  }

  @Test
  void shouldDateRefundProcessedByStripesRefundWhenItsWebhookIsDeliveredLateAndBeatsOurAnswer() {
    // Given an approved refund that Stripe made three hours ago, whose call's answer never came
    // back, and whose refund.created Stripe delivers only now
    var paid = h.paidListing(Duration.ofDays(2));
    UUID id = h.approvedRefund(paid, 500);
    Instant created = Instant.now().minus(Duration.ofHours(3)).truncatedTo(ChronoUnit.SECONDS);
    Map<String, Object> refund =
        StripeFixtures.refund(
            StripeFixtures.newId("re"),
            paid.paymentIntentId(),
            500,
            "succeeded",
            Map.of(RefundExecutor.METADATA_REFUND_ID, id.toString()));
    refund.put("created", created.getEpochSecond());
    String delivered = StripeFixtures.event("refund.created", refund);

    // When the webhook is applied, Stripe delivers it again, and the executor comes by after
    h.webhooks().publish(delivered);
    h.webhooks().publish(StripeFixtures.withNewEventId(delivered, "refund.updated"));
    h.awaitStripeEventsApplied();
    RefundOutcome outcome = h.executor().execute(id);

    // Then the record is processed once, announced once, dated by the refund's time at Stripe
    assertThat(outcome.result()).isEqualTo(RefundOutcome.Result.UNCHANGED);
    assertThat(h.refunds(paid.paymentIntentId()))
        .singleElement()
        .satisfies(r -> assertThat(r).containsEntry("status", "processed"));
    JsonNode event = h.awaitPaymentEvent("refund.processed", id.toString());
    assertThat(h.paymentEvents("refund.processed", id.toString())).hasSize(1);
    assertThat(Instant.parse(event.path("occurredAt").asText())).isEqualTo(created);
    assertThat(Instant.parse(event.path("data").path("processedAt").asText())).isEqualTo(created);
  }
}
