package io.marketplace.payments.refunds.blocked;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.stripe.exception.StripeException;
import com.stripe.model.PaymentIntent;
import com.stripe.param.PaymentIntentConfirmParams;
import com.stripe.param.PaymentIntentCreateParams;
import io.marketplace.payments.refunds.CancelsThatCannotReachStripe;
import io.marketplace.payments.refunds.Harness;
import io.marketplace.payments.testsupport.Await;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A user flagged by the risk service or banned cannot start a checkout (403), but a PaymentIntent
 * handed out before keeps its client secret: with it the user could go on confirming new cards at
 * Stripe, which is what card testing is. The refund worker's janitor cancels those PaymentIntents.
 */
class BlockedUsersPaymentIntentsTest {

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
  void shouldCancelTheOpenPaymentIntentsOfAFlaggedUser() {
    // Given a user with a PaymentIntent handed out and never paid, and one declined once (which
    // Stripe lets them confirm again with another card)
    UUID user = newUser();
    String unpaid = openPaymentIntent(user);
    String declined = openPaymentIntent(user);
    decline(declined);
    double before = canceled("flagged");

    // When the risk service flags the user for card testing
    flag(user, h.now().plus(Duration.ofHours(1)), false);
    h.retryNow();

    // Then both are canceled at Stripe, and Stripe tells the system so
    assertThat(h.stripeStatus(unpaid)).isEqualTo("canceled");
    assertThat(h.stripeStatus(declined)).isEqualTo("canceled");
    Await.until(
        Harness.WAIT,
        "payment_intent.canceled forwarded",
        () -> !h.webhooks().forwarded("payment_intent.canceled", unpaid).isEmpty());
    assertThat(canceled("flagged")).isEqualTo(before + 2);
  }

  @Test
  void shouldCountACancellationOnceWhenThePassAsksAgainBeforeItReachesTheRecords() {
    // Given a flagged user's open PaymentIntent, canceled by a pass
    UUID user = newUser();
    String open = openPaymentIntent(user);
    flag(user, h.now().plus(Duration.ofHours(1)), false);
    double before = canceled("flagged");
    int callsBefore = cancels.calls.get();
    h.retryNow();
    assertThat(h.stripeStatus(open)).isEqualTo("canceled");
    assertThat(canceled("flagged")).isEqualTo(before + 1);

    // When the next passes ask Stripe again, its payment_intent.canceled not applied to the
    // payment's row yet (the payment processor behind; here none runs), and Stripe answers
    // them from the first cancellation (one Idempotency-Key for every cancellation)
    h.retryNow();
    h.retryNow();
    assertThat(cancels.calls.get() - callsBefore).isGreaterThanOrEqualTo(3);

    // Then the metric still counts the one PaymentIntent canceled
    assertThat(canceled("flagged")).isEqualTo(before + 1);
  }

  @Test
  void shouldCancelAPaymentIntentStripeRefusedWhileProcessingOnceItsPaymentFailed() {
    // Given a flagged user's PaymentIntent whose payment is processing at Stripe, which the
    // janitor's passes asked Stripe to cancel and Stripe refused (a payment under way)
    UUID user = newUser();
    String open = openPaymentIntent(user);
    h.emulator().holdProcessing(open);
    flag(user, h.now().plus(Duration.ofHours(1)), false);
    double before = canceled("flagged");
    for (int round = 0; round < 3; round++) {
      h.retryNow();
    }
    assertThat(h.stripeStatus(open)).isEqualTo("processing");

    // When that payment fails, the PaymentIntent back in requires_payment_method (confirmable
    // again with another card), and the janitor has its next rounds
    h.emulator().failProcessing(open);
    h.db()
        .execute("UPDATE payments SET status = 'failed' WHERE stripe_payment_intent_id = ?", open);
    for (int round = 0; round < 3 && !isCanceled(open); round++) {
      h.retryNow();
    }

    // Then Stripe cancels it: the passes' asks reach it, not the refusal Stripe keeps for 24 hours
    // under the key of the first
    assertThat(h.stripeStatus(open)).isEqualTo("canceled");
    assertThat(canceled("flagged")).isEqualTo(before + 1);
  }

  @Test
  void shouldCancelTheOpenPaymentIntentsOfABannedUserAndLeaveAPaidOneAlone() {
    // Given a banned user with an open PaymentIntent and a paid one
    var paid = h.paidListing(Duration.ofDays(2));
    String open = openPaymentIntent(paid.userId());
    h.db()
        .execute(
            "UPDATE users SET banned_at = ?, ban_reason = 'chargebacks' WHERE id = ?",
            h.now(),
            paid.userId());

    // When the janitor passes
    h.retryNow();

    // Then the open one is canceled and the paid one is as it was
    assertThat(h.stripeStatus(open)).isEqualTo("canceled");
    assertThat(h.stripeStatus(paid.paymentIntentId())).isEqualTo("succeeded");
  }

  @Test
  void shouldLeaveThePaymentIntentsOfUsersWhoseFlagWasClearedOrHasEnded() {
    // Given a user whose flag an admin cleared, and one whose cool-down has ended
    UUID cleared = newUser();
    String ofCleared = openPaymentIntent(cleared);
    flag(cleared, h.now().plus(Duration.ofHours(1)), true);
    UUID ended = newUser();
    String ofEnded = openPaymentIntent(ended);
    flag(ended, h.now().minus(Duration.ofMinutes(1)), false);

    // When the janitor passes
    h.retryNow();

    // Then they may still pay
    assertThat(h.stripeStatus(ofCleared)).isEqualTo("requires_payment_method");
    assertThat(h.stripeStatus(ofEnded)).isEqualTo("requires_payment_method");
  }

  @Test
  void shouldReachThePaymentIntentsPastAFullBatchThatStripeKeepsRefusing() {
    // Given a flagged user with more open PaymentIntents than a pass takes (100) that Stripe
    // refuses to cancel every time (it has no such PaymentIntent: a row of another account), all
    // before, by id, one it can cancel
    UUID user = newUser();
    String cancelable = openPaymentIntent(user);
    h.db()
        .execute(
            """
            INSERT INTO payments
                (stripe_payment_intent_id, listing_id, user_id, payment_type, amount_cents, status)
            SELECT 'pi_00000000000000000' || lpad(n::text, 5, '0'), gen_random_uuid(), ?,
                   'posting_fee', 500, 'requires_payment'
            FROM generate_series(1, 100) n
            """,
            user);
    flag(user, h.now().plus(Duration.ofHours(1)), false);
    assertThat(
            h.db()
                .count(
                    "payments WHERE user_id = ? AND stripe_payment_intent_id < ?",
                    user,
                    cancelable))
        .isEqualTo(100);
    double failedBefore = janitorFailures();

    // When the janitor has its rounds (a few: where the pass starts depends on the rounds before)
    for (int round = 0; round < 3 && !"canceled".equals(h.stripeStatus(cancelable)); round++) {
      h.retryNow();
    }

    // Then the one past the refused ones is canceled
    assertThat(h.stripeStatus(cancelable)).isEqualTo("canceled");
    // and the refusals are counted, for the alert on a janitor that keeps failing
    assertThat(janitorFailures()).isGreaterThan(failedBefore);
  }

  @Test
  void shouldEndThePassAtTheFirstPaymentIntentWhenStripeCannotBeReached() {
    // Given a flagged user with three open PaymentIntents, and a Stripe that cannot be reached
    UUID user = newUser();
    List<String> open =
        List.of(openPaymentIntent(user), openPaymentIntent(user), openPaymentIntent(user));
    flag(user, h.now().plus(Duration.ofHours(1)), false);
    cancels.down.set(true);
    cancels.calls.set(0);
    try {
      // When the janitor has its round, then the pass fails, for the next round to try again
      assertThatThrownBy(h::retryNow).hasMessageContaining("the next pass resumes there");
      // after one call to Stripe, not one for each of them
      assertThat(cancels.calls).hasValue(1);
    } finally {
      cancels.down.set(false);
    }

    // When Stripe is back and the janitor has its next rounds, then all three are canceled
    for (int round = 0; round < 3 && open.stream().anyMatch(pi -> !isCanceled(pi)); round++) {
      h.retryNow();
    }
    assertThat(open).allMatch(BlockedUsersPaymentIntentsTest::isCanceled);
  }

  private static boolean isCanceled(String paymentIntentId) {
    return "canceled".equals(h.stripeStatus(paymentIntentId));
  }

  private static double janitorFailures() {
    Matcher value =
        Pattern.compile(
                "(?m)^payments_refunds_janitor_failures_total\\{[^}]*"
                    + "pass=\"BlockedUsersPaymentIntents\"[^}]*} (\\S+)$")
            .matcher(h.metrics());
    return value.find() ? Double.parseDouble(value.group(1)) : 0;
  }

  private static UUID newUser() {
    UUID user = UUID.randomUUID();
    h.db().execute("INSERT INTO users (id) VALUES (?)", user);
    return user;
  }

  /** What checkout-api leaves: a PaymentIntent at Stripe and its payments row, unpaid. */
  private static String openPaymentIntent(UUID user) {
    UUID listing = UUID.randomUUID();
    h.db()
        .execute(
            """
            INSERT INTO marketplace_listings (id, user_id, category_id, title, status)
            VALUES (?, ?, 1, 'Room to let', 'pending_payment')
            """,
            listing,
            user);
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
                      .putMetadata("user_id", user.toString())
                      .putMetadata("category_id", "1")
                      .putMetadata("payment_type", "posting_fee")
                      .build());
      h.db()
          .execute(
              """
              INSERT INTO payments
                  (stripe_payment_intent_id, listing_id, user_id, payment_type, amount_cents, status)
              VALUES (?, ?, ?, 'posting_fee', 500, 'requires_payment')
              """,
              pi.getId(),
              listing,
              user);
      return pi.getId();
    } catch (StripeException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void decline(String paymentIntentId) {
    try {
      h.stripe()
          .v1()
          .paymentIntents()
          .confirm(
              paymentIntentId,
              PaymentIntentConfirmParams.builder()
                  .setPaymentMethod("pm_card_chargeDeclined")
                  .build());
    } catch (StripeException e) {
      // Stripe answers a decline with a card error; the PaymentIntent waits for another card
    }
    h.db()
        .execute(
            "UPDATE payments SET status = 'failed' WHERE stripe_payment_intent_id = ?",
            paymentIntentId);
    assertThat(h.stripeStatus(paymentIntentId)).isEqualTo("requires_payment_method");
  }

  private static void flag(UUID user, Instant until, boolean cleared) {
    Instant now = h.now();
    h.db()
        .execute(
            """
            INSERT INTO user_risk_flags (signal_id, user_id, signal, signal_count, threshold,
                window_start, window_end, flagged_at, flagged_until,
                cleared_at, cleared_by, clear_reason)
            VALUES (?, ?, 'card_testing_declines', 12, 10, ?, ?, ?, ?, ?, ?, ?)
            """,
            UUID.randomUUID(),
            user,
            now.minus(Duration.ofHours(2)),
            now.minus(Duration.ofHours(1)),
            until.minus(Duration.ofHours(2)),
            until,
            cleared ? now : null,
            cleared ? UUID.randomUUID() : null,
            cleared ? "false positive" : null);
  }

  private static double canceled(String reason) {
    Matcher value =
        Pattern.compile(
                "(?m)^payments_payment_intents_canceled_for_risk_total\\{[^}]*reason=\""
                    + reason
                    + "\"[^}]*} (\\S+)$")
            .matcher(h.metrics());
    return value.find() ? Double.parseDouble(value.group(1)) : 0;
  }
}
