package io.marketplace.payments.checkout.checkout;

import static org.assertj.core.api.Assertions.assertThat;

import com.stripe.model.PaymentIntent;
import io.marketplace.payments.checkout.Http;
import io.marketplace.payments.checkout.TestApi;
import java.util.UUID;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A checkout whose open purchase holds a PaymentIntent that Stripe answers 404 {@code
 * resource_missing} for: deleted (test mode's "delete all test data"), or, seen with a key of
 * another account or mode, one that may still exist there.
 */
class PaymentIntentGoneTest {

  private static TestApi app;

  @BeforeAll
  static void start() {
    app = TestApi.shared();
  }

  @Test
  void shouldStartThePurchaseAfreshWhenStripeNoLongerHasThePaymentIntentItMadeForTheKeyInUse() {
    // Given a listing checked out, whose PaymentIntent Stripe then deleted
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "housing");
    String gone = app.checkout(owner, listingId).json().get("paymentIntentId").asText();
    app.stripe.deletePaymentIntent(gone);

    // When the owner checks out again
    Http.Response again = app.checkout(owner, listingId);

    // Then the purchase starts afresh with a new PaymentIntent, which can be paid, instead of a
    // 502 on every retry: the key that made the old one no longer finds it, so nobody can pay it
    assertThat(again.status()).as(again.toString()).isEqualTo(200);
    String fresh = again.json().get("paymentIntentId").asText();
    assertThat(fresh).isNotEqualTo(gone);
    assertThat(again.json().get("amountCents").asLong()).isEqualTo(500);
    assertThat(app.payAtStripe(fresh).getStatus()).isEqualTo("succeeded");
    assertThat(
            app.db.count(
                "checkout_attempts WHERE listing_id = ? AND status = 'closed'"
                    + " AND stripe_payment_intent_id = ?",
                listingId,
                gone))
        .isEqualTo(1);
    assertThat(
            app.db.count(
                "checkout_attempts WHERE listing_id = ? AND status = 'open'"
                    + " AND stripe_payment_intent_id = ?",
                listingId,
                fresh))
        .isEqualTo(1);
    // and a further checkout hands out the new one again
    assertThat(app.checkout(owner, listingId).json().get("paymentIntentId").asText())
        .isEqualTo(fresh);
  }

  @Test
  void shouldNeverReplaceAPaymentIntentMadeWithAnotherKeyThatStripeDoesNotFindWithThisOne() {
    // Given a listing checked out, its PaymentIntent made with the key of another Stripe account
    // (the key was rotated to another account since), which the key in use does not find
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "housing");
    String elsewhere = app.checkout(owner, listingId).json().get("paymentIntentId").asText();
    app.db.execute(
        "UPDATE checkout_attempts SET stripe_key_fingerprint = 'made-with-another-key'"
            + " WHERE stripe_payment_intent_id = ?",
        elsewhere);
    app.stripe.deletePaymentIntent(elsewhere);

    // When the owner checks out again
    Http.Response again = app.checkout(owner, listingId);

    // Then no second PaymentIntent is made: the first may still be payable in the account that
    // made it, and the buyer would pay twice; the answer says why, in words of its own
    assertThat(again.status()).as(again.toString()).isEqualTo(502);
    assertThat(again.contentType()).startsWith("application/problem+json");
    assertThat(again.json().get("detail").asText())
        .contains(elsewhere)
        .contains("not replaced")
        .doesNotContain("No such");
    assertThat(app.paymentIntentsOf(listingId)).extracting(PaymentIntent::getId).isEmpty();
    assertThat(app.db.count("payments WHERE listing_id = ?", listingId)).isEqualTo(1);
    assertThat(
            app.db.count(
                "checkout_attempts WHERE listing_id = ? AND status = 'open'"
                    + " AND stripe_payment_intent_id = ?",
                listingId,
                elsewhere))
        .isEqualTo(1);
  }
}
