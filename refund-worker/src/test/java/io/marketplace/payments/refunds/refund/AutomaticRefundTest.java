package io.marketplace.payments.refunds.refund;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.stripe.model.Refund;
import io.marketplace.payments.common.events.RefundCommand;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.kafka.RecordHeaders;
import io.marketplace.payments.common.refund.RefundExecutor;
import io.marketplace.payments.common.refund.RefundOutcome;
import io.marketplace.payments.refunds.Harness;
import io.marketplace.payments.refunds.RefundWorker;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.KafkaTestClient;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The automatic refund rule end to end: moderation decisions and refund commands on the real
 * broker, refunds at the Stripe emulator, records in PostgreSQL, events on payments.events.v1.
 */
class AutomaticRefundTest {

  private static Harness h;

  @BeforeAll
  static void start() {
    // the janitor retries every second here, so Stripe failures settle within the test; Stripe
    // calls time out after 2 s, so a held call is an unknown outcome
    h = new Harness(Duration.ofSeconds(1), Duration.ofSeconds(2));
  }

  @AfterEach
  void disarmStripeFailures() {
    h.emulator().clearRefundFailures();
  }

  @AfterAll
  static void stop() {
    h.close();
  }

  @Test
  void shouldRefundThroughStripeWhenListingIsRejectedWithin24Hours() {
    // Given a posting fee paid an hour ago
    var paid = h.paidListing(Duration.ofHours(1));

    // When moderation rejects the listing
    h.reject(paid.listingId(), h.now());

    // Then Stripe refunded the whole fee once, and our record says processed
    Map<String, Object> refund = h.awaitRefund(paid.paymentIntentId(), "processed");
    assertThat(refund)
        .containsEntry("reason", "moderation_rejection")
        .containsEntry("amount_cents", 500)
        .containsEntry("user_id", paid.userId())
        .containsEntry("listing_id", paid.listingId());
    List<Refund> atStripe = h.stripeRefunds(paid.paymentIntentId());
    assertThat(atStripe).hasSize(1);
    assertThat(atStripe.get(0).getId()).isEqualTo(refund.get("stripe_refund_id"));
    assertThat(atStripe.get(0).getAmount()).isEqualTo(500L);
    assertThat(atStripe.get(0).getMetadata())
        .containsEntry(RefundExecutor.METADATA_REFUND_ID, refund.get("id").toString());
    // and the listing is rejected, and refund.processed announced
    assertThat(h.listingStatus(paid.listingId())).isEqualTo("rejected");
    JsonNode event = h.awaitPaymentEvent("refund.processed", refund.get("id").toString());
    assertThat(event.path("data").path("stripeRefundId").asText())
        .isEqualTo(refund.get("stripe_refund_id"));
    assertThat(event.path("data").path("amountCents").asLong()).isEqualTo(500);
    h.awaitPaymentEvent("listing.rejected", paid.listingId().toString());
    // and Stripe's own refund.created for it, which came back through the webhook, made no
    // second record
    Await.until(
        Harness.WAIT,
        "Stripe's refund.created forwarded",
        () -> !h.webhooks().forwarded("refund.created", paid.paymentIntentId()).isEmpty());
    h.awaitStripeEventsApplied();
    assertThat(h.refunds(paid.paymentIntentId())).hasSize(1);
  }

  @Test
  void shouldRecordPendingWhenListingIsRejectedAfter24HoursAndCompleteItWhenApproved() {
    // Given a posting fee paid 25 hours ago
    var paid = h.paidListing(Duration.ofHours(25));

    // When moderation rejects the listing
    h.reject(paid.listingId(), h.now());

    // Then a pending refund waits for review, announced by refund.requested; Stripe is not called
    Map<String, Object> pending = h.awaitRefund(paid.paymentIntentId(), "pending");
    assertThat(pending).containsEntry("reason", "moderation_rejection");
    h.awaitPaymentEvent("refund.requested", pending.get("id").toString());
    assertThat(h.stripeRefunds(paid.paymentIntentId())).isEmpty();

    // When a super_admin approves it (what checkout-api's approve route does)
    UUID id = (UUID) pending.get("id");
    h.approve(id);
    RefundOutcome outcome = h.executor().execute(id);

    // Then it is processed (by this call, or by the janitor if it came first), refunded once
    assertThat(outcome.isProcessed()).isTrue();
    assertThat(h.awaitRefund(paid.paymentIntentId(), "processed").get("id")).isEqualTo(id);
    assertThat(h.stripeRefunds(paid.paymentIntentId())).hasSize(1);
  }

  @Test
  void shouldCloseAFailedRefundTheRejectionOwesNamingTheRejectionsRecordWhenRecordedPending() {
    // Given a posting fee paid 25 hours ago whose owner's refund an admin approved and Stripe
    // failed (the card expired), open for an admin's retry
    var paid = h.paidListing(Duration.ofHours(25));
    UUID failed = UUID.randomUUID();
    h.db()
        .execute(
            "INSERT INTO payment_refunds (id, user_id, listing_id, stripe_payment_intent_id,"
                + " amount_cents, reason, status) VALUES (?, ?, ?, ?, 500, 'user_request',"
                + " 'failed')",
            failed,
            paid.userId(),
            paid.listingId(),
            paid.paymentIntentId());

    // When moderation rejects the listing, too late for an automatic refund
    h.reject(paid.listingId(), h.now());

    // Then the rejection's refund waits for review and owes the failed refund's money: that one
    // is closed, naming the rejection's record, so rejecting that record can give it back
    Map<String, Object> pending = h.awaitRefund(paid.paymentIntentId(), "pending");
    assertThat(
            h.db()
                .row("SELECT close_outcome, closed_for FROM payment_refunds WHERE id = ?", failed))
        .hasValueSatisfying(
            row ->
                assertThat(row)
                    .containsEntry("close_outcome", "not_owed")
                    .containsEntry("closed_for", pending.get("id")));
  }

  @Test
  void shouldLeaveNoStripeRefundWhenAdminRejectsThePendingRefund() {
    // Given a pending refund of a payment 25 hours old
    var paid = h.paidListing(Duration.ofHours(25));
    h.reject(paid.listingId(), h.now());
    UUID id = (UUID) h.awaitRefund(paid.paymentIntentId(), "pending").get("id");

    // When a super_admin rejects it, and someone then tries to execute it anyway
    h.db()
        .execute(
            "UPDATE payment_refunds SET status = 'rejected', rejection_reason = 'policy'"
                + " WHERE id = ? AND status = 'pending'",
            id);
    RefundOutcome outcome = h.executor().execute(id);
    h.retryNow();

    // Then nothing was refunded at Stripe and the record stays rejected
    assertThat(outcome.result()).isEqualTo(RefundOutcome.Result.UNCHANGED);
    assertThat(h.stripeRefunds(paid.paymentIntentId())).isEmpty();
    assertThat(h.refunds(paid.paymentIntentId()))
        .singleElement()
        .satisfies(r -> assertThat(r).containsEntry("status", "rejected"));
  }

  @Test
  void shouldRetryAndCompleteWhenStripeFailsTheRefundCall() {
    // Given Stripe answers the next two refund calls with a 500
    var paid = h.paidListing(Duration.ofHours(1));
    h.emulator().failNextRefunds(2);

    // When moderation rejects the listing
    h.reject(paid.listingId(), h.now());

    // Then the record stays approved with the error...
    Map<String, Object> failed =
        Await.value(
            Harness.WAIT,
            "an approved refund with Stripe's error",
            () ->
                h.refunds(paid.paymentIntentId()).stream()
                    .filter(r -> "approved".equals(r.get("status")) && r.get("last_error") != null)
                    .findFirst());
    assertThat((String) failed.get("last_error")).contains("500");

    // ...and the janitor retries it until Stripe answers: processed, refunded exactly once
    Map<String, Object> processed = h.awaitRefund(paid.paymentIntentId(), "processed");
    assertThat(processed.get("last_error")).isNull();
    assertThat(h.stripeRefunds(paid.paymentIntentId())).hasSize(1);
    // (the outbox relay publishes the announcement just after the commit)
    Await.until(
        Harness.WAIT,
        "refund.processed published",
        () -> !h.paymentEvents("refund.processed", processed.get("id").toString()).isEmpty());
    assertThat(h.paymentEvents("refund.processed", processed.get("id").toString())).hasSize(1);
  }

  @Test
  void shouldRefundOnceWhenTheListingIsRejectedTwice() {
    // Given a listing paid an hour ago, rejected by two moderators a minute apart
    var paid = h.paidListing(Duration.ofHours(1));
    Instant first = h.now();
    h.reject(paid.listingId(), first);
    h.reject(paid.listingId(), first.plusSeconds(60));
    // and the first decision delivered twice
    h.reject(paid.listingId(), first);

    // Then one refund, once at Stripe
    h.awaitRefund(paid.paymentIntentId(), "processed");
    h.awaitModerationApplied(paid.listingId(), 2);
    assertThat(h.refunds(paid.paymentIntentId())).hasSize(1);
    assertThat(h.stripeRefunds(paid.paymentIntentId())).hasSize(1);
  }

  @Test
  void shouldRefundTechnicalFailureWhenTheProcessorAsksForIt() {
    // Given a payment the processor could not apply
    var paid = h.paidListing(Duration.ofMinutes(5));
    RefundCommand command =
        new RefundCommand(
            RefundCommand.idFor(paid.paymentIntentId(), "technical_failure"),
            paid.paymentIntentId(),
            paid.listingId(),
            paid.userId(),
            "technical_failure",
            "listing was deleted before the payment arrived",
            h.now());

    // When its refund command arrives, twice
    h.kafka().send(h.topics().refundCommands(), paid.paymentIntentId(), Json.write(command));
    h.kafka().send(h.topics().refundCommands(), paid.paymentIntentId(), Json.write(command));

    // Then the payment is refunded once, reason technical_failure
    Map<String, Object> refund = h.awaitRefund(paid.paymentIntentId(), "processed");
    assertThat(refund).containsEntry("reason", "technical_failure");
    assertThat(h.stripeRefunds(paid.paymentIntentId())).hasSize(1);
  }

  @Test
  void shouldRefundPostingFeeAndRecentPromotionWhenListingIsRejected() {
    // Given a listing paid 30 hours ago and featured an hour ago
    var paid = h.paidListing(Duration.ofHours(30));
    String featured = h.charge(paid.userId(), paid.listingId(), 500, "promotion_featured");
    h.recordPayment(
        featured,
        paid.userId(),
        paid.listingId(),
        500,
        "promotion_featured",
        h.now().minus(Duration.ofHours(1)));

    // When moderation rejects it
    h.reject(paid.listingId(), h.now());

    // Then the promotion is refunded at once, the posting fee waits for review
    h.awaitRefund(featured, "processed");
    h.awaitRefund(paid.paymentIntentId(), "pending");
    assertThat(h.stripeRefunds(featured)).hasSize(1);
    assertThat(h.stripeRefunds(paid.paymentIntentId())).isEmpty();
  }

  @Test
  void shouldRefundOnceWhenStripeTimesOutAfterRefunding() {
    // Given Stripe holds the next refund call for 4 s, then makes the refund: our call times out
    // after 2 s not knowing whether it happened
    var paid = h.paidListing(Duration.ofHours(1));
    h.emulator().hangNextRefunds(1, Duration.ofSeconds(4));

    // When moderation rejects the listing
    h.reject(paid.listingId(), h.now());

    // Then the retries under the same idempotency key reach the refund Stripe made: one refund
    Map<String, Object> processed = h.awaitRefund(paid.paymentIntentId(), "processed");
    List<Refund> atStripe = h.stripeRefunds(paid.paymentIntentId());
    assertThat(atStripe).hasSize(1);
    assertThat(atStripe.get(0).getId()).isEqualTo(processed.get("stripe_refund_id"));
  }

  @Test
  void shouldDeadLetterAModerationMessageWhenItIsNotADecision() {
    // Given a message on marketplace.moderation.v1 that is not a moderation decision
    String key = UUID.randomUUID().toString();

    // When it is consumed
    h.kafka().send(h.topics().moderation(), key, "{\"listingId\":\"not-a-uuid\"}");

    // Then after its retries it is on the dead-letter topic, with why and who gave up
    var dead =
        h.kafka()
            .awaitRecord(h.topics().moderation().dlq(), r -> key.equals(r.key()), Harness.WAIT);
    assertThat(KafkaTestClient.header(dead, RecordHeaders.CONSUMER))
        .contains(RefundWorker.MODERATION_CONSUMER);
    assertThat(KafkaTestClient.header(dead, RecordHeaders.ERROR_MESSAGE))
        .hasValueSatisfying(m -> assertThat(m).contains("not a moderation decision"));
  }

  @Test
  void shouldServeHealthAndRefundMetricsWhenRunning() throws Exception {
    // Given a refund processed
    var paid = h.paidListing(Duration.ofMinutes(30));
    h.reject(paid.listingId(), h.now());
    h.awaitRefund(paid.paymentIntentId(), "processed");

    // When the admin port is asked
    HttpClient http = HttpClient.newHttpClient();
    HttpResponse<String> ready =
        http.send(
            HttpRequest.newBuilder(URI.create(h.worker().baseUrl() + "/health/ready")).build(),
            HttpResponse.BodyHandlers.ofString());
    String metrics = h.metrics();

    // Then it is ready and counts processed refunds under the name of the system we replace
    assertThat(ready.statusCode()).isEqualTo(200);
    assertThat(metrics)
        .contains("homepage_refunds_processed_total{reason=\"moderation_rejection\"");
  }
}
