package io.marketplace.payments.checkout.checkout;

import static org.assertj.core.api.Assertions.assertThat;

import com.stripe.model.PaymentIntent;
import io.marketplace.payments.checkout.Http;
import io.marketplace.payments.checkout.StripeGate;
import io.marketplace.payments.checkout.Tokens;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Stripe made the PaymentIntent, and its answer never reached us (our call timed out, the
 * connection broke): the purchase's attempt stays open without a PaymentIntent, and the buyer's
 * retry, under any Idempotency-Key, reaches the one Stripe made, never a second one to pay.
 */
class StripeAnswerLostTest {

  private static StripeGate.Gated gated;

  @BeforeAll
  static void start() {
    gated = StripeGate.Gated.start();
    gated.gate().open.countDown(); // nothing held here: answers are lost instead
  }

  @AfterAll
  static void stop() {
    if (gated != null) {
      gated.close();
    }
  }

  @Test
  void shouldHandOutThePaymentIntentStripeMadeWhenItsAnswerWasLost() {
    // Given a checkout whose PaymentIntent Stripe made, its answer lost on the way back
    UUID owner = UUID.randomUUID();
    UUID listingId = gated.app().createListing(owner, "housing");
    gated.gate().loseCreationAnswers(true);
    Http.Response lost = gated.app().checkout(owner, listingId, UUID.randomUUID().toString());
    gated.gate().loseCreationAnswers(false);
    assertThat(lost.status()).as(lost.toString()).isEqualTo(503);
    assertThat(lost.header("Retry-After")).isPresent();
    String made = gated.gate().lostPaymentIntents().getLast();

    // When the buyer tries again, under a new Idempotency-Key
    Http.Response retried = gated.app().checkout(owner, listingId, UUID.randomUUID().toString());

    // Then the retry hands out the PaymentIntent Stripe made, the listing's only one
    assertThat(retried.status()).as(retried.toString()).isEqualTo(200);
    assertThat(retried.json().get("paymentIntentId").asText()).isEqualTo(made);
    assertThat(gated.app().paymentIntentsOf(listingId))
        .extracting(PaymentIntent::getId)
        .containsExactly(made);
    assertThat(gated.app().db.count("payments WHERE listing_id = ?", listingId)).isEqualTo(1);
  }

  @Test
  void shouldStartThePurchaseAfreshWhenTheListingChangedSinceStripeMadeItsPaymentIntent() {
    // Given a checkout whose PaymentIntent Stripe made, its answer lost on the way back
    UUID owner = UUID.randomUUID();
    UUID listingId = gated.app().createListing(owner, "housing");
    gated.gate().loseCreationAnswers(true);
    Http.Response lost = gated.app().checkout(owner, listingId, UUID.randomUUID().toString());
    gated.gate().loseCreationAnswers(false);
    assertThat(lost.status()).as(lost.toString()).isEqualTo(503);
    String made = gated.gate().lostPaymentIntents().getLast();

    // and the listing moved to another category meanwhile (an operator's correction), so the
    // purchase's PaymentIntent would now be asked for with other metadata, which Stripe refuses
    // under the key it already answered (400 idempotency_error)
    gated
        .app()
        .db
        .execute(
            "UPDATE marketplace_listings SET category_id = (SELECT id FROM categories"
                + " WHERE slug = 'jobs') WHERE id = ?",
            listingId);

    // When the buyer tries again, following Retry-After
    Http.Response retried =
        gated
            .app()
            .http
            .post("/api/marketplace/listings/" + listingId + "/checkout")
            .token(Tokens.user(owner))
            .idempotencyKey(UUID.randomUUID().toString())
            .sendWhileInProgress(Duration.ofSeconds(20));

    // Then the purchase starts afresh: a new PaymentIntent for the listing as it is now, not a 502
    // for as long as Stripe remembers the old key (a day)
    assertThat(retried.status()).as(retried.toString()).isEqualTo(200);
    String paymentIntentId = retried.json().get("paymentIntentId").asText();
    assertThat(paymentIntentId).isNotEqualTo(made);
    assertThat(retried.json().get("amountCents").asLong()).isEqualTo(1000);
    PaymentIntent intent =
        gated.app().paymentIntentsOf(listingId).stream()
            .filter(pi -> pi.getId().equals(paymentIntentId))
            .findFirst()
            .orElseThrow();
    assertThat(intent.getAmount()).isEqualTo(1000);
    assertThat(intent.getMetadata()).containsEntry("category_id", "2");
    // and it is the only one recorded: the one whose answer was lost was never handed out
    assertThat(gated.app().db.count("payments WHERE listing_id = ?", listingId)).isEqualTo(1);
    assertThat(
            gated
                .app()
                .db
                .count(
                    "checkout_attempts WHERE listing_id = ? AND status = 'closed'"
                        + " AND stripe_payment_intent_id IS NULL",
                    listingId))
        .isEqualTo(1);
  }
}
