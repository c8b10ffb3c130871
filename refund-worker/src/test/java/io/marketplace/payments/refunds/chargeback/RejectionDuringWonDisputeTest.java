package io.marketplace.payments.refunds.chargeback;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.common.refund.RefundDao;
import io.marketplace.payments.refunds.Harness;
import io.marketplace.payments.testsupport.Await;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A posting fee paid within 24 h whose listing moderation rejects, and whose payment a dispute
 * takes back and is then won: the rejection owes the customer an automatic refund made through
 * Stripe, once, whether the rejection is applied before the dispute opens, while it is open (the
 * decision waits for room) or after it is won, and whichever of the dispute's events Stripe
 * delivers first.
 */
class RejectionDuringWonDisputeTest {

  private static Harness h;

  @BeforeAll
  static void start() {
    // the janitor retries every second: a refund left for it settles within the test
    h = new Harness(Duration.ofSeconds(1), Duration.ofSeconds(2));
  }

  @AfterAll
  static void stop() {
    h.close();
  }

  @Test
  void shouldRefundARejectionAppliedWhileTheDisputeIsOpenOnceItIsWon() {
    // Given a posting fee paid an hour ago, disputed: the chargeback took the 500 back
    var paid = h.paidListing(Duration.ofHours(1));
    String disputeId = h.emulator().openDispute(paid.paymentIntentId());
    h.awaitPaymentEvent("chargeback.recorded", disputeId);

    // When moderation rejects the listing while the dispute is open: nothing left to refund yet
    h.reject(paid.listingId(), h.now());
    h.awaitModerationApplied(paid.listingId(), 1);
    assertThat(h.stripeRefunds(paid.paymentIntentId())).isEmpty();

    // and the dispute is then won (closed, funds reinstated, in Stripe's order)
    h.emulator().closeDispute(disputeId, "won");
    awaitForwarded("charge.dispute.funds_reinstated", disputeId);
    h.awaitStripeEventsApplied();

    // Then the customer gets the rejection's refund through Stripe, once
    assertRefundedOnceByTheRejection(paid);
  }

  @Test
  void shouldRefundARejectionAppliedWhileTheDisputeIsOpenWhenItsWinIsToldOutOfOrder() {
    // Given a posting fee paid an hour ago, disputed, rejected while the dispute is open
    var paid = h.paidListing(Duration.ofHours(1));
    String disputeId = h.emulator().openDispute(paid.paymentIntentId());
    h.awaitPaymentEvent("chargeback.recorded", disputeId);
    h.reject(paid.listingId(), h.now());
    h.awaitModerationApplied(paid.listingId(), 1);

    // When the dispute is won and Stripe delivers funds_reinstated before charge.dispute.closed
    h.webhooks().hold(e -> e.type().equals("charge.dispute.closed"));
    h.emulator().closeDispute(disputeId, "won");
    awaitForwarded("charge.dispute.funds_reinstated", disputeId);
    h.awaitStripeEventsApplied();
    h.webhooks().release();
    awaitForwarded("charge.dispute.closed", disputeId);
    h.awaitStripeEventsApplied();

    // Then the customer gets the rejection's refund through Stripe, once
    assertRefundedOnceByTheRejection(paid);
  }

  @Test
  void shouldRefundARejectionAppliedBetweenAWonDisputesClosingAndItsLateOpeningEvents() {
    // Given a posting fee paid an hour ago, disputed and the dispute won, Stripe delivering the
    // closing events (closed, funds reinstated) first and holding the opening ones
    var paid = h.paidListing(Duration.ofHours(1));
    h.webhooks()
        .hold(
            e ->
                e.type().equals("charge.dispute.created")
                    || e.type().equals("charge.dispute.funds_withdrawn"));
    String disputeId = h.emulator().openDispute(paid.paymentIntentId());
    h.emulator().closeDispute(disputeId, "won");
    awaitForwarded("charge.dispute.funds_reinstated", disputeId);
    h.awaitStripeEventsApplied();

    // When moderation rejects the listing, and the opening events arrive after
    h.reject(paid.listingId(), h.now());
    h.awaitModerationApplied(paid.listingId(), 1);
    h.webhooks().release();
    awaitForwarded("charge.dispute.created", disputeId);
    h.awaitStripeEventsApplied();

    // Then the customer gets the rejection's refund through Stripe, once
    assertRefundedOnceByTheRejection(paid);
  }

  @Test
  void shouldRefundARejectionAppliedAfterTheDisputeIsWon() {
    // Given a posting fee paid an hour ago, disputed and the dispute won
    var paid = h.paidListing(Duration.ofHours(1));
    String disputeId = h.emulator().openDispute(paid.paymentIntentId());
    h.awaitPaymentEvent("chargeback.recorded", disputeId);
    h.emulator().closeDispute(disputeId, "won");
    awaitForwarded("charge.dispute.funds_reinstated", disputeId);
    h.awaitStripeEventsApplied();

    // When moderation rejects the listing
    h.reject(paid.listingId(), h.now());

    // Then the customer gets the rejection's refund through Stripe, once
    assertRefundedOnceByTheRejection(paid);
  }

  @Test
  void shouldRefundARejectionStripeRefusedForADisputeNotYetToldOnceItIsWon() {
    // Given a posting fee paid an hour ago whose chargeback opened at Stripe, its events delayed
    var paid = h.paidListing(Duration.ofHours(1));
    h.webhooks().hold(e -> e.type().startsWith("charge.dispute."));
    String disputeId = h.emulator().openDispute(paid.paymentIntentId());

    // When moderation rejects the listing: knowing of no dispute, the worker refunds the 500, which
    // Stripe refuses for the open chargeback
    h.reject(paid.listingId(), h.now());
    Map<String, Object> refused = h.awaitRefund(paid.paymentIntentId(), "failed");
    assertThat(refused).containsEntry("failure_reason", "charge_disputed");
    assertThat(h.paymentEvents("refund.failed", refused.get("id").toString())).hasSize(1);
    // and the dispute's events come, and it is won
    h.webhooks().release();
    awaitForwarded("charge.dispute.created", disputeId);
    h.awaitStripeEventsApplied();
    h.emulator().closeDispute(disputeId, "won");
    awaitForwarded("charge.dispute.funds_reinstated", disputeId);
    h.awaitStripeEventsApplied();

    // Then the customer gets the rejection's refund through Stripe, once, as the refund refused
    assertRefundedOnceByTheRejection(paid);
    assertThat(h.refunds(paid.paymentIntentId()))
        .filteredOn(r -> "moderation_rejection".equals(r.get("reason")))
        .singleElement()
        .satisfies(r -> assertThat(r).containsEntry("id", refused.get("id")));
  }

  @Test
  void shouldRefundARejectionStripeRefusedAgainOnAnAdminsRetryOnceTheDisputeIsWon() {
    // Given a posting fee paid an hour ago whose chargeback opened at Stripe, its events delayed,
    // and a rejection's refund of it that Stripe refused for the open chargeback
    var paid = h.paidListing(Duration.ofHours(1));
    h.webhooks().hold(e -> e.type().startsWith("charge.dispute."));
    String disputeId = h.emulator().openDispute(paid.paymentIntentId());
    h.reject(paid.listingId(), h.now());
    UUID id = UUID.fromString(h.awaitRefund(paid.paymentIntentId(), "failed").get("id").toString());
    // and an admin's retry of it, as checkout-api makes it, refused again for the same reason
    assertThat(h.db().jdbi().onDemand(RefundDao.class).retryFailed(id, h.now())).isOne();
    assertThat(h.executor().execute(id).refund().failureReason()).isEqualTo("charge_disputed");

    // When the dispute's events come, and it is won
    h.webhooks().release();
    awaitForwarded("charge.dispute.created", disputeId);
    h.awaitStripeEventsApplied();
    h.emulator().closeDispute(disputeId, "won");
    awaitForwarded("charge.dispute.funds_reinstated", disputeId);
    h.awaitStripeEventsApplied();

    // Then the customer gets the rejection's refund through Stripe, once, as its next attempt
    assertRefundedOnceByTheRejection(paid);
    assertThat(h.refunds(paid.paymentIntentId()))
        .filteredOn(r -> "moderation_rejection".equals(r.get("reason")))
        .singleElement()
        .satisfies(r -> assertThat(r).containsEntry("attempt", 2));
    assertThat(h.paymentEvents("refund.failed", id.toString())).hasSize(2);
  }

  @Test
  void shouldNotRefundARejectionStripeRefusedForADisputeNotYetToldWhenItIsLost() {
    // Given a posting fee paid an hour ago whose chargeback opened at Stripe, its events delayed,
    // and a rejection's refund of it that Stripe refused for the open chargeback
    var paid = h.paidListing(Duration.ofHours(1));
    h.webhooks().hold(e -> e.type().startsWith("charge.dispute."));
    String disputeId = h.emulator().openDispute(paid.paymentIntentId());
    h.reject(paid.listingId(), h.now());
    Map<String, Object> refused = h.awaitRefund(paid.paymentIntentId(), "failed");

    // When the dispute's events come, and it is lost: the chargeback gave the customer the 500
    h.webhooks().release();
    awaitForwarded("charge.dispute.created", disputeId);
    h.awaitStripeEventsApplied();
    h.emulator().closeDispute(disputeId, "lost");
    awaitForwarded("charge.dispute.closed", disputeId);
    h.awaitStripeEventsApplied();
    h.retryNow();

    // Then nothing more is paid back: the refused refund stays as it was, for an admin to close
    assertThat(h.stripeRefunds(paid.paymentIntentId())).isEmpty();
    assertThat(h.refunds(paid.paymentIntentId()))
        .filteredOn(r -> "moderation_rejection".equals(r.get("reason")))
        .singleElement()
        .satisfies(
            r ->
                assertThat(r)
                    .containsEntry("status", "failed")
                    .containsEntry("failure_reason", "charge_disputed")
                    .containsEntry("attempt", 0));
    assertThat(h.paymentEvents("refund.processed", refused.get("id").toString())).isEmpty();
  }

  /**
   * The payment's one moderation_rejection refund is processed, of all 500, as the one refund
   * Stripe holds for it, and announced by one refund.processed; nothing else is paid back.
   */
  private static void assertRefundedOnceByTheRejection(Harness.Paid paid) {
    String pi = paid.paymentIntentId();
    Map<String, Object> refund =
        Await.value(
            Harness.WAIT,
            "a processed moderation_rejection refund of " + pi,
            () -> {
              h.retryNow();
              return h.refunds(pi).stream()
                  .filter(r -> "moderation_rejection".equals(r.get("reason")))
                  .filter(r -> "processed".equals(r.get("status")))
                  .findFirst();
            });
    assertThat(refund).containsEntry("amount_cents", 500);
    assertThat(h.stripeRefunds(pi))
        .as("refunds Stripe holds for %s", pi)
        .singleElement()
        .satisfies(
            r -> {
              assertThat(r.getId()).isEqualTo(refund.get("stripe_refund_id"));
              assertThat(r.getAmount()).isEqualTo(500L);
            });
    assertThat(h.paymentEvents("refund.processed", refund.get("id").toString())).hasSize(1);
    assertThat(h.refunds(pi))
        .as("refund records of %s", pi)
        .filteredOn(r -> !"chargeback".equals(r.get("reason")))
        .singleElement();
  }

  private static String awaitForwarded(String type, String objectId) {
    return Await.value(
        Harness.WAIT,
        type + " of " + objectId,
        () -> h.webhooks().forwarded(type, objectId).stream().findFirst());
  }
}
