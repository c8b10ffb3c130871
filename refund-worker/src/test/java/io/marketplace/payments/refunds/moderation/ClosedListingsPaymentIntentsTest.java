package io.marketplace.payments.refunds.moderation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.stripe.exception.StripeException;
import com.stripe.model.PaymentIntent;
import com.stripe.param.PaymentIntentConfirmParams;
import com.stripe.param.PaymentIntentCreateParams;
import io.marketplace.payments.refunds.CancelsThatCannotReachStripe;
import io.marketplace.payments.refunds.Harness;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A listing rejected by moderation, or ended by expiry, must take no more payments, but the owner
 * still holds the client secret of each PaymentIntent checkout-api handed out for it.
 * checkout-api's own reject route cancels them at once; a rejection from another service on {@code
 * marketplace.moderation.v1}, a cancellation Stripe could not take then, and an expiry are left to
 * the refund worker's janitor, which asks until Stripe has canceled each or says it cannot be.
 */
class ClosedListingsPaymentIntentsTest {

  private static final CancelsThatCannotReachStripe cancels = new CancelsThatCannotReachStripe();

  private static Harness h;

  @BeforeAll
  static void start() {
    h =
        new Harness(
            Duration.ofMinutes(10),
            Duration.ofSeconds(20),
            stripe -> stripe.setHttpClient(cancels));
  }

  @AfterAll
  static void stop() {
    h.close();
  }

  @Test
  void shouldCancelTheOpenPaymentIntentOfAListingAnotherServiceRejected() {
    // Given a listing awaiting its posting fee, checked out and not paid
    UUID listing = pendingListing();
    String open = openPaymentIntent(listing);
    double before = canceled("listing_rejected");

    // When another service rejects it, and the janitor has its round
    h.reject(listing, h.now());
    h.awaitModerationApplied(listing, 1);
    h.retryNow();

    // Then the PaymentIntent is canceled at Stripe: the owner can no longer pay for the listing
    assertThat(h.listingStatus(listing)).isEqualTo("rejected");
    assertThat(h.stripeStatus(open)).isEqualTo("canceled");
    assertThatThrownBy(() -> pay(open)).hasMessageContaining("status of canceled");
    assertThat(canceled("listing_rejected")).isEqualTo(before + 1);
    // and nothing is left to cancel
    assertThat(toCancel(open)).isEmpty();
  }

  @Test
  void shouldCancelAPromotionCheckedOutAndUnpaidWhenItsListingExpired() {
    // Given a listing the expirer ended, with a featured week checked out and not paid, which the
    // expirer left to cancel
    UUID listing = pendingListing();
    String open = openPaymentIntent(listing);
    h.db().execute("UPDATE marketplace_listings SET status = 'expired' WHERE id = ?", listing);
    h.db()
        .execute(
            """
            INSERT INTO payment_intents_to_cancel
                (stripe_payment_intent_id, listing_id, reason, next_attempt_at, created_at)
            VALUES (?, ?, 'listing_expired', ?, ?)
            """,
            open,
            listing,
            h.now(),
            h.now());
    double before = canceled("listing_expired");

    // When the janitor has its round
    h.retryNow();

    // Then it is canceled at Stripe, counted as an expired listing's
    assertThat(h.stripeStatus(open)).isEqualTo("canceled");
    assertThat(canceled("listing_expired")).isEqualTo(before + 1);
    assertThat(toCancel(open)).isEmpty();
  }

  @Test
  void shouldCancelThePaymentIntentOfACheckoutRefusedThatCheckoutApiCouldNotCancel() {
    // Given a featured week checked out and unpaid whose next checkout the rules refused, and whose
    // PaymentIntent checkout-api left to cancel (Stripe held its cancellation off)
    UUID listing = pendingListing();
    String open = openPaymentIntent(listing);
    h.db()
        .execute(
            """
            INSERT INTO payment_intents_to_cancel
                (stripe_payment_intent_id, listing_id, reason, next_attempt_at, created_at)
            VALUES (?, ?, 'checkout_refused', ?, ?)
            """,
            open,
            listing,
            h.now(),
            h.now());
    double refusedBefore = canceled("checkout_refused");
    double rejectedBefore = canceled("listing_rejected");

    // When the janitor has its round
    h.retryNow();

    // Then it is canceled at Stripe, counted as a refused checkout's, not a rejected listing's
    assertThat(h.stripeStatus(open)).isEqualTo("canceled");
    assertThat(canceled("checkout_refused")).isEqualTo(refusedBefore + 1);
    assertThat(canceled("listing_rejected")).isEqualTo(rejectedBefore);
    assertThat(toCancel(open)).isEmpty();
  }

  @Test
  void shouldAskAgainWhenStripeCouldNotBeReached() {
    // Given a rejected listing's open PaymentIntent, and a Stripe that cannot be reached
    UUID listing = pendingListing();
    String open = openPaymentIntent(listing);
    h.reject(listing, h.now());
    h.awaitModerationApplied(listing, 1);
    cancels.down.set(true);
    try {
      // When the janitor has its round, then the pass fails, and the PaymentIntent is still due
      assertThatThrownBy(h::retryNow).hasMessageContaining("the next pass asks again");
      assertThat(h.stripeStatus(open)).isEqualTo("requires_payment_method");
      assertThat(toCancel(open).orElseThrow().get("attempts")).isEqualTo(0);
    } finally {
      cancels.down.set(false);
    }

    // When Stripe is back and the janitor has its next round, then it is canceled
    h.retryNow();
    assertThat(h.stripeStatus(open)).isEqualTo("canceled");
    assertThat(toCancel(open)).isEmpty();
  }

  @Test
  void shouldBackOffFromAPaymentIntentStripeRefusesAndCancelTheOthers() {
    // Given a rejected listing with an open PaymentIntent Stripe has no record of (a row of
    // another account), and another listing's Stripe can cancel
    UUID unknownListing = pendingListing();
    String unknown = "pi_0000000000" + UUID.randomUUID().toString().replace("-", "");
    recordPayment(unknown, unknownListing);
    UUID listing = pendingListing();
    String open = openPaymentIntent(listing);
    double failuresBefore = janitorFailures();
    h.reject(unknownListing, h.now());
    h.reject(listing, h.now());
    h.awaitModerationApplied(unknownListing, 1);
    h.awaitModerationApplied(listing, 1);

    // When the janitor has its round
    h.retryNow();

    // Then the refusal is counted, for the alert on a janitor that keeps failing, and the other is
    // canceled
    assertThat(janitorFailures()).isEqualTo(failuresBefore + 1);
    assertThat(h.stripeStatus(open)).isEqualTo("canceled");
    // and the refused one is asked again after a while, not in every round
    Map<String, Object> row = toCancel(unknown).orElseThrow();
    assertThat(row.get("attempts")).isEqualTo(1);
    h.retryNow();
    assertThat(janitorFailures()).isEqualTo(failuresBefore + 1);
    h.advanceClock(Duration.ofMinutes(11));
    h.retryNow();
    assertThat(janitorFailures()).isEqualTo(failuresBefore + 2);
    assertThat(toCancel(unknown).orElseThrow().get("attempts")).isEqualTo(2);
  }

  @Test
  void shouldAskAgainForAPaymentIntentProcessingAndCancelItOnceItsPaymentFailed() {
    // Given a listing another service rejected, whose open PaymentIntent's payment is processing
    UUID listing = pendingListing();
    String open = openPaymentIntent(listing);
    h.emulator().holdProcessing(open);
    double failuresBefore = janitorFailures();
    h.reject(listing, h.now());
    h.awaitModerationApplied(listing, 1);

    // When the janitor has its round, and Stripe refuses to cancel a payment under way
    h.retryNow();

    // Then its row stays, to be asked again, and nothing is counted as failing
    assertThat(h.stripeStatus(open)).isEqualTo("processing");
    assertThat(toCancel(open)).isPresent();
    assertThat(janitorFailures()).isEqualTo(failuresBefore);

    // When that payment fails, which leaves the PaymentIntent payable again, and the janitor has
    // its round once the row is due
    h.emulator().failProcessing(open);
    h.advanceClock(Duration.ofMinutes(11));
    h.retryNow();

    // Then it is canceled, and nothing is left to ask for
    assertThat(h.stripeStatus(open)).isEqualTo("canceled");
    assertThat(toCancel(open)).isEmpty();
  }

  @Test
  void shouldLeaveAPaymentIntentPaidBeforeTheRejectionToItsRefund() {
    // Given a listing whose PaymentIntent was paid at Stripe before its success reached us
    UUID listing = pendingListing();
    String paid = openPaymentIntent(listing);
    pay(paid);

    // When another service rejects the listing, and the janitor has its round
    h.reject(listing, h.now());
    h.awaitModerationApplied(listing, 1);
    h.retryNow();

    // Then Stripe keeps the payment (it cannot be canceled; its success is refunded as a rejected
    // listing's), and nothing is left to ask for
    assertThat(h.stripeStatus(paid)).isEqualTo("succeeded");
    assertThat(toCancel(paid)).isEmpty();
  }

  private static UUID pendingListing() {
    UUID user = UUID.randomUUID();
    UUID listing = UUID.randomUUID();
    h.db().execute("INSERT INTO users (id) VALUES (?)", user);
    h.db()
        .execute(
            """
            INSERT INTO marketplace_listings (id, user_id, category_id, title, status)
            VALUES (?, ?, 1, 'Room to let', 'pending_payment')
            """,
            listing,
            user);
    return listing;
  }

  /** What checkout-api leaves: a PaymentIntent at Stripe and its payments row, unpaid. */
  private static String openPaymentIntent(UUID listing) {
    try {
      PaymentIntent pi =
          h.stripe()
              .v1()
              .paymentIntents()
              .create(
                  PaymentIntentCreateParams.builder()
                      .setAmount(500L)
                      .setCurrency("usd")
                      .putMetadata("listing_id", listing.toString())
                      .putMetadata("user_id", owner(listing).toString())
                      .putMetadata("category_id", "1")
                      .putMetadata("payment_type", "posting_fee")
                      .build());
      recordPayment(pi.getId(), listing);
      return pi.getId();
    } catch (StripeException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void recordPayment(String paymentIntentId, UUID listing) {
    h.db()
        .execute(
            """
            INSERT INTO payments
                (stripe_payment_intent_id, listing_id, user_id, payment_type, amount_cents, status)
            VALUES (?, ?, ?, 'posting_fee', 500, 'requires_payment')
            """,
            paymentIntentId,
            listing,
            owner(listing));
  }

  private static UUID owner(UUID listing) {
    return (UUID)
        h.db()
            .row("SELECT user_id FROM marketplace_listings WHERE id = ?", listing)
            .orElseThrow()
            .get("user_id");
  }

  private static PaymentIntent pay(String paymentIntentId) {
    try {
      return h.stripe()
          .v1()
          .paymentIntents()
          .confirm(
              paymentIntentId,
              PaymentIntentConfirmParams.builder().setPaymentMethod("pm_card_visa").build());
    } catch (StripeException e) {
      throw new IllegalStateException(e);
    }
  }

  private static Optional<Map<String, Object>> toCancel(String paymentIntentId) {
    return h.db()
        .row(
            "SELECT attempts, next_attempt_at FROM payment_intents_to_cancel"
                + " WHERE stripe_payment_intent_id = ?",
            paymentIntentId);
  }

  private static double canceled(String reason) {
    return metric(
        "payments_payment_intents_canceled_for_closed_listing_total\\{[^}]*reason=\""
            + reason
            + "\"[^}]*}");
  }

  private static double janitorFailures() {
    return metric(
        "payments_refunds_janitor_failures_total\\{[^}]*pass=\"ClosedListingsPaymentIntents\""
            + "[^}]*}");
  }

  private static double metric(String series) {
    Matcher value = Pattern.compile("(?m)^" + series + " (\\S+)$").matcher(h.metrics());
    return value.find() ? Double.parseDouble(value.group(1)) : 0;
  }
}
