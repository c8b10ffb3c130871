package io.marketplace.payments.checkout.admin;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.marketplace.payments.checkout.Http;
import io.marketplace.payments.checkout.TestApi;
import io.marketplace.payments.checkout.Tokens;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.refund.RefundExecutor;
import io.marketplace.payments.testsupport.KafkaTestClient;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
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
        post(refundId, "close", Map.of("reason", "refunded from Stripe's dashboard"));

    // Then it stays failed, closed, and can no longer be retried
    assertThat(closed.status()).isEqualTo(200);
    assertThat(closed.json().get("status").asText()).isEqualTo("failed");
    assertThat(closed.json().get("closedAt").isNull()).isFalse();
    assertThat(post(refundId, "retry", null).status()).isEqualTo(409);
    assertThat(post(refundId, "close", Map.of("reason", "again")).status()).isEqualTo(409);
  }

  @Test
  void shouldRefundUnderANewIdempotencyKeyWhenTheAdminRetriesAFailedRefund() {
    // Given a refund that Stripe failed after creating it (as the refund worker records it)
    UUID owner = UUID.randomUUID();
    TestApi.PaidListing paid = app.paidListing(owner);
    UUID refundId = requestRefund(owner, paid);
    app.failedAtStripe(refundId);
    assertThat(failedQueue()).contains(refundId.toString());

    // When the admin retries it
    Http.Response retried = post(refundId, "retry", null);

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
                refundId.toString(),
                "refund_reason",
                "user_request",
                RefundExecutor.METADATA_ATTEMPT,
                "1"));
    assertThat(failedQueue()).doesNotContain(refundId.toString());

    // and a refund that is not failed is not retried
    assertThat(post(refundId, "retry", null).status()).isEqualTo(409);
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
