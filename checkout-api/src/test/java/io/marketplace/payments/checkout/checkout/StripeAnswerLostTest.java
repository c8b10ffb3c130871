package io.marketplace.payments.checkout.checkout;

import static org.assertj.core.api.Assertions.assertThat;

import com.stripe.model.PaymentIntent;
import io.marketplace.payments.checkout.Http;
import io.marketplace.payments.checkout.StripeGate;
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
}
