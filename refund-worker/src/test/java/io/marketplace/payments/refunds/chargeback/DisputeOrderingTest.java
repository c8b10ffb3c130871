package io.marketplace.payments.refunds.chargeback;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import io.marketplace.payments.refunds.Harness;
import io.marketplace.payments.refunds.StripeFixtures;
import io.marketplace.payments.testsupport.Await;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Disputes meeting refunds and moderation in the orders Stripe and the other services really
 * deliver them: the outcome must not depend on which event came first.
 */
class DisputeOrderingTest {

  private static Harness h;

  @BeforeAll
  static void start() {
    h = new Harness();
  }

  @AfterAll
  static void stop() {
    h.close();
  }

  /**
   * Mirror of {@code
   * ChargebackTest.shouldNotTakeAWonDisputeForMoneyReturnedWhenTheListingIsRejectedLater} with the
   * moderation decision arriving while the dispute is still open: the open chargeback counts as
   * money returned, so nothing is left to refund yet; once the dispute is won, the customer, who
   * has not got the 500 back, gets the refund the rejection owes, as in the other order.
   */
  @Test
  void shouldOweTheRefundOfARejectedListingOnceTheDisputeOpenAtTheRejectionIsWon() {
    // Given a paid listing (past 24 h: its refund waits for an admin) whose payment is disputed
    var paid = h.paidListing(Duration.ofDays(3));
    String disputeId = h.emulator().openDispute(paid.paymentIntentId());
    h.awaitPaymentEvent("chargeback.recorded", disputeId);

    // When moderation rejects the listing while the dispute is open
    h.reject(paid.listingId(), h.now());
    h.awaitModerationApplied(paid.listingId(), 1);

    // and the card network then decides the dispute for us: the 500 come back to the merchant
    h.emulator().closeDispute(disputeId, "won");
    awaitForwarded("charge.dispute.closed", disputeId);
    h.awaitStripeEventsApplied();
    h.retryNow();

    // Then, as when the dispute was won before the rejection, the customer is owed the 500
    Await.untilAsserted(
        Harness.WAIT,
        "a moderation_rejection refund of the won, rejected payment",
        () ->
            assertThat(h.refunds(paid.paymentIntentId()))
                .as(
                    "refunds of %s after rejection during the dispute and the dispute won",
                    paid.paymentIntentId())
                .filteredOn(r -> "moderation_rejection".equals(r.get("reason")))
                .singleElement()
                .satisfies(r -> assertThat(r).containsEntry("amount_cents", 500)));
  }

  /**
   * The rejection's refund awaiting review when a chargeback of part of the payment opens and is
   * lost: it owes what the chargeback left, for review, as it does when the loss came first.
   */
  @Test
  void shouldOweTheRestForReviewWhenAChargebackOfPartOfARejectedListingsPaymentIsLost() {
    // Given a paid listing rejected past 24 h: its refund of 500 waits for an admin
    var paid = h.paidListing(Duration.ofDays(3));
    String pi = paid.paymentIntentId();
    h.reject(paid.listingId(), h.now());
    h.awaitModerationApplied(paid.listingId(), 1);

    // When the customer disputes 200 of it, and the dispute is lost
    String disputeId = StripeFixtures.newId("du");
    String opened =
        StripeFixtures.event(
            "charge.dispute.created", StripeFixtures.dispute(disputeId, pi, 200, "needs_response"));
    h.webhooks().publish(opened);
    h.awaitPaymentEvent("chargeback.recorded", disputeId);
    h.webhooks()
        .publish(
            StripeFixtures.createdLater(
                StripeFixtures.sameDispute(opened, "charge.dispute.closed", "lost"), 5));
    h.awaitStripeEventsApplied();

    // Then the rejection owes the other 300, for review; its 500, which no approval could pass,
    // is closed as superseded
    assertThat(h.refunds(pi))
        .filteredOn(r -> "moderation_rejection".equals(r.get("reason")))
        .extracting(r -> r.get("automatic_part"), r -> r.get("status"), r -> r.get("amount_cents"))
        .containsExactlyInAnyOrder(tuple(0, "rejected", 500), tuple(1, "pending", 300));
  }

  /**
   * A refund made before a dispute whose webhook is delivered after the dispute's (Stripe retries a
   * failed delivery for days and does not order events): recorded at once in the other order, here
   * it waits in refunds_awaiting_room because chargeback + refund exceed the payment, and is
   * recorded and announced once the dispute is won and the chargeback no longer counts as money
   * returned.
   */
  @Test
  void shouldRecordARefundMadeBeforeADisputeWhoseEventArrivesAfterTheDisputes() {
    // Given a paid listing refunded in full in Stripe's dashboard, then disputed by the customer;
    // the dispute's events are delivered first
    var paid = h.paidListing(Duration.ofDays(3));
    long refundedAt = h.now().minus(Duration.ofHours(2)).getEpochSecond();
    String disputeId = h.emulator().openDispute(paid.paymentIntentId());
    h.awaitPaymentEvent("chargeback.recorded", disputeId);

    // When the refund's delayed refund.created arrives
    String refundId = StripeFixtures.newId("re");
    Map<String, Object> refund =
        new java.util.LinkedHashMap<>(
            StripeFixtures.refund(refundId, paid.paymentIntentId(), 500, "succeeded", Map.of()));
    refund.put("created", refundedAt);
    h.webhooks().publish(StripeFixtures.event("refund.created", refund));
    h.awaitStripeEventsApplied();

    // and the dispute is won (the merchant shows the refund): the chargeback no longer counts
    h.emulator().closeDispute(disputeId, "won");
    awaitForwarded("charge.dispute.closed", disputeId);
    h.awaitStripeEventsApplied();
    h.retryNow();

    // Then the refund Stripe made is in our records, as it would be had it arrived first
    assertThat(h.db().count("payment_refunds WHERE stripe_refund_id = ?", refundId))
        .as("records of Stripe refund %s (still parked: %s)", refundId, parked(refundId))
        .isOne();
  }

  /**
   * A dispute whose events all arrive before the payment's row (the row rebuilt later by the
   * payment processor, as ChargebackTest describes): the worker records it without a user; once the
   * row appears, the janitor records the chargeback and counts it toward a ban, without waiting for
   * Stripe's next event about the dispute (its closing, weeks later).
   */
  @Test
  void shouldRecordAndCountADisputeWhoseOnlyEventCameBeforeThePaymentRow() {
    // Given a user with one recorded chargeback
    UUID user = UUID.randomUUID();
    var first = h.paidListing(user, Duration.ofDays(5), 500);
    String d1 = h.emulator().openDispute(first.paymentIntentId());
    h.awaitPaymentEvent("chargeback.recorded", d1);

    // and a second payment of theirs, succeeded at Stripe, whose row is not there yet
    UUID secondListing = UUID.randomUUID();
    String secondPi = h.charge(user, secondListing, 500, "posting_fee");

    // When it is disputed before its row exists, and the row is then rebuilt
    String d2 = h.emulator().openDispute(secondPi);
    awaitForwarded("charge.dispute.created", d2);
    h.awaitStripeEventsApplied();
    h.recordPayment(
        secondPi, user, secondListing, 500, "posting_fee", h.now().minus(Duration.ofDays(4)));
    h.retryNow();

    // Then the chargeback is recorded and the user, with two chargebacks, banned
    Await.untilAsserted(
        Harness.WAIT,
        "the second chargeback recorded and the user banned",
        () -> {
          assertThat(h.db().count("payment_refunds WHERE stripe_dispute_id = ?", d2))
              .as("chargeback records of %s", d2)
              .isOne();
          assertThat(bannedAt(user)).as("banned_at of a user with two chargebacks").isNotNull();
        });
  }

  private static Object parked(String refundId) {
    return h.db().count("refunds_awaiting_room WHERE stripe_refund_id = ?", refundId);
  }

  private static String awaitForwarded(String type, String objectId) {
    return Await.value(
        Harness.WAIT,
        type + " of " + objectId,
        () -> h.webhooks().forwarded(type, objectId).stream().findFirst());
  }

  private static Instant bannedAt(UUID user) {
    return (Instant)
        h.db().row("SELECT banned_at FROM users WHERE id = ?", user).orElseThrow().get("banned_at");
  }
}
