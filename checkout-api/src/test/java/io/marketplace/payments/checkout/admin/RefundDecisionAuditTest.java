package io.marketplace.payments.checkout.admin;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.checkout.Http;
import io.marketplace.payments.checkout.TestApi;
import io.marketplace.payments.checkout.Tokens;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every decision a super_admin takes on a refund (approve, reject, retry, close) is kept with who
 * took it, when and why: after an incident, "who approved this refund?" has an answer in the
 * database, as it has for an admin's own refund ({@code created_by}) and an unban ({@code
 * unbanned_by}).
 */
class RefundDecisionAuditTest {

  private static TestApi app;

  @BeforeAll
  static void start() {
    app = TestApi.shared();
  }

  @Test
  void shouldRecordWhichSuperAdminApprovedOrRejectedARefund() {
    // Given two pending refunds and two super_admins
    UUID approver = UUID.randomUUID();
    UUID rejecter = UUID.randomUUID();
    UUID toApprove = pendingRefund(UUID.randomUUID());
    UUID toReject = pendingRefund(UUID.randomUUID());

    // When one approves the first and the other rejects the second
    assertThat(post(approver, toApprove, "approve", null).json().get("status").asText())
        .isEqualTo("processed");
    assertThat(post(rejecter, toReject, "reject", Map.of("reason", "used for a month")).status())
        .isEqualTo(200);

    // Then each decision is recorded with its admin
    assertThat(decisions(toApprove))
        .containsExactly(Map.of("decision", "approved", "decided_by", approver));
    assertThat(decisions(toReject))
        .containsExactly(Map.of("decision", "rejected", "decided_by", rejecter));
    assertThat(
            app.db
                .row("SELECT reason FROM refund_decisions WHERE refund_id = ?", toReject)
                .orElseThrow())
        .containsEntry("reason", "used for a month");
  }

  @Test
  void shouldRecordWhichSuperAdminRetriedAndWhichClosedAFailedRefund() {
    // Given a refund Stripe refused for good (the charge was refunded in the dashboard)
    UUID approver = UUID.randomUUID();
    UUID retrier = UUID.randomUUID();
    UUID closer = UUID.randomUUID();
    UUID owner = UUID.randomUUID();
    TestApi.PaidListing paid = app.paidListing(owner);
    UUID refundId = requestRefund(owner, paid);
    app.stripe.refundOutsideSystem(paid.paymentIntentId(), null);
    assertThat(post(approver, refundId, "approve", null).json().get("status").asText())
        .isEqualTo("failed");

    // When one admin retries it (Stripe refuses again) and another closes it
    assertThat(post(retrier, refundId, "retry", null).json().get("status").asText())
        .isEqualTo("failed");
    assertThat(
            post(
                    closer,
                    refundId,
                    "close",
                    Map.of("reason", "went back already", "outcome", "not_owed"))
                .status())
        .isEqualTo(200);

    // Then the three decisions are recorded in order, each with its admin
    assertThat(decisions(refundId))
        .containsExactly(
            Map.of("decision", "approved", "decided_by", approver),
            Map.of("decision", "retried", "decided_by", retrier),
            Map.of("decision", "closed", "decided_by", closer));
  }

  @Test
  void shouldRecordNoDecisionWhenTheDecisionIsRefused() {
    // Given a rejected refund
    UUID admin = UUID.randomUUID();
    UUID refundId = pendingRefund(UUID.randomUUID());
    assertThat(post(admin, refundId, "reject", Map.of("reason", "no")).status()).isEqualTo(200);

    // When another admin tries to approve it
    assertThat(post(UUID.randomUUID(), refundId, "approve", null).status()).isEqualTo(409);

    // Then only the rejection is recorded
    assertThat(decisions(refundId))
        .containsExactly(Map.of("decision", "rejected", "decided_by", admin));
  }

  private static List<Map<String, Object>> decisions(UUID refundId) {
    return app.db.rows(
        "SELECT decision, decided_by FROM refund_decisions WHERE refund_id = ? ORDER BY id",
        refundId);
  }

  private static UUID pendingRefund(UUID owner) {
    return requestRefund(owner, app.paidListing(owner));
  }

  private static UUID requestRefund(UUID owner, TestApi.PaidListing paid) {
    Http.Response response =
        app.http
            .post("/api/marketplace/listings/" + paid.listingId() + "/refund-request")
            .token(Tokens.user(owner))
            .json(Map.of("reason", "changed my mind"))
            .send();
    assertThat(response.status()).isEqualTo(202);
    return UUID.fromString(response.json().get("id").asText());
  }

  private static Http.Response post(UUID admin, UUID refundId, String action, Object body) {
    var call =
        app.http
            .post("/admin/api/marketplace/refunds/" + refundId + "/" + action)
            .token(Tokens.admin(admin));
    return body == null ? call.send() : call.json(body).send();
  }
}
