package io.marketplace.payments.checkout.admin;

import static org.assertj.core.api.Assertions.assertThat;

import com.stripe.model.Refund;
import io.marketplace.payments.checkout.Http;
import io.marketplace.payments.checkout.TestApi;
import io.marketplace.payments.checkout.Tokens;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Two super_admins deciding on the same refund at the same moment. */
class ConcurrentRefundDecisionsTest {

  private static TestApi app;

  @BeforeAll
  static void start() {
    app = TestApi.shared();
  }

  private record Pending(UUID refundId, String paymentIntentId) {}

  private static Pending pendingRefund() {
    UUID owner = UUID.randomUUID();
    TestApi.PaidListing paid = app.paidListing(owner);
    Http.Response response =
        app.http
            .post("/api/marketplace/listings/" + paid.listingId() + "/refund-request")
            .token(Tokens.user(owner))
            .json(Map.of("reason", "changed my mind"))
            .send();
    assertThat(response.status()).isEqualTo(202);
    return new Pending(UUID.fromString(response.json().get("id").asText()), paid.paymentIntentId());
  }

  private static List<Http.Response> atOnce(List<Http.Call> calls) throws Exception {
    ExecutorService threads = Executors.newFixedThreadPool(calls.size());
    try {
      CountDownLatch go = new CountDownLatch(1);
      List<Future<Http.Response>> sent = new ArrayList<>();
      for (Http.Call call : calls) {
        sent.add(
            threads.submit(
                () -> {
                  go.await();
                  return call.send();
                }));
      }
      go.countDown();
      List<Http.Response> answers = new ArrayList<>();
      for (Future<Http.Response> future : sent) {
        answers.add(future.get(60, TimeUnit.SECONDS));
      }
      return answers;
    } finally {
      threads.shutdownNow();
    }
  }

  private static Http.Call decide(UUID admin, UUID refundId, String decision, Object body) {
    Http.Call call =
        app.http
            .post("/admin/api/marketplace/refunds/" + refundId + "/" + decision)
            .token(Tokens.admin(admin));
    return body == null ? call : call.json(body);
  }

  @Test
  void shouldRefundOnceWhenTwoAdminsApproveTheSameRefundAtOnce() throws Exception {
    for (int round = 0; round < 3; round++) {
      // Given a pending request for a 500-cent posting fee
      Pending pending = pendingRefund();

      // When two admins approve it at the same moment
      List<Http.Response> answers =
          atOnce(
              List.of(
                  decide(UUID.randomUUID(), pending.refundId(), "approve", null),
                  decide(UUID.randomUUID(), pending.refundId(), "approve", null)));

      // Then one approves it, and the other finds it approved (200) or, when the first already
      // had Stripe's answer, processed (409 saying so); Stripe refunds it once, decided once
      assertThat(answers).as(answers.toString()).anyMatch(r -> r.status() == 200);
      assertThat(answers)
          .as(answers.toString())
          .allMatch(
              r ->
                  r.status() == 200
                      || (r.status() == 409
                          && r.json().get("detail").asText().contains("processed")));
      assertThat(app.refundsAtStripe(pending.paymentIntentId()))
          .singleElement()
          .extracting(Refund::getAmount)
          .isEqualTo(500L);
      assertThat(
              app.db.count(
                  "payment_refunds WHERE id = ? AND status = 'processed'", pending.refundId()))
          .isEqualTo(1);
      assertThat(
              app.db.count(
                  "refund_decisions WHERE refund_id = ? AND decision = 'approved'",
                  pending.refundId()))
          .isEqualTo(1);
    }
  }

  @Test
  void shouldTakeOneDecisionWhenOneAdminApprovesWhileAnotherRejects() throws Exception {
    for (int round = 0; round < 3; round++) {
      // Given a pending request for a 500-cent posting fee
      Pending pending = pendingRefund();

      // When one admin approves it while another rejects it
      List<Http.Response> answers =
          atOnce(
              List.of(
                  decide(UUID.randomUUID(), pending.refundId(), "approve", null),
                  decide(
                      UUID.randomUUID(),
                      pending.refundId(),
                      "reject",
                      Map.of("reason", "not eligible"))));

      // Then one decision is taken and the other refused; Stripe refunds only if approved
      assertThat(answers)
          .as(answers.toString())
          .extracting(Http.Response::status)
          .containsExactlyInAnyOrder(200, 409);
      boolean approved = answers.getFirst().status() == 200;
      assertThat(app.refundsAtStripe(pending.paymentIntentId())).hasSize(approved ? 1 : 0);
      assertThat(app.db.count("refund_decisions WHERE refund_id = ?", pending.refundId()))
          .isEqualTo(1);
    }
  }
}
