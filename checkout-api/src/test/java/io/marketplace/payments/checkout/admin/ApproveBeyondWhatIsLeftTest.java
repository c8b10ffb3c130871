package io.marketplace.payments.checkout.admin;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.checkout.Http;
import io.marketplace.payments.checkout.TestApi;
import io.marketplace.payments.checkout.Tokens;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A user's request pending review reserves its share of the payment in checkout-api, but the refund
 * worker's automatic refund (a moderation rejection within 24 h) does not wait for an admin: it
 * gives back what was not returned yet. Approving the request afterwards must not send Stripe a
 * second refund of money already returned.
 */
class ApproveBeyondWhatIsLeftTest {

  private static TestApi app;
  private static final UUID ADMIN = UUID.randomUUID();

  @BeforeAll
  static void start() {
    app = TestApi.shared();
  }

  @Test
  void shouldRefuseToApproveARefundOfMoneyAlreadyReturned() {
    // Given a paid posting fee of 500 cents whose owner asked for it back (pending review)
    UUID owner = UUID.randomUUID();
    TestApi.PaidListing paid = app.paidListing(owner);
    Http.Response requested =
        app.http
            .post("/api/marketplace/listings/" + paid.listingId() + "/refund-request")
            .token(Tokens.user(owner))
            .json(Map.of("reason", "changed my mind"))
            .send();
    assertThat(requested.status()).as(requested.toString()).isEqualTo(202);
    UUID pending = UUID.fromString(requested.json().get("id").asText());

    // and then moderation rejected the listing within 24 h, so the refund worker refunded the 500
    // cents at once (as it does: a pending request does not count for it)
    Map<String, Object> automatic = app.stripe.refundOutsideSystem(paid.paymentIntentId(), 500L);
    app.db.execute(
        """
        INSERT INTO payment_refunds
            (id, user_id, listing_id, stripe_payment_intent_id, stripe_refund_id, amount_cents,
             reason, status, processed_at)
        VALUES (?, ?, ?, ?, ?, 500, 'moderation_rejection', 'processed', now())
        """,
        UUID.randomUUID(),
        owner,
        paid.listingId(),
        paid.paymentIntentId(),
        automatic.get("id"));

    // When a super_admin approves the pending request
    Http.Response approved =
        app.http
            .post("/admin/api/marketplace/refunds/" + pending + "/approve")
            .token(Tokens.admin(ADMIN))
            .send();

    // Then it is refused as more than is left of the payment, without asking Stripe again
    assertThat(approved.status()).as(approved.toString()).isEqualTo(409);
    assertThat(app.refundsAtStripe(paid.paymentIntentId())).hasSize(1);
  }
}
