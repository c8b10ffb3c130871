package io.marketplace.payments.refunds.moderation;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.refunds.Harness;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A moderation decision from another service about a listing that had reached its end before the
 * decision was made: the listing ran its time, as paid for. checkout-api's reject route answers 409
 * for it ("already expired"), whether or not the expirer's pass has marked it yet; the refund
 * worker, which applies what other services publish, treats it the same way: nothing is rejected
 * and nothing refunded. A decision made while the listing was live still counts, however late it
 * arrives.
 */
class RejectionAfterTheListingsEndTest {

  private static Harness h;

  @BeforeAll
  static void start() {
    h = new Harness();
  }

  @AfterAll
  static void stop() {
    h.close();
  }

  @Test
  void shouldNeitherRejectNorRefundAListingWhoseEndCameBeforeTheDecision() {
    // Given a listing whose 30 days ended an hour ago (the expirer has not marked it yet), bumped
    // two hours ago
    Harness.Paid paid = h.paidListing(Duration.ofDays(30).plusHours(1));
    String bump = bumpPaid(paid, Duration.ofHours(2));

    // When another service's moderation rejects it now
    h.reject(paid.listingId(), h.now());
    h.awaitModerationApplied(paid.listingId(), 1);

    // Then the listing is left as it was, for the expirer, and nothing is refunded or recorded
    assertThat(h.listingStatus(paid.listingId())).isEqualTo("active");
    assertThat(h.refunds(bump)).isEmpty();
    assertThat(h.refunds(paid.paymentIntentId())).isEmpty();
    assertThat(h.stripeRefunds(bump)).isEmpty();
    h.awaitOutboxPublished();
    assertThat(h.paymentEvents("listing.rejected", paid.listingId().toString())).isEmpty();
  }

  @Test
  void shouldRejectAndRefundWhenTheDecisionWasMadeBeforeTheEndButArrivesAfterIt() {
    // Given a listing whose 30 days ended an hour ago, bumped two hours ago
    Harness.Paid paid = h.paidListing(Duration.ofDays(30).plusHours(1));
    String bump = bumpPaid(paid, Duration.ofHours(2));
    Instant end =
        (Instant)
            h.db()
                .row("SELECT expires_at FROM marketplace_listings WHERE id = ?", paid.listingId())
                .orElseThrow()
                .get("expires_at");

    // When a decision made a minute before its end arrives now
    h.reject(paid.listingId(), end.minus(Duration.ofMinutes(1)));
    h.awaitModerationApplied(paid.listingId(), 1);

    // Then the listing is rejected, and the bump, paid within 24 h of the decision, refunded
    assertThat(h.listingStatus(paid.listingId())).isEqualTo("rejected");
    assertThat(h.awaitRefund(bump, "processed")).containsEntry("reason", "moderation_rejection");
  }

  /** A bump of the listing paid {@code ago}, as the payment processor records it. */
  private static String bumpPaid(Harness.Paid paid, Duration ago) {
    String pi = h.charge(paid.userId(), paid.listingId(), 200, "promotion_bump");
    h.recordPayment(pi, paid.userId(), paid.listingId(), 200, "promotion_bump", h.now().minus(ago));
    return pi;
  }
}
