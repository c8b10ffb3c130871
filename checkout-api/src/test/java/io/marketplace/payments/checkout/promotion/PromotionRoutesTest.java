package io.marketplace.payments.checkout.promotion;

import static org.assertj.core.api.Assertions.assertThat;

import com.stripe.model.PaymentIntent;
import io.marketplace.payments.checkout.Http;
import io.marketplace.payments.checkout.TestApi;
import io.marketplace.payments.checkout.Tokens;
import io.marketplace.payments.stripeemulator.http.ApiFaults;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class PromotionRoutesTest {

  private static TestApi app;

  @BeforeAll
  static void start() {
    app = TestApi.shared();
  }

  @Test
  void shouldChargeFiveDollarsWhenFeaturingAnActiveListing() {
    // Given
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "for-sale");

    // When
    Http.Response response = app.promote(owner, listingId, "featured");

    // Then
    assertThat(response.status()).isEqualTo(200);
    assertThat(response.json().get("amountCents").asInt()).isEqualTo(500);
    List<PaymentIntent> intents = app.paymentIntentsOf(listingId);
    assertThat(intents).hasSize(1);
    assertThat(intents.getFirst().getAmount()).isEqualTo(500L);
    assertThat(intents.getFirst().getMetadata())
        .containsEntry("payment_type", "promotion_featured")
        .containsEntry("category_id", "7");
    assertThat(
            app.db.count(
                "payments WHERE listing_id = ? AND payment_type = 'promotion_featured'", listingId))
        .isEqualTo(1);
    assertThat(app.metrics())
        .containsPattern(
            "homepage_payments_intents_created_total\\{[^}]*type=\"promotion_featured\"");
  }

  @Test
  void shouldChargeTwoDollarsWhenBumpingAnActiveListing() {
    // Given a listing bumped more than 24 hours ago
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "services");
    app.db.execute(
        "UPDATE marketplace_listings SET last_bumped_at = ? WHERE id = ?",
        Instant.now().minus(Duration.ofHours(25)),
        listingId);

    // When
    Http.Response response = app.promote(owner, listingId, "bump");

    // Then
    assertThat(response.status()).isEqualTo(200);
    assertThat(response.json().get("amountCents").asInt()).isEqualTo(200);
    assertThat(app.paymentIntentsOf(listingId).getFirst().getMetadata())
        .containsEntry("payment_type", "promotion_bump");
  }

  @Test
  void shouldAnswer409WhenBumpedWithin24Hours() {
    // Given
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "for-sale");
    app.db.execute(
        "UPDATE marketplace_listings SET last_bumped_at = ? WHERE id = ?",
        Instant.now().minus(Duration.ofHours(23)),
        listingId);

    // When
    Http.Response response = app.promote(owner, listingId, "bump");

    // Then
    assertThat(response.status()).isEqualTo(409);
    assertThat(response.json().get("detail").asText()).contains("bumped");
    assertThat(app.paymentIntentsOf(listingId)).isEmpty();
  }

  @Test
  void shouldAnswer409WhenListingIsNotActive() {
    // Given one listing awaiting payment and one rejected
    UUID owner = UUID.randomUUID();
    UUID pending = app.createListing(owner, "housing");
    UUID rejected = app.createListing(owner, "for-sale");
    app.db.execute("UPDATE marketplace_listings SET status = 'rejected' WHERE id = ?", rejected);

    // When
    Http.Response pendingResponse = app.promote(owner, pending, "featured");
    Http.Response rejectedResponse = app.promote(owner, rejected, "bump");

    // Then
    assertThat(pendingResponse.status()).isEqualTo(409);
    assertThat(pendingResponse.json().get("detail").asText()).contains("pending_payment");
    assertThat(rejectedResponse.status()).isEqualTo(409);
  }

  @Test
  void shouldAnswer409WhenAFeaturedWeekWouldRunPastTheListingsEnd() {
    // Given an active listing, not featured, that ends in 3 days
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "for-sale");
    Instant ends = Instant.now().plus(Duration.ofDays(3));
    app.endListingAt(listingId, ends);

    // When its owner buys a featured week
    Http.Response response = app.promote(owner, listingId, "featured");

    // Then nothing is charged for a week of which four days would run on an expired listing
    assertThat(response.status()).as(response.toString()).isEqualTo(409);
    assertThat(response.json().get("detail").asText())
        .contains("ends at")
        .contains("a featured week of 7 days");
    assertThat(app.paymentIntentsOf(listingId)).isEmpty();
  }

  @Test
  void shouldCancelTheOpenFeaturedPaymentIntentWhenTheWeekNoLongerFits() {
    // Given a featured week checked out, not paid, on a listing with a month to run
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "for-sale");
    Http.Response first = app.promote(owner, listingId, "featured");
    assertThat(first.status()).as(first.toString()).isEqualTo(200);
    String handedOut = first.json().get("paymentIntentId").asText();

    // When the listing's end has come within a week, and its owner asks again
    app.endListingAt(listingId, Instant.now().plus(Duration.ofDays(3)));
    Http.Response again = app.promote(owner, listingId, "featured");

    // Then the purchase is refused, and the PaymentIntent handed out before cannot be paid any
    // more: nobody is charged for a week that cannot be delivered
    assertThat(again.status()).as(again.toString()).isEqualTo(409);
    assertThat(app.stripe.object(handedOut).orElseThrow().get("status")).isEqualTo("canceled");
    assertThat(
            app.db.count("checkout_attempts WHERE listing_id = ? AND status = 'open'", listingId))
        .isZero();
    // and nothing is left for the refund worker to cancel
    assertThat(
            app.db.count("payment_intents_to_cancel WHERE stripe_payment_intent_id = ?", handedOut))
        .isZero();
  }

  @Test
  void shouldLeaveTheRefusedPurchasesPaymentIntentToTheRefundWorkerWhenStripeHoldsTheCancelOff() {
    // Given a featured week checked out, not paid, on a listing with a month to run, and Stripe
    // holding off the next cancellation (429)
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "for-sale");
    Http.Response first = app.promote(owner, listingId, "featured");
    assertThat(first.status()).as(first.toString()).isEqualTo(200);
    String handedOut = first.json().get("paymentIntentId").asText();
    app.stripe.failNextApiCalls(
        "POST /v1/payment_intents/{id}/cancel", 1, ApiFaults.Kind.RATE_LIMIT);

    // When the listing's end has come within a week, and its owner asks again
    app.endListingAt(listingId, Instant.now().plus(Duration.ofDays(3)));
    Http.Response again = app.promote(owner, listingId, "featured");

    // Then the purchase is refused, and the PaymentIntent Stripe did not cancel, which its owner
    // could still pay, is recorded for the refund worker to cancel
    assertThat(again.status()).as(again.toString()).isEqualTo(409);
    assertThat(app.stripe.object(handedOut).orElseThrow().get("status"))
        .isEqualTo("requires_payment_method");
    assertThat(
            app.db.row(
                "SELECT listing_id, reason FROM payment_intents_to_cancel"
                    + " WHERE stripe_payment_intent_id = ?",
                handedOut))
        .contains(Map.of("listing_id", listingId, "reason", "checkout_refused"));
  }

  @Test
  void shouldAnswer409WhenTheNextFeaturedWeekWouldStartAfterTheListingEnds() {
    // Given an active listing that ends in 3 days, featured already until 5 days from now
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "for-sale");
    Instant now = Instant.now();
    app.endListingAt(listingId, now.plus(Duration.ofDays(3)));
    app.db.execute(
        """
        INSERT INTO listing_promotions
            (id, listing_id, type, stripe_payment_intent_id, amount_cents, starts_at, expires_at)
        VALUES (?, ?, 'featured', ?, 500, ?, ?)
        """,
        UUID.randomUUID(),
        listingId,
        "pi_" + UUID.randomUUID().toString().replace("-", ""),
        now.minus(Duration.ofDays(2)),
        now.plus(Duration.ofDays(5)));

    // When its owner buys another featured week, which would run from day 5 to day 12
    Http.Response response = app.promote(owner, listingId, "featured");

    // Then nothing is charged for a week that would run on an expired listing
    assertThat(response.status()).isEqualTo(409);
    assertThat(response.json().get("detail").asText()).contains("featured until");
    assertThat(app.paymentIntentsOf(listingId)).isEmpty();
  }

  @Test
  void shouldNotCreateAPaymentIntentWhenAFeaturedWeekCommittedWhilePromoteWaitedLeavesNoRoom()
      throws Exception {
    // Given an active listing, not featured, that ends in 10 days, held by the payment processor
    // while it records a featured week paid meanwhile, until 7 days from now
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "for-sale");
    Instant now = Instant.now();
    app.endListingAt(listingId, now.plus(Duration.ofDays(10)));
    try (TestApi.HeldListing processor = app.holdListingAddingAFeaturedWeek(listingId, now)) {

      // When its owner buys another featured week, which waits for the listing, and the
      // processor commits its week meanwhile
      CompletableFuture<Http.Response> promoted =
          CompletableFuture.supplyAsync(() -> app.promote(owner, listingId, "featured"));
      processor.awaitWaiter(Duration.ofSeconds(20));
      processor.commit();
      Http.Response response = promoted.get(20, TimeUnit.SECONDS);

      // Then the purchase counts the week committed before it got the lock: the next would run
      // from day 7 to day 14, past the listing's end, so it is refused before Stripe is asked
      assertThat(response.status()).as(response.toString()).isEqualTo(409);
      assertThat(response.json().get("detail").asText()).contains("featured until");
      assertThat(app.paymentIntentsOf(listingId)).isEmpty();
    }
  }

  @Test
  void shouldAnswer409WhenAFeaturedWeekPaidButNotYetRecordedLeavesNoRoom() {
    // Given an active listing, not featured, that ends in 10 days, whose owner bought a featured
    // week and paid it at Stripe; the payment processor has not recorded it yet
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "for-sale");
    app.endListingAt(listingId, Instant.now().plus(Duration.ofDays(10)));
    Http.Response first = app.promote(owner, listingId, "featured");
    assertThat(first.status()).as(first.toString()).isEqualTo(200);
    app.payAtStripe(first.json().get("paymentIntentId").asText());

    // When the owner buys another featured week
    Http.Response again = app.promote(owner, listingId, "featured");

    // Then the paid week counts: the next would run from day 7 to day 14, past the listing's end
    assertThat(again.status()).as(again.toString()).isEqualTo(409);
    assertThat(again.json().get("detail").asText()).contains("paid and not yet recorded");
    assertThat(app.paymentIntentsOf(listingId)).hasSize(1);
  }

  @Test
  void shouldAnswer400WhenTypeIsMissingOrUnknown() {
    // Given
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "for-sale");
    String path = "/api/marketplace/listings/" + listingId + "/promote";

    // When
    Http.Response unknown =
        app.http.post(path).token(Tokens.user(owner)).json("{\"type\":\"gold\"}").send();
    Http.Response missing = app.http.post(path).token(Tokens.user(owner)).json("{}").send();

    // Then
    assertThat(unknown.status()).isEqualTo(400);
    assertThat(unknown.json().get("errors").get("type").asText())
        .isEqualTo("must be one of bump, featured");
    assertThat(missing.status()).isEqualTo(400);
    assertThat(missing.json().get("errors").get("type").asText()).isEqualTo("is required");
  }

  @Test
  void shouldRefuseWhenCallerIsAnonymousAnotherUserOrBanned() {
    // Given
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "for-sale");
    String path = "/api/marketplace/listings/" + listingId + "/promote";

    // When
    Http.Response anonymous = app.http.post(path).json("{\"type\":\"featured\"}").send();
    Http.Response other = app.promote(UUID.randomUUID(), listingId, "featured");
    app.ban(owner);
    Http.Response banned = app.promote(owner, listingId, "featured");

    // Then
    assertThat(anonymous.status()).isEqualTo(401);
    assertThat(other.status()).isEqualTo(403);
    assertThat(banned.status()).isEqualTo(403);
    assertThat(app.paymentIntentsOf(listingId)).isEmpty();
  }

  @Test
  void shouldAnswer404WhenListingIsUnknown() {
    // When
    Http.Response response = app.promote(UUID.randomUUID(), UUID.randomUUID(), "featured");

    // Then
    assertThat(response.status()).isEqualTo(404);
  }

  @Test
  void shouldStartANewFeaturedPurchaseWhenThePreviousOneWasPaid() {
    // Given a featured promotion bought once and not paid yet
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "for-sale");
    String first = app.promote(owner, listingId, "featured").json().get("paymentIntentId").asText();

    // When it is asked for again, then paid, then asked for once more
    String again = app.promote(owner, listingId, "featured").json().get("paymentIntentId").asText();
    app.payAtStripe(first);
    Http.Response afterPayment = app.promote(owner, listingId, "featured");

    // Then the unpaid one is reused and the paid one starts a new purchase (featured extends)
    assertThat(again).isEqualTo(first);
    assertThat(afterPayment.status()).isEqualTo(200);
    assertThat(afterPayment.json().get("paymentIntentId").asText()).isNotEqualTo(first);
    assertThat(app.paymentIntentsOf(listingId)).hasSize(2);
  }

  @Test
  void shouldAnswer409WhenABumpWasJustPaidButNotYetApplied() {
    // Given a bump paid at Stripe whose webhook has not reached us yet
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "for-sale");
    String paid = app.promote(owner, listingId, "bump").json().get("paymentIntentId").asText();
    app.payAtStripe(paid);

    // When
    Http.Response response = app.promote(owner, listingId, "bump");

    // Then
    assertThat(response.status()).isEqualTo(409);
    assertThat(app.paymentIntentsOf(listingId)).hasSize(1);
  }
}
