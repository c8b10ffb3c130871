package io.marketplace.payments.refunds.refund;

import static org.assertj.core.api.Assertions.assertThat;

import com.stripe.model.Refund;
import io.marketplace.payments.refunds.Harness;
import io.marketplace.payments.testsupport.Await;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A rejection's refund decided while a refund made in Stripe's dashboard had not reached our
 * records: Stripe refuses it (less is left of the payment than it asks), and the rejection still
 * owes the customer the rest of the payment, as it would had the dashboard refund been told first.
 */
class RefundElsewhereDuringRejectionTest {

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
  void shouldRefundTheRestWhenTheDashboardRefundIsToldAfterStripeRefusedTheRejectionsRefund() {
    // Given a posting fee paid an hour ago, 200 of which support refunds in Stripe's dashboard,
    // whose events reach us late
    var paid = h.paidListing(Duration.ofHours(1));
    h.webhooks().hold(event -> event.type().contains("refund"));
    String dashboard =
        (String) h.emulator().refundOutsideSystem(paid.paymentIntentId(), 200L).get("id");

    // When moderation rejects the listing: its refund of 500 is refused by Stripe (300 left)
    h.reject(paid.listingId(), h.now());
    h.awaitRefund(paid.paymentIntentId(), "failed");
    // and the dashboard refund's events then arrive
    h.webhooks().release();
    h.awaitStripeEventsApplied();

    // Then the customer gets the other 300 as the rejection's refund, once: 500 in all
    Map<String, Object> rest = awaitRejectionRefund(paid.paymentIntentId(), "processed");
    assertThat(rest).containsEntry("amount_cents", 300).containsEntry("automatic_part", 1);
    assertRefundedInAll(paid, 500);
    // and the refused 500 is closed, not left for an admin to retry: the rest superseded it
    assertThat(rejectionRefund(paid.paymentIntentId(), 0))
        .containsEntry("status", "failed")
        .containsEntry("close_outcome", "superseded");
    assertThat(h.refunds(paid.paymentIntentId()))
        .filteredOn(r -> dashboard.equals(r.get("stripe_refund_id")))
        .singleElement()
        .satisfies(r -> assertThat(r).containsEntry("status", "processed"));
    assertThat(h.paymentEvents("refund.processed", rest.get("id").toString())).hasSize(1);
  }

  @Test
  void shouldRefundTheRestWhenStripeRefusesTheRejectionsRefundAfterTheDashboardRefundIsTold() {
    // Given a posting fee paid an hour ago, rejected while Stripe fails every refund call: the
    // rejection's refund of 500 waits, approved, for the janitor
    var paid = h.paidListing(Duration.ofHours(1));
    h.emulator().failNextRefunds(1);
    h.reject(paid.listingId(), h.now());
    Await.until(
        Harness.WAIT,
        "the rejection's refund to wait for a retry",
        () -> rejectionRefund(paid.paymentIntentId(), 0).get("last_error") != null);

    // When support refunds 200 in Stripe's dashboard, recorded at once
    String dashboard =
        (String) h.emulator().refundOutsideSystem(paid.paymentIntentId(), 200L).get("id");
    Await.until(
        Harness.WAIT,
        "the dashboard refund recorded",
        () ->
            h.refunds(paid.paymentIntentId()).stream()
                .anyMatch(r -> dashboard.equals(r.get("stripe_refund_id"))));
    // and the janitor retries the rejection's refund, which Stripe refuses (300 left)
    h.advanceClock(Duration.ofMinutes(11));
    h.retryNow();

    // Then the customer gets the other 300 as the rejection's refund: 500 in all
    Map<String, Object> rest = awaitRejectionRefund(paid.paymentIntentId(), "processed");
    assertThat(rest).containsEntry("amount_cents", 300).containsEntry("automatic_part", 1);
    assertRefundedInAll(paid, 500);
    assertThat(rejectionRefund(paid.paymentIntentId(), 0))
        .containsEntry("status", "failed")
        .containsEntry("close_outcome", "superseded");
  }

  @Test
  void shouldOweNothingMoreWhenTheDashboardRefundedAllButOweItIfThatRefundFails() {
    // Given a posting fee paid an hour ago, refunded in full in Stripe's dashboard, told late
    var paid = h.paidListing(Duration.ofHours(1));
    h.webhooks().hold(event -> event.type().contains("refund"));
    String dashboard =
        (String) h.emulator().refundOutsideSystem(paid.paymentIntentId(), null).get("id");

    // When moderation rejects the listing (Stripe refuses its refund: nothing left), and the
    // dashboard refund is then told
    h.reject(paid.listingId(), h.now());
    h.awaitRefund(paid.paymentIntentId(), "failed");
    h.webhooks().release();
    h.awaitStripeEventsApplied();

    // Then nothing more is refunded, and the refused refund is closed: nothing is left to owe
    assertRefundedInAll(paid, 500);
    assertThat(rejectionRefund(paid.paymentIntentId(), 0))
        .containsEntry("close_outcome", "superseded");
    assertThat(h.refunds(paid.paymentIntentId()))
        .filteredOn(r -> "moderation_rejection".equals(r.get("reason")))
        .hasSize(1);

    // When the dashboard refund then fails at Stripe (the card closed)
    h.emulator().failRefund(dashboard);

    // Then the rejection owes the whole payment again, and refunds it
    Map<String, Object> rest = awaitRejectionRefund(paid.paymentIntentId(), "processed");
    assertThat(rest).containsEntry("amount_cents", 500).containsEntry("automatic_part", 1);
  }

  @Test
  void shouldOweTheRestForReviewWhenADashboardRefundIsToldWhileTheRejectionsRefundAwaitsReview() {
    // Given a posting fee paid three days ago, whose listing moderation rejects now: past 24 h,
    // its refund of 500 waits for an admin's review
    var paid = h.paidListing(Duration.ofDays(3));
    h.reject(paid.listingId(), h.now());
    UUID first = (UUID) awaitRejectionRefund(paid.paymentIntentId(), "pending").get("id");

    // When support refunds 200 in Stripe's dashboard before an admin looks at it
    String dashboard =
        (String) h.emulator().refundOutsideSystem(paid.paymentIntentId(), 200L).get("id");
    Await.until(
        Harness.WAIT,
        "the dashboard refund recorded",
        () ->
            h.refunds(paid.paymentIntentId()).stream()
                .anyMatch(r -> dashboard.equals(r.get("stripe_refund_id"))));
    h.awaitStripeEventsApplied();

    // Then the rejection owes the other 300, for review, as it would had the dashboard refund been
    // told before the rejection: the 500, which no longer fits in what is left (an approval of it
    // is refused), is closed as superseded and announced as rejected, with no admin named
    List<Map<String, Object>> pending =
        h.refunds(paid.paymentIntentId()).stream()
            .filter(r -> "moderation_rejection".equals(r.get("reason")))
            .filter(r -> "pending".equals(r.get("status")))
            .toList();
    assertThat(pending).hasSize(1);
    Map<String, Object> rest = pending.get(0);
    assertThat(rest).containsEntry("amount_cents", 300).containsEntry("automatic_part", 1);
    assertThat(rejectionRefund(paid.paymentIntentId(), 0))
        .containsEntry("status", "rejected")
        .containsEntry("close_outcome", "superseded");
    assertThat(h.paymentEvents("refund.rejected", first.toString()))
        .singleElement()
        .satisfies(event -> assertThat(event.path("data").path("rejectedBy").isNull()).isTrue());
    h.awaitPaymentEvent("refund.requested", rest.get("id").toString());

    // and its approval gives the customer the 500 in all, once
    h.approve((UUID) rest.get("id"));
    assertThat(h.executor().execute((UUID) rest.get("id")).isProcessed()).isTrue();
    assertRefundedInAll(paid, 500);
  }

  private static Map<String, Object> awaitRejectionRefund(String paymentIntentId, String status) {
    return Await.value(
        Harness.WAIT,
        "a " + status + " rejection refund of " + paymentIntentId,
        () ->
            h.refunds(paymentIntentId).stream()
                .filter(r -> "moderation_rejection".equals(r.get("reason")))
                .filter(r -> status.equals(r.get("status")))
                .findFirst());
  }

  private static Map<String, Object> rejectionRefund(String paymentIntentId, int part) {
    return h.refunds(paymentIntentId).stream()
        .filter(r -> "moderation_rejection".equals(r.get("reason")))
        .filter(r -> Integer.valueOf(part).equals(r.get("automatic_part")))
        .findFirst()
        .orElseThrow();
  }

  private static void assertRefundedInAll(Harness.Paid paid, long cents) {
    List<Refund> atStripe = h.stripeRefunds(paid.paymentIntentId());
    assertThat(
            atStripe.stream()
                .filter(r -> "succeeded".equals(r.getStatus()))
                .mapToLong(Refund::getAmount)
                .sum())
        .isEqualTo(cents);
    assertThat(
            h.refunds(paid.paymentIntentId()).stream()
                .filter(r -> "processed".equals(r.get("status")))
                .mapToLong(r -> ((Number) r.get("amount_cents")).longValue())
                .sum())
        .isEqualTo(cents);
  }
}
