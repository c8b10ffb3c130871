package io.marketplace.payments.checkout.admin;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.checkout.Http;
import io.marketplace.payments.checkout.StripeGate;
import io.marketplace.payments.checkout.TestApi;
import io.marketplace.payments.checkout.Tokens;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A moderation rejection cancels at Stripe the listing's purchases that can still be paid, and only
 * those. A purchase is closed only when the next one of its kind starts, so a paid promotion's
 * attempt is usually still open when its listing is rejected: Stripe refuses to cancel a paid
 * PaymentIntent, and asking it only logs a warning that means nothing. Calls to Stripe go through a
 * gate that lists them, since a refused cancel leaves nothing in the emulator's state.
 */
class RejectionOfPaidPurchasesTest {

  private static TestApi app;
  private static StripeGate.Gated gated;
  private static StripeGate gate;

  @BeforeAll
  static void start() {
    gated = StripeGate.Gated.start();
    app = gated.app();
    gate = gated.gate();
    gate.open.countDown(); // nothing is held here: every call goes straight through
  }

  @AfterAll
  static void stop() {
    if (gated != null) {
      gated.close();
    }
  }

  @Test
  void shouldCancelTheUnpaidPromotionButNotAskStripeToCancelThePaidOne() {
    // Given an active listing with a featured promotion paid (its attempt still open, as it stays
    // until the next featured purchase) and a bump checked out but not paid
    UUID owner = UUID.randomUUID();
    UUID listingId = app.paidListing(owner).listingId();
    String featured = promote(owner, listingId, "featured");
    app.payAtStripe(featured);
    app.db.execute(
        "UPDATE payments SET status = 'succeeded', succeeded_at = ? WHERE stripe_payment_intent_id = ?",
        Instant.now(),
        featured);
    String bump = promote(owner, listingId, "bump");

    // When moderation rejects the listing
    Http.Response response = reject(listingId);

    // Then the unpaid bump is canceled at Stripe, and the paid promotion was left alone
    assertThat(response.status()).as(response.toString()).isEqualTo(200);
    assertThat(app.stripe.object(bump).orElseThrow().get("status")).isEqualTo("canceled");
    assertThat(app.stripe.object(featured).orElseThrow().get("status")).isEqualTo("succeeded");
    assertThat(gate.calls()).contains(cancelOf(bump)).doesNotContain(cancelOf(featured));
  }

  @Test
  void shouldNotCancelAPaymentOnItsWayToBeingPaid() {
    // Given an active listing whose featured promotion is processing (its bank said yes, the money
    // is on its way): the emulator has no processing state, its PaymentIntent stays payable there,
    // so a cancel would show
    UUID owner = UUID.randomUUID();
    UUID listingId = app.paidListing(owner).listingId();
    String featured = promote(owner, listingId, "featured");
    app.db.execute(
        "UPDATE payments SET status = 'processing' WHERE stripe_payment_intent_id = ?", featured);

    // When moderation rejects the listing
    Http.Response response = reject(listingId);

    // Then the payment is not canceled: if it succeeds, it is refunded as a dead listing's
    assertThat(response.status()).as(response.toString()).isEqualTo(200);
    assertThat(app.stripe.object(featured).orElseThrow().get("status")).isNotEqualTo("canceled");
    assertThat(gate.calls()).doesNotContain(cancelOf(featured));
  }

  private static String promote(UUID owner, UUID listingId, String type) {
    Http.Response promoted = app.promote(owner, listingId, type);
    assertThat(promoted.status()).as(promoted.toString()).isEqualTo(200);
    return promoted.json().get("paymentIntentId").asText();
  }

  private static Http.Response reject(UUID listingId) {
    return app.http
        .post("/admin/api/marketplace/listings/" + listingId + "/reject")
        .token(Tokens.admin(UUID.randomUUID()))
        .json(Map.of("reason", "counterfeit"))
        .send();
  }

  private static String cancelOf(String paymentIntentId) {
    return "POST /v1/payment_intents/" + paymentIntentId + "/cancel";
  }
}
