package io.marketplace.payments.checkout.admin;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.marketplace.payments.checkout.Http;
import io.marketplace.payments.checkout.TestApi;
import io.marketplace.payments.checkout.Tokens;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.refund.RefundExecutor;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.KafkaTestClient;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Refunds that failed at Stripe: in the admin's queue, to retry or to close. */
class FailedRefundRoutesTest {

  private static TestApi app;
  private static final UUID ADMIN = UUID.randomUUID();

  @BeforeAll
  static void start() {
    app = TestApi.shared();
  }

  @Test
  void shouldEndFailedAndLetTheAdminCloseItWhenStripeSaysTheChargeIsAlreadyRefunded()
      throws Exception {
    // Given a refund request on a payment support already refunded in Stripe's dashboard
    UUID owner = UUID.randomUUID();
    TestApi.PaidListing paid = app.paidListing(owner);
    UUID refundId = requestRefund(owner, paid);
    app.stripe.refundOutsideSystem(paid.paymentIntentId(), null);

    // When the admin approves it
    Http.Response approved = post(refundId, "approve", null);

    // Then Stripe's refusal ends it failed with the precise reason, announced as refund.failed
    assertThat(approved.status()).isEqualTo(200);
    assertThat(approved.json().get("status").asText()).isEqualTo("failed");
    assertThat(approved.json().get("failureReason").asText()).isEqualTo("charge_already_refunded");
    assertThat(approved.json().get("lastError").asText()).contains("may have gone back");
    ConsumerRecord<String, byte[]> event =
        app.kafka.awaitRecord(
            app.topics.paymentEvents(),
            r ->
                KafkaTestClient.text(r).contains("refund.failed")
                    && KafkaTestClient.text(r).contains(refundId.toString()),
            Duration.ofSeconds(20));
    JsonNode data = Json.mapper().readTree(event.value()).get("data");
    assertThat(data.get("failureReason").asText()).isEqualTo("charge_already_refunded");

    // and it waits in the failed queue
    assertThat(failedQueue()).contains(refundId.toString());

    // When the admin closes it (the money went back another way)
    Http.Response closed =
        post(
            refundId,
            "close",
            Map.of("reason", "refunded from Stripe's dashboard", "outcome", "not_owed"));

    // Then it stays failed, closed, and can no longer be retried
    assertThat(closed.status()).isEqualTo(200);
    assertThat(closed.json().get("status").asText()).isEqualTo("failed");
    assertThat(closed.json().get("closedAt").isNull()).isFalse();
    assertThat(closed.json().get("closeOutcome").asText()).isEqualTo("not_owed");
    assertThat(post(refundId, "retry", null).status()).isEqualTo(409);
    assertThat(post(refundId, "close", Map.of("reason", "again", "outcome", "not_owed")).status())
        .isEqualTo(409);
  }

  @Test
  void shouldKeepCountingAFailedRefundTheCustomerGotBackAnotherWay() {
    // Given a refund of the whole posting fee that Stripe failed (the card expired)
    Failed failed = failedRefund();

    // When support pays the customer by bank transfer and the admin closes the refund so
    Http.Response closed =
        post(
            failed.id(),
            "close",
            Map.of("reason", "paid back by bank transfer", "outcome", "refunded_elsewhere"));

    // Then the money counts as gone back: neither the owner nor an admin can refund it again
    assertThat(closed.status()).isEqualTo(200);
    assertThat(closed.json().get("closeOutcome").asText()).isEqualTo("refunded_elsewhere");
    Http.Response again =
        app.http
            .post("/api/marketplace/listings/" + failed.paid().listingId() + "/refund-request")
            .token(Tokens.user(failed.owner()))
            .json(Map.of("reason", "refund me", "paymentIntentId", failed.paid().paymentIntentId()))
            .send();
    assertThat(again.status()).isEqualTo(409);
    assertThat(adminRefund(failed.paid().paymentIntentId(), 1).status()).isEqualTo(409);
    assertThat(app.refundsAtStripe(failed.paid().paymentIntentId())).isEmpty();
  }

  @Test
  void shouldWaitForThePaymentsLockBeforeClosingAFailedRefund() throws Exception {
    // Given a refund Stripe failed, and its payment locked by a transaction deciding a refund of
    // it (as the refund worker does for a moderation rejection, counting what went back)
    Failed failed = failedRefund();
    try (Connection worker = app.db.dataSource().getConnection()) {
      worker.setAutoCommit(false);
      try (PreparedStatement lock =
          worker.prepareStatement(
              "SELECT 1 FROM payments WHERE stripe_payment_intent_id = ? FOR UPDATE")) {
        lock.setString(1, failed.paid().paymentIntentId());
        lock.executeQuery().close();
      }

      // When an admin closes the failed refund as paid back another way meanwhile
      CompletableFuture<Http.Response> closing =
          CompletableFuture.supplyAsync(
              () ->
                  post(
                      failed.id(),
                      "close",
                      Map.of("reason", "bank transfer", "outcome", "refunded_elsewhere")));

      // Then the close waits for that decision, so the money it counts as returned is not
      // counted by a decision that did not see it
      Await.until(
          Duration.ofSeconds(20),
          "the close waiting for the payment's lock",
          () ->
              app.db.count(
                      "pg_stat_activity WHERE wait_event_type = 'Lock'"
                          + " AND query LIKE '%FROM payments%FOR UPDATE%'")
                  > 0);
      assertThat(closing).isNotDone();
      worker.commit();
      Http.Response closed = closing.get(20, TimeUnit.SECONDS);
      assertThat(closed.status()).as(closed.toString()).isEqualTo(200);
      assertThat(closed.json().get("closeOutcome").asText()).isEqualTo("refunded_elsewhere");
    }
  }

  @Test
  void shouldFreeTheRoomOfAFailedRefundClosedAsNotOwed() {
    // Given a refund Stripe failed, closed as owing nothing (it was never the customer's due)
    Failed failed = failedRefund();
    Http.Response closed =
        post(failed.id(), "close", Map.of("reason", "asked by mistake", "outcome", "not_owed"));
    assertThat(closed.status()).isEqualTo(200);

    // When an admin refunds the payment later
    Http.Response refund =
        adminRefund(failed.paid().paymentIntentId(), closed.json().get("amountCents").asLong());

    // Then the whole payment is still there to refund
    assertThat(refund.status()).isEqualTo(201);
  }

  @Test
  void shouldReopenTheFailedRefundsAnAutomaticRefundTookOverWhenAnAdminRejectsIt() {
    // Given a refund the owner asked for, approved and failed by Stripe, which the refund worker
    // closed when a moderation rejection past 24 h was recorded pending for review: the rejection's
    // refund owes its money (as the worker leaves them)
    Failed failed = failedRefund();
    UUID rejection = UUID.randomUUID();
    app.db.execute(
        "INSERT INTO payment_refunds (id, user_id, listing_id, stripe_payment_intent_id,"
            + " amount_cents, reason, status, automatic_part) VALUES (?, ?, ?, ?, 500,"
            + " 'moderation_rejection', 'pending', 1)",
        rejection,
        failed.owner(),
        failed.paid().listingId(),
        failed.paid().paymentIntentId());
    int closed =
        app.db.execute(
            "UPDATE payment_refunds SET closed_at = now(), close_outcome = 'not_owed',"
                + " close_reason = 'owed by automatic moderation_rejection refund ' || ?"
                + " || ' (part 1)', closed_for = ?, updated_at = now()"
                + " WHERE id = ? AND status = 'failed' AND closed_at IS NULL",
            rejection.toString(),
            rejection,
            failed.id());
    assertThat(closed).isEqualTo(1);
    assertThat(post(failed.id(), "retry", null).status())
        .as("a closed refund retried")
        .isEqualTo(409);

    // When an admin rejects the rejection's refund (the listing broke no rule after all)
    Http.Response rejected = post(rejection, "reject", Map.of("reason", "rejected by mistake"));

    // Then the owner's refund is open again, and an admin's retry refunds it
    assertThat(rejected.status()).as(rejected.toString()).isEqualTo(200);
    assertThat(rejected.json().get("status").asText()).isEqualTo("rejected");
    assertThat(
            app.db.row(
                "SELECT closed_at, close_outcome FROM payment_refunds WHERE id = ?", failed.id()))
        .hasValueSatisfying(
            row ->
                assertThat(row)
                    .containsEntry("closed_at", null)
                    .containsEntry("close_outcome", null));
    Http.Response retried = post(failed.id(), "retry", null);
    assertThat(retried.status()).as(retried.toString()).isEqualTo(200);
    assertThat(retried.json().get("status").asText()).isEqualTo("processed");
    assertThat(app.refundsAtStripe(failed.paid().paymentIntentId())).hasSize(1);
  }

  @Test
  void shouldTakeACloseWithoutAnOutcomeAsBeforeOutcomesWereKept() {
    // Given a refund Stripe failed, closed as the previous release closes one (no outcome), as it
    // does while a deployment rolls, or did before
    Failed failed = failedRefund();
    int closed =
        app.db.execute(
            "UPDATE payment_refunds SET closed_at = now(), close_reason = 'old release',"
                + " updated_at = now() WHERE id = ? AND status = 'failed' AND closed_at IS NULL",
            failed.id());
    assertThat(closed).isEqualTo(1);

    // When an admin refunds the payment
    long amount =
        ((Number)
                app.db
                    .row("SELECT amount_cents FROM payment_refunds WHERE id = ?", failed.id())
                    .orElseThrow()
                    .get("amount_cents"))
            .longValue();
    Http.Response refund = adminRefund(failed.paid().paymentIntentId(), amount);

    // Then its room is free, as it was before outcomes were kept
    assertThat(refund.status()).as(refund.toString()).isEqualTo(201);
  }

  @Test
  void shouldRefuseToCloseAFailedRefundWithoutSayingWhereItsMoneyStands() {
    // Given a refund Stripe failed
    Failed failed = failedRefund();

    // When the admin closes it giving only a reason, or an outcome we do not know
    Http.Response bare = post(failed.id(), "close", Map.of("reason", "done"));
    Http.Response unknown = post(failed.id(), "close", Map.of("reason", "done", "outcome", "paid"));

    // Then both are refused naming the field, and the refund still waits in the failed queue
    assertThat(bare.status()).isEqualTo(400);
    assertThat(bare.json().get("detail").asText()).contains("outcome");
    assertThat(unknown.status()).isEqualTo(400);
    assertThat(unknown.json().get("detail").asText())
        .contains("outcome: must be one of not_owed, refunded_elsewhere");
    assertThat(failedQueue()).contains(failed.id().toString());
  }

  private static Http.Response adminRefund(String paymentIntentId, long amountCents) {
    return app.http
        .post("/admin/api/marketplace/payments/" + paymentIntentId + "/refunds")
        .token(Tokens.admin(ADMIN))
        .header("Idempotency-Key", UUID.randomUUID().toString())
        .json(Map.of("amountCents", amountCents, "reason", "goodwill"))
        .send();
  }

  @Test
  void shouldRefundUnderANewIdempotencyKeyWhenTheAdminRetriesAFailedRefund() {
    // Given a refund that Stripe failed after creating it (as the refund worker records it)
    Failed failed = failedRefund();
    assertThat(failedQueue()).contains(failed.id().toString());

    // When the admin retries it
    Http.Response retried = post(failed.id(), "retry", null);

    // Then Stripe refunds it as a new attempt, with a new refund, and it is processed
    assertThat(retried.status()).isEqualTo(200);
    assertThat(retried.json().get("status").asText()).isEqualTo("processed");
    String stripeRefundId = retried.json().get("stripeRefundId").asText();
    assertThat(stripeRefundId).startsWith("re_").doesNotStartWith("re_failed");
    Map<String, Object> atStripe = app.stripe.object(stripeRefundId).orElseThrow();
    assertThat(atStripe.get("metadata"))
        .isEqualTo(
            Map.of(
                RefundExecutor.METADATA_REFUND_ID,
                failed.id().toString(),
                "refund_reason",
                "user_request",
                RefundExecutor.METADATA_ATTEMPT,
                "1"));
    assertThat(failedQueue()).doesNotContain(failed.id().toString());

    // and a refund that is not failed is not retried
    assertThat(post(failed.id(), "retry", null).status()).isEqualTo(409);
  }

  @Test
  void shouldLeaveAFailedRefundOfAnAdminsOwnPaymentToAnotherAdmin() {
    // Given a refund that Stripe failed, of a payment made by a super_admin's own account
    Failed failed = failedRefund();
    UUID owner = failed.owner();

    // When that admin retries it, or closes it, themselves
    Http.Response retried =
        app.http
            .post("/admin/api/marketplace/refunds/" + failed.id() + "/retry")
            .token(Tokens.admin(owner))
            .send();
    Http.Response closed =
        app.http
            .post("/admin/api/marketplace/refunds/" + failed.id() + "/close")
            .token(Tokens.admin(owner))
            .json(Map.of("reason", "paid myself back", "outcome", "refunded_elsewhere"))
            .send();

    // Then both are refused (four eyes: another admin decides), saying why, and nothing changed:
    // the refund still waits in the failed queue, open, and Stripe refunded nothing
    for (Http.Response refused : List.of(retried, closed)) {
      assertThat(refused.status()).as(refused.toString()).isEqualTo(403);
      assertThat(refused.json().get("detail").asText()).contains("own").contains("another admin");
    }
    assertThat(app.db.row("SELECT closed_at FROM payment_refunds WHERE id = ?", failed.id()))
        .hasValueSatisfying(row -> assertThat(row.get("closed_at")).isNull());
    assertThat(failedQueue()).contains(failed.id().toString());
    assertThat(app.refundsAtStripe(failed.paid().paymentIntentId())).isEmpty();

    // And another admin may retry it
    Http.Response byAnother = post(failed.id(), "retry", null);
    assertThat(byAnother.status()).as(byAnother.toString()).isEqualTo(200);
    assertThat(byAnother.json().get("status").asText()).isEqualTo("processed");
  }

  private static List<String> failedQueue() {
    Http.Response queue =
        app.http
            .get("/admin/api/marketplace/refunds?status=failed")
            .token(Tokens.admin(ADMIN))
            .send();
    assertThat(queue.status()).isEqualTo(200);
    assertThat(queue.json().findValuesAsText("status")).allMatch("failed"::equals);
    return queue.json().findValuesAsText("id");
  }

  /** A refund the owner of a paid listing asked for, approved, then failed by Stripe. */
  private record Failed(UUID owner, TestApi.PaidListing paid, UUID id) {}

  private static Failed failedRefund() {
    UUID owner = UUID.randomUUID();
    TestApi.PaidListing paid = app.paidListing(owner);
    UUID refundId = requestRefund(owner, paid);
    app.failedAtStripe(refundId);
    return new Failed(owner, paid, refundId);
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

  private static Http.Response post(UUID refundId, String action, Object body) {
    var call =
        app.http
            .post("/admin/api/marketplace/refunds/" + refundId + "/" + action)
            .token(Tokens.admin(ADMIN));
    return body == null ? call.send() : call.json(body).send();
  }
}
