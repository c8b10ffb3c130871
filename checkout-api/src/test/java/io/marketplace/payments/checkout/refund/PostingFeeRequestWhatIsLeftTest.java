package io.marketplace.payments.checkout.refund;

import static org.assertj.core.api.Assertions.assertThat;

import com.stripe.model.Refund;
import io.marketplace.payments.checkout.Http;
import io.marketplace.payments.checkout.TestApi;
import io.marketplace.payments.checkout.Tokens;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A request for the posting fee back (no {@code paymentIntentId}) counts what is left of the fee as
 * a request naming the payment does: what went back, is on its way, or awaits review.
 */
class PostingFeeRequestWhatIsLeftTest {

  private static TestApi app;
  private static final UUID ADMIN = UUID.randomUUID();

  @BeforeAll
  static void start() {
    app = TestApi.shared();
  }

  private static Http.Response request(UUID userId, UUID listingId) {
    return app.http
        .post("/api/marketplace/listings/" + listingId + "/refund-request")
        .token(Tokens.user(userId))
        .json(Map.of("reason", "sold elsewhere"))
        .send();
  }

  @Test
  void shouldTakeARequestForTheFeeWhenItsOnlyChargebackWasWon() {
    // Given a paid posting fee whose chargeback was recorded and then won: the card network gave
    // the 500 cents back to us, so none of the fee went back to the owner
    UUID owner = UUID.randomUUID();
    TestApi.PaidListing paid = app.paidListing(owner);
    String dispute = "du_" + UUID.randomUUID().toString().replace("-", "");
    app.db.execute(
        """
        INSERT INTO payment_disputes
            (stripe_dispute_id, stripe_payment_intent_id, user_id, amount_cents, reason, status,
             is_inquiry, closed_at)
        VALUES (?, ?, ?, 500, 'fraudulent', 'won', false, now())
        """,
        dispute,
        paid.paymentIntentId(),
        owner);
    app.db.execute(
        """
        INSERT INTO payment_refunds
            (id, user_id, listing_id, stripe_payment_intent_id, stripe_dispute_id, amount_cents,
             reason, status, processed_at)
        VALUES (?, ?, ?, ?, ?, 500, 'chargeback', 'processed', now())
        """,
        UUID.randomUUID(),
        owner,
        paid.listingId(),
        paid.paymentIntentId(),
        dispute);

    // When the owner asks for the fee back
    Http.Response response = request(owner, paid.listingId());

    // Then the request is taken for the whole fee, as a request naming the payment would be
    assertThat(response.status()).as(response.toString()).isEqualTo(202);
    assertThat(response.json().get("amountCents").asLong()).isEqualTo(500);
    assertThat(response.json().get("status").asText()).isEqualTo("pending");
  }

  @Test
  void shouldAskOnlyForWhatIsLeftWhileADashboardRefundAwaitsThePaymentsRow() {
    // Given a paid posting fee of 500 cents, 200 of which were refunded in Stripe's dashboard, a
    // refund the refund worker keeps aside until the payment's row is ready for it
    UUID owner = UUID.randomUUID();
    TestApi.PaidListing paid = app.paidListing(owner);
    Map<String, Object> dashboard = app.stripe.refundOutsideSystem(paid.paymentIntentId(), 200L);
    awaitPayment(paid.paymentIntentId(), dashboard, 200);

    // When the owner asks for the fee back, and a super_admin approves the request
    Http.Response response = request(owner, paid.listingId());
    assertThat(response.status()).as(response.toString()).isEqualTo(202);
    Http.Response approved =
        app.http
            .post(
                "/admin/api/marketplace/refunds/" + response.json().get("id").asText() + "/approve")
            .token(Tokens.admin(ADMIN))
            .send();

    // Then the request is for the 300 cents left, and its approval refunds them: the owner gets
    // the whole fee back, once, rather than a request its approval refuses as too much
    assertThat(response.json().get("amountCents").asLong()).isEqualTo(300);
    assertThat(approved.status()).as(approved.toString()).isEqualTo(200);
    assertThat(approved.json().get("status").asText()).isEqualTo("processed");
    assertThat(app.refundsAtStripe(paid.paymentIntentId()))
        .extracting(Refund::getAmount)
        .containsExactlyInAnyOrder(200L, 300L);
  }

  @Test
  void shouldRefuseARequestWhileADashboardRefundOfAllOfItAwaitsThePaymentsRow() {
    // Given a paid posting fee refunded in full in Stripe's dashboard, kept aside by the refund
    // worker until the payment's row is ready for it
    UUID owner = UUID.randomUUID();
    TestApi.PaidListing paid = app.paidListing(owner);
    Map<String, Object> dashboard = app.stripe.refundOutsideSystem(paid.paymentIntentId(), 500L);
    awaitPayment(paid.paymentIntentId(), dashboard, 500);

    // When the owner asks for the fee back
    Http.Response response = request(owner, paid.listingId());

    // Then nothing is left to ask for, and no request is recorded for an admin to approve
    assertThat(response.status()).as(response.toString()).isEqualTo(409);
    assertThat(response.json().get("detail").asText()).contains("nothing is left to refund");
    assertThat(app.db.count("payment_refunds WHERE listing_id = ?", paid.listingId())).isZero();
  }

  /** A refund made at Stripe, kept by the refund worker until the payment's row is ready. */
  private static void awaitPayment(
      String paymentIntentId, Map<String, Object> refund, long amountCents) {
    app.db.execute(
        """
        INSERT INTO refunds_awaiting_payment
            (stripe_refund_id, stripe_payment_intent_id, amount_cents, refund, parked_at)
        VALUES (?, ?, ?, '{}'::jsonb, now())
        """,
        refund.get("id"),
        paymentIntentId,
        amountCents);
  }
}
