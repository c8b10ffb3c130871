package io.marketplace.payments.checkout.admin;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.marketplace.payments.checkout.Http;
import io.marketplace.payments.checkout.TestApi;
import io.marketplace.payments.checkout.Tokens;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.testsupport.KafkaTestClient;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class AdminRefundRoutesTest {

  private static TestApi app;
  private static final UUID ADMIN = UUID.randomUUID();

  @BeforeAll
  static void start() {
    app = TestApi.shared();
  }

  /** A paid listing whose owner asked for the fee back: a pending refund's id. */
  private static UUID pendingRefund(UUID owner) {
    TestApi.PaidListing paid = app.paidListing(owner);
    Http.Response response =
        app.http
            .post("/api/marketplace/listings/" + paid.listingId() + "/refund-request")
            .token(Tokens.user(owner))
            .json(Map.of("reason", "changed my mind"))
            .send();
    assertThat(response.status()).isEqualTo(202);
    return UUID.fromString(response.json().get("id").asText());
  }

  private static Http.Response approve(UUID refundId) {
    return app.http
        .post("/admin/api/marketplace/refunds/" + refundId + "/approve")
        .token(Tokens.admin(ADMIN))
        .send();
  }

  private static Http.Response reject(UUID refundId, Object body) {
    return app.http
        .post("/admin/api/marketplace/refunds/" + refundId + "/reject")
        .token(Tokens.admin(ADMIN))
        .json(body)
        .send();
  }

  @Test
  void shouldRefuseWithoutRefundingWhenASuperAdminApprovesARefundOfTheirOwnPayment() {
    // Given a super_admin whose own marketplace account asked for its posting fee back
    UUID admin = UUID.randomUUID();
    UUID refundId = pendingRefund(admin);
    String paymentIntentId =
        app.db
            .row("SELECT stripe_payment_intent_id FROM payment_refunds WHERE id = ?", refundId)
            .orElseThrow()
            .get("stripe_payment_intent_id")
            .toString();

    // When they approve it themselves
    Http.Response response =
        app.http
            .post("/admin/api/marketplace/refunds/" + refundId + "/approve")
            .token(Tokens.admin(admin))
            .idempotencyKey(UUID.randomUUID().toString())
            .send();

    // Then 403 (four eyes: another admin decides), saying why, and nothing changed: the refund
    // is still pending, with no decision recorded, and Stripe refunded nothing
    assertThat(response.status()).as(response.toString()).isEqualTo(403);
    assertThat(response.contentType()).startsWith("application/problem+json");
    assertThat(response.json().get("detail").asText()).contains("own").contains("another admin");
    assertThat(app.db.row("SELECT status FROM payment_refunds WHERE id = ?", refundId))
        .contains(Map.of("status", "pending"));
    assertThat(app.db.count("refund_decisions WHERE refund_id = ?", refundId)).isZero();
    assertThat(app.refundsAtStripe(paymentIntentId)).isEmpty();
    // And another admin may approve it
    Http.Response byAnother = approve(refundId);
    assertThat(byAnother.status()).as(byAnother.toString()).isEqualTo(200);
    assertThat(byAnother.json().get("status").asText()).isEqualTo("processed");
  }

  @Test
  void shouldListRefundsByStatusWhenAdminAsks() {
    // Given
    UUID pending = pendingRefund(UUID.randomUUID());
    UUID rejected = pendingRefund(UUID.randomUUID());
    assertThat(reject(rejected, Map.of("reason", "outside policy")).status()).isEqualTo(200);

    // When
    Http.Response pendingOnly =
        app.http
            .get("/admin/api/marketplace/refunds?status=pending")
            .token(Tokens.admin(ADMIN))
            .send();
    Http.Response all =
        app.http.get("/admin/api/marketplace/refunds").token(Tokens.admin(ADMIN)).send();

    // Then
    assertThat(pendingOnly.status()).isEqualTo(200);
    assertThat(pendingOnly.json().findValuesAsText("status")).containsOnly("pending");
    assertThat(pendingOnly.json().findValuesAsText("id"))
        .contains(pending.toString())
        .doesNotContain(rejected.toString());
    assertThat(all.json().findValuesAsText("id")).contains(pending.toString(), rejected.toString());
  }

  /**
   * SPEC §3 writes the route {@code ?status=}: an admin screen whose "all" filter sends the
   * parameter empty asks for every status, not for a 400.
   */
  @Test
  void shouldListEveryStatusWhenTheStatusFilterIsEmpty() {
    // Given a pending refund and a rejected one
    UUID pending = pendingRefund(UUID.randomUUID());
    UUID rejected = pendingRefund(UUID.randomUUID());
    assertThat(reject(rejected, Map.of("reason", "outside policy")).status()).isEqualTo(200);

    // When the admin lists the refunds with an empty status filter
    Http.Response response =
        app.http.get("/admin/api/marketplace/refunds?status=").token(Tokens.admin(ADMIN)).send();

    // Then both are listed, as with no filter
    assertThat(response.status()).as(response.toString()).isEqualTo(200);
    assertThat(response.json().findValuesAsText("id"))
        .contains(pending.toString(), rejected.toString());
  }

  @Test
  void shouldPageTheQueueOldestFirstThroughTheNextLink() {
    // Given more pending refunds than a page holds
    List<UUID> mine =
        List.of(
            pendingRefund(UUID.randomUUID()),
            pendingRefund(UUID.randomUUID()),
            pendingRefund(UUID.randomUUID()));

    // When the admin follows the next links from the first page, two records a page
    List<String> seen = new ArrayList<>();
    String next = "/admin/api/marketplace/refunds?status=pending&limit=2";
    int pages = 0;
    while (next != null && pages < 1000) {
      Http.Response page = app.http.get(next).token(Tokens.admin(ADMIN)).send();
      assertThat(page.status()).isEqualTo(200);
      assertThat(page.json().isArray()).isTrue();
      assertThat(page.json().size()).isBetween(1, 2);
      assertThat(page.json().findValuesAsText("status")).containsOnly("pending");
      seen.addAll(page.json().findValuesAsText("id"));
      pages++;
      next =
          page.header("Link")
              .map(
                  link -> {
                    assertThat(link).endsWith(">; rel=\"next\"");
                    return link.substring(link.indexOf('<') + 1, link.indexOf('>'));
                  })
              .orElse(null);
    }

    // Then every pending refund was shown once, oldest first, and the last page had no link
    assertThat(next).isNull();
    assertThat(pages).isGreaterThanOrEqualTo(2);
    assertThat(seen).doesNotHaveDuplicates();
    assertThat(seen).containsSubsequence(mine.stream().map(UUID::toString).toList());
  }

  @Test
  void shouldAnswer400WhenCursorIsNotOne() {
    // Given text that is no cursor, and cursors shaped as ours whose time no record can have
    // (beyond what PostgreSQL stores, or what a Java time holds in milliseconds)
    List<String> cursors = new ArrayList<>(List.of("not-a-cursor"));
    for (String time :
        List.of(
            "+294277-01-01T00:00:00Z", "-4713-01-01T00:00:00Z", "+1000000000-01-01T00:00:00Z")) {
      cursors.add(
          Base64.getUrlEncoder()
              .withoutPadding()
              .encodeToString((time + "|" + UUID.randomUUID()).getBytes(StandardCharsets.UTF_8)));
    }

    for (String cursor : cursors) {
      // When
      Http.Response response =
          app.http
              .get("/admin/api/marketplace/refunds?cursor=" + cursor)
              .token(Tokens.admin(ADMIN))
              .send();

      // Then
      assertThat(response.status()).as("%s => %s", cursor, response).isEqualTo(400);
      assertThat(response.contentType()).startsWith("application/problem+json");
      assertThat(response.json().get("errors").has("cursor")).isTrue();
    }
  }

  @Test
  void shouldAnswer400WhenStatusOrLimitIsInvalid() {
    // When
    Http.Response badStatus =
        app.http
            .get("/admin/api/marketplace/refunds?status=done")
            .token(Tokens.admin(ADMIN))
            .send();
    Http.Response badLimit =
        app.http.get("/admin/api/marketplace/refunds?limit=0").token(Tokens.admin(ADMIN)).send();

    // Then
    assertThat(badStatus.status()).isEqualTo(400);
    assertThat(badStatus.json().get("errors").get("status").asText()).contains("pending");
    assertThat(badLimit.status()).isEqualTo(400);
    assertThat(badLimit.json().get("errors").has("limit")).isTrue();
  }

  @Test
  void shouldRefuseAdminRoutesWhenCallerIsAUserOrAnonymous() {
    // Given
    UUID owner = UUID.randomUUID();
    UUID refundId = pendingRefund(owner);
    String user = Tokens.user(owner);

    // When
    Http.Response list = app.http.get("/admin/api/marketplace/refunds").token(user).send();
    Http.Response approve =
        app.http.post("/admin/api/marketplace/refunds/" + refundId + "/approve").token(user).send();
    Http.Response reject =
        app.http
            .post("/admin/api/marketplace/refunds/" + refundId + "/reject")
            .token(user)
            .json(Map.of("reason", "x"))
            .send();
    Http.Response anonymous = app.http.get("/admin/api/marketplace/refunds").send();

    // Then
    assertThat(list.status()).isEqualTo(403);
    assertThat(approve.status()).isEqualTo(403);
    assertThat(reject.status()).isEqualTo(403);
    assertThat(anonymous.status()).isEqualTo(401);
    assertThat(app.db.row("SELECT status FROM payment_refunds WHERE id = ?", refundId))
        .contains(Map.of("status", "pending"));
  }

  @Test
  void shouldAnswer400AndChangeNothingWhenAPartialAmountIsSentWhereNoneIsTaken() {
    // Given a paid listing whose owner asks for a part of the fee back, which a request does not
    // take (it asks for what is left)
    UUID owner = UUID.randomUUID();
    TestApi.PaidListing paid = app.paidListing(owner);
    Http.Response partRequest =
        app.http
            .post("/api/marketplace/listings/" + paid.listingId() + "/refund-request")
            .token(Tokens.user(owner))
            .json(Map.of("reason", "half of it, please", "amountCents", 250))
            .send();
    // and an admin who approves a pending request for a part of it
    UUID refundId = pendingRefund(UUID.randomUUID());
    Http.Response partApproval =
        app.http
            .post("/admin/api/marketplace/refunds/" + refundId + "/approve")
            .token(Tokens.admin(ADMIN))
            .json(Map.of("amountCents", 100))
            .send();

    // Then each is 400, naming the field, and nothing is requested, approved or refunded
    assertThat(partRequest.status()).as(partRequest.toString()).isEqualTo(400);
    assertThat(partRequest.json().get("detail").asText())
        .contains("amountCents: is not taken here: this request takes paymentIntentId, reason");
    assertThat(app.db.count("payment_refunds WHERE listing_id = ?", paid.listingId())).isZero();
    assertThat(partApproval.status()).as(partApproval.toString()).isEqualTo(400);
    assertThat(partApproval.json().get("detail").asText())
        .contains("amountCents: is not taken here: this request has no body");
    assertThat(app.db.row("SELECT status FROM payment_refunds WHERE id = ?", refundId))
        .contains(Map.of("status", "pending"));
    assertThat(app.db.count("refund_decisions WHERE refund_id = ?", refundId)).isZero();
  }

  @Test
  void shouldRefundThroughStripeAndMarkProcessedWhenApproved() throws Exception {
    // Given
    UUID refundId = pendingRefund(UUID.randomUUID());

    // When
    Http.Response response = approve(refundId);

    // Then the refund is processed with Stripe's refund id
    assertThat(response.status()).isEqualTo(200);
    JsonNode refund = response.json();
    assertThat(refund.get("status").asText()).isEqualTo("processed");
    String stripeRefundId = refund.get("stripeRefundId").asText();
    assertThat(stripeRefundId).startsWith("re_");
    Map<String, Object> atStripe = app.stripe.object(stripeRefundId).orElseThrow();
    assertThat(((Number) atStripe.get("amount")).longValue()).isEqualTo(500);
    assertThat(atStripe.get("status")).isEqualTo("succeeded");

    // and refund.processed is published
    ConsumerRecord<String, byte[]> event =
        app.kafka.awaitRecord(
            app.topics.paymentEvents(),
            r ->
                KafkaTestClient.text(r).contains("refund.processed")
                    && KafkaTestClient.text(r).contains(refundId.toString()),
            Duration.ofSeconds(20));
    assertThat(Json.mapper().readTree(event.value()).get("data").get("stripeRefundId").asText())
        .isEqualTo(stripeRefundId);
  }

  @Test
  void shouldStayApprovedWithTheErrorAndRetryWhenStripeFailsAndItIsApprovedAgain() {
    // Given Stripe fails the next refund call
    UUID refundId = pendingRefund(UUID.randomUUID());
    app.stripe.failNextRefunds(1);

    // When
    Http.Response failed = approve(refundId);

    // Then the refund is approved, not processed, and says why
    assertThat(failed.status()).isEqualTo(200);
    assertThat(failed.json().get("status").asText()).isEqualTo("approved");
    assertThat(failed.json().get("lastError").asText()).contains("500");
    assertThat(failed.json().get("stripeRefundId").isNull()).isTrue();

    // When it is approved again
    Http.Response retried = approve(refundId);

    // Then Stripe refunds it, once
    assertThat(retried.status()).isEqualTo(200);
    assertThat(retried.json().get("status").asText()).isEqualTo("processed");
    assertThat(retried.json().get("lastError").isNull()).isTrue();
    assertThat(app.db.count("payment_refunds WHERE id = ? AND status = 'processed'", refundId))
        .isEqualTo(1);
  }

  @Test
  void shouldAnswer409WhenRefundIsNoLongerPending() {
    // Given a rejected refund and a processed one
    UUID rejected = pendingRefund(UUID.randomUUID());
    assertThat(reject(rejected, Map.of("reason", "no")).status()).isEqualTo(200);
    UUID processed = pendingRefund(UUID.randomUUID());
    assertThat(approve(processed).json().get("status").asText()).isEqualTo("processed");

    // When
    Http.Response approveRejected = approve(rejected);
    Http.Response approveProcessed = approve(processed);
    Http.Response rejectProcessed = reject(processed, Map.of("reason", "too late"));

    // Then
    assertThat(approveRejected.status()).isEqualTo(409);
    assertThat(approveProcessed.status()).isEqualTo(409);
    assertThat(rejectProcessed.status()).isEqualTo(409);
  }

  @Test
  void shouldMarkRejectedAndAnnounceItWhenAdminRejects() throws Exception {
    // Given
    UUID refundId = pendingRefund(UUID.randomUUID());

    // When
    Http.Response response = reject(refundId, Map.of("reason", "listing was used for a month"));

    // Then
    assertThat(response.status()).isEqualTo(200);
    assertThat(response.json().get("status").asText()).isEqualTo("rejected");
    assertThat(
            app.db.row(
                "SELECT status, rejection_reason FROM payment_refunds WHERE id = ?", refundId))
        .contains(Map.of("status", "rejected", "rejection_reason", "listing was used for a month"));
    ConsumerRecord<String, byte[]> event =
        app.kafka.awaitRecord(
            app.topics.paymentEvents(),
            r ->
                KafkaTestClient.text(r).contains("refund.rejected")
                    && KafkaTestClient.text(r).contains(refundId.toString()),
            Duration.ofSeconds(20));
    JsonNode data = Json.mapper().readTree(event.value()).get("data");
    assertThat(data.get("rejectionReason").asText()).isEqualTo("listing was used for a month");
    // naming the super_admin who rejected it, as user.unbanned and user.risk_cleared name theirs
    assertThat(data.path("rejectedBy").asText()).isEqualTo(ADMIN.toString());
  }

  @Test
  void shouldAnswer400WhenRejectionHasNoReasonAnd404WhenRefundIsUnknown() {
    // Given
    UUID refundId = pendingRefund(UUID.randomUUID());

    // When
    Http.Response noReason = reject(refundId, Map.of());
    Http.Response unknownApprove = approve(UUID.randomUUID());
    Http.Response unknownReject = reject(UUID.randomUUID(), Map.of("reason", "x"));

    // Then
    assertThat(noReason.status()).isEqualTo(400);
    assertThat(noReason.json().get("errors").get("reason").asText()).isEqualTo("is required");
    assertThat(unknownApprove.status()).isEqualTo(404);
    assertThat(unknownReject.status()).isEqualTo(404);
  }
}
