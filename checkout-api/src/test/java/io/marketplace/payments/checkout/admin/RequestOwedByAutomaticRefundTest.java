package io.marketplace.payments.checkout.admin;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.marketplace.payments.checkout.Http;
import io.marketplace.payments.checkout.TestApi;
import io.marketplace.payments.checkout.Tokens;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.testsupport.EventSchemas;
import io.marketplace.payments.testsupport.KafkaTestClient;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A user's request and a moderation rejection's refund of the same payment: the rejection's refund
 * gives back all of the payment that had not gone back, a pending request included. Once it owes
 * that money (approved), the user's request is closed as owed by it, announced with why; a request
 * made after it was recorded is refused, saying which refund gives the money back.
 */
class RequestOwedByAutomaticRefundTest {

  private static TestApi app;
  private static final UUID ADMIN = UUID.randomUUID();

  @BeforeAll
  static void start() {
    app = TestApi.shared();
  }

  private static Http.Response requestRefund(UUID owner, UUID listingId) {
    return app.http
        .post("/api/marketplace/listings/" + listingId + "/refund-request")
        .token(Tokens.user(owner))
        .json(Map.of("reason", "changed my mind"))
        .send();
  }

  private static Http.Response approve(UUID refundId) {
    return app.http
        .post("/admin/api/marketplace/refunds/" + refundId + "/approve")
        .token(Tokens.admin(ADMIN))
        .send();
  }

  /** The rejection's refund of the whole fee, as the refund worker records it. */
  private static UUID rejectionRefund(UUID owner, TestApi.PaidListing paid, String status) {
    UUID id = UUID.randomUUID();
    app.db.execute(
        """
        INSERT INTO payment_refunds
            (id, user_id, listing_id, stripe_payment_intent_id, amount_cents, reason, status,
             note, automatic_part)
        VALUES (?, ?, ?, ?, 500, 'moderation_rejection', ?, 'listing rejected: spam', 0)
        """,
        id,
        owner,
        paid.listingId(),
        paid.paymentIntentId(),
        status);
    return id;
  }

  @Test
  void shouldCloseAPendingRequestWhenAnAdminApprovesTheRejectionsRefundAwaitingReview()
      throws Exception {
    // Given a paid posting fee of 500 cents whose owner asked for it back (pending review)
    UUID owner = UUID.randomUUID();
    TestApi.PaidListing paid = app.paidListing(owner);
    Http.Response requested = requestRefund(owner, paid.listingId());
    assertThat(requested.status()).as(requested.toString()).isEqualTo(202);
    UUID request = UUID.fromString(requested.json().get("id").asText());
    // and then moderation rejected the listing more than 24 h after the payment, so the refund
    // worker recorded the rejection's refund of the whole fee pending review too
    UUID automatic = rejectionRefund(owner, paid, "pending");

    // When a super_admin approves the rejection's refund
    Http.Response approved = approve(automatic);

    // Then it is refunded, once
    assertThat(approved.status()).as(approved.toString()).isEqualTo(200);
    assertThat(approved.json().get("status").asText()).isEqualTo("processed");
    assertThat(app.refundsAtStripe(paid.paymentIntentId())).hasSize(1);
    // and the user's request, which it pays, no longer waits: closed as not owed, for that refund
    String why = "owed by automatic moderation_rejection refund " + automatic + " (part 0)";
    assertThat(
            app.db.row(
                "SELECT status, rejection_reason, close_outcome, closed_for"
                    + " FROM payment_refunds WHERE id = ?",
                request))
        .contains(
            Map.of(
                "status",
                "rejected",
                "rejection_reason",
                why,
                "close_outcome",
                "not_owed",
                "closed_for",
                automatic));
    // and announced to the user with why
    ConsumerRecord<String, byte[]> event =
        app.kafka.awaitRecord(
            app.topics.paymentEvents(),
            r ->
                KafkaTestClient.text(r).contains("refund.rejected")
                    && KafkaTestClient.text(r).contains(request.toString()),
            Duration.ofSeconds(20));
    JsonNode data = Json.mapper().readTree(event.value()).get("data");
    assertThat(data.get("rejectionReason").asText()).isEqualTo(why);
    assertThat(EventSchemas.violations("refund.rejected", KafkaTestClient.text(event))).isEmpty();
    // and the admin's list shows it rejected, closed as not owed, with why
    Http.Response listed =
        app.http
            .get("/admin/api/marketplace/refunds?status=rejected&limit=500")
            .token(Tokens.admin(ADMIN))
            .send();
    JsonNode shown = null;
    for (JsonNode refund : listed.json()) {
      if (refund.get("id").asText().equals(request.toString())) {
        shown = refund;
      }
    }
    assertThat(shown).as(listed.toString()).isNotNull();
    assertThat(shown.get("closeOutcome").asText()).isEqualTo("not_owed");
    assertThat(shown.get("rejectionReason").asText()).isEqualTo(why);
    // and an approval of the request is refused as what it is: decided
    Http.Response again = approve(request);
    assertThat(again.status()).isEqualTo(409);
    assertThat(again.json().get("detail").asText()).contains("the refund is rejected");
    assertThat(app.refundsAtStripe(paid.paymentIntentId())).hasSize(1);
  }

  @Test
  void shouldRefuseApprovingAPendingRequestNamingTheRejectionsRefundToApproveInstead()
      throws Exception {
    // Given a paid posting fee of 500 cents, paid more than 24 h ago, whose owner asked for it
    // back (pending review)
    UUID owner = UUID.randomUUID();
    TestApi.PaidListing paid = app.paidListing(owner);
    app.db.execute(
        "UPDATE payments SET succeeded_at = now() - interval '2 days'"
            + " WHERE stripe_payment_intent_id = ?",
        paid.paymentIntentId());
    Http.Response requested = requestRefund(owner, paid.listingId());
    assertThat(requested.status()).as(requested.toString()).isEqualTo(202);
    UUID request = UUID.fromString(requested.json().get("id").asText());
    // and then moderation rejected the listing, past 24 h: its refund of the whole fee awaits
    // review too, for the same money
    UUID automatic = rejectionRefund(owner, paid, "pending");

    // When a super_admin approves the user's request first
    Http.Response approved = approve(request);

    // Then it is refused, and the answer names the refund that owes this money and what to do
    assertThat(approved.status()).as(approved.toString()).isEqualTo(409);
    String detail = approved.json().get("detail").asText();
    assertThat(detail)
        .contains("owed by automatic moderation_rejection refund " + automatic + " (part 0)")
        .contains("awaiting review")
        .contains("approve refund " + automatic + " instead")
        .doesNotContain("close it");
    // and nothing went back, nothing changed: both still wait
    assertThat(app.refundsAtStripe(paid.paymentIntentId())).isEmpty();
    assertThat(app.db.row("SELECT status FROM payment_refunds WHERE id = ?", request).orElseThrow())
        .containsEntry("status", "pending");
    assertThat(
            app.db.row("SELECT status FROM payment_refunds WHERE id = ?", automatic).orElseThrow())
        .containsEntry("status", "pending");

    // When the admin does as told
    Http.Response followed = approve(automatic);

    // Then the money goes back once, and the request is closed for it
    assertThat(followed.status()).as(followed.toString()).isEqualTo(200);
    assertThat(followed.json().get("status").asText()).isEqualTo("processed");
    assertThat(app.refundsAtStripe(paid.paymentIntentId())).hasSize(1);
    assertThat(
            app.db
                .row(
                    "SELECT status, close_outcome, closed_for FROM payment_refunds WHERE id = ?",
                    request)
                .orElseThrow())
        .containsEntry("status", "rejected")
        .containsEntry("close_outcome", "not_owed")
        .containsEntry("closed_for", automatic);
  }

  @Test
  void shouldRefuseARequestNamingTheRejectionsRefundThatGivesTheMoneyBack() {
    for (String status : new String[] {"pending", "approved", "processed"}) {
      // Given a paid posting fee whose rejection's refund is recorded (awaiting review, on its
      // way, or made)
      UUID owner = UUID.randomUUID();
      TestApi.PaidListing paid = app.paidListing(owner);
      UUID automatic = rejectionRefund(owner, paid, status);

      // When its owner asks for it back
      Http.Response requested = requestRefund(owner, paid.listingId());

      // Then the request is refused, saying which refund gives the money back, and nothing waits
      assertThat(requested.status()).as(status + ": " + requested).isEqualTo(409);
      assertThat(requested.json().get("detail").asText())
          .as(status)
          .contains("owed by automatic moderation_rejection refund " + automatic);
      assertThat(
              app.db.count(
                  "payment_refunds WHERE stripe_payment_intent_id = ? AND reason = 'user_request'",
                  paid.paymentIntentId()))
          .as(status)
          .isZero();
    }
  }
}
