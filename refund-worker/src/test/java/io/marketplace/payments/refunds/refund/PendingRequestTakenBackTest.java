package io.marketplace.payments.refunds.refund;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.marketplace.payments.common.events.PaymentEvent;
import io.marketplace.payments.common.events.PaymentEventType;
import io.marketplace.payments.common.refund.RefundDao;
import io.marketplace.payments.refunds.Harness;
import io.marketplace.payments.refunds.StripeFixtures;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.EventSchemas;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A user's request pending review when money of its payment goes back another way than an automatic
 * refund: a refund made in Stripe's dashboard, or a chargeback whose dispute is lost. When that
 * leaves nothing of the payment, no admin could ever approve the request (checkout-api refuses it
 * as more than is left): it is closed as not owed for the record that took the money, as a request
 * an automatic refund owes is, and announced once, however often Stripe tells it. A request still
 * partly covered by what is left stays for an admin.
 */
class PendingRequestTakenBackTest {

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
  void shouldCloseAPendingRequestAsNotOwedWhenADashboardRefundTakesAllOfThePayment() {
    // Given a posting fee paid three days ago whose owner asked for it back, pending review
    var paid = h.paidListing(Duration.ofDays(3));
    UUID request = h.pendingRequest(paid, 500);

    // When the whole fee is refunded in Stripe's dashboard, told twice
    String stripeRefundId = StripeFixtures.newId("re");
    String created =
        StripeFixtures.event(
            "refund.created",
            StripeFixtures.refund(
                stripeRefundId, paid.paymentIntentId(), 500, "succeeded", Map.of()));
    h.webhooks().publish(created);
    h.webhooks().publish(StripeFixtures.withNewEventId(created, "refund.updated"));

    // Then the dashboard refund is recorded, and the request is closed as not owed for it
    UUID external = ExternalRefunds.externalRecordId(stripeRefundId);
    String why =
        "given back by refund " + external + " made in Stripe's dashboard (" + stripeRefundId + ")";
    assertClosedFor(request, external, why);

    // and telling it again, and replaying the same event, closes nothing twice
    h.webhooks().publish(StripeFixtures.withNewEventId(created, "charge.refund.updated"));
    h.webhooks().publish(created);
    h.awaitStripeEventsApplied();
    assertThat(h.paymentEvents("refund.rejected", request.toString())).hasSize(1);
    assertThat(h.refunds(paid.paymentIntentId())).hasSize(2);
  }

  @Test
  void shouldLeaveTheFailedDashboardRefundOwingTheMoneyOfTheRequestItClosed() {
    // Given a posting fee whose owner asked for it back, and whose request was closed as not owed
    // when the whole fee was refunded in Stripe's dashboard
    var paid = h.paidListing(Duration.ofDays(3));
    UUID request = h.pendingRequest(paid, 500);
    String stripeRefundId = StripeFixtures.newId("re");
    h.webhooks()
        .publish(
            StripeFixtures.event(
                "refund.created",
                StripeFixtures.refund(
                    stripeRefundId, paid.paymentIntentId(), 500, "succeeded", Map.of())));
    UUID external = ExternalRefunds.externalRecordId(stripeRefundId);
    assertClosedFor(
        request,
        external,
        "given back by refund "
            + external
            + " made in Stripe's dashboard ("
            + stripeRefundId
            + ")");

    // When Stripe then fails that refund: the money comes back to us
    Map<String, Object> failed =
        StripeFixtures.refund(stripeRefundId, paid.paymentIntentId(), 500, "failed", Map.of());
    failed.put("failure_reason", "expired_or_canceled_card");
    h.webhooks().publish(StripeFixtures.event("refund.failed", failed));

    // Then the dashboard refund's record owes it: failed, open in the failed queue for an admin to
    // retry or close, announced
    Await.value(
        Harness.WAIT,
        "the dashboard refund failed and open",
        () ->
            h.db()
                .row(
                    "SELECT id FROM payment_refunds WHERE id = ? AND status = 'failed'"
                        + " AND closed_at IS NULL",
                    external));
    h.awaitPaymentEvent("refund.failed", external.toString());
    // and the request stays closed for it: reopened, it would claim the same money a second time
    h.awaitStripeEventsApplied();
    assertThat(status(request)).isEqualTo("rejected");
    assertThat(h.paymentEvents("refund.requested", request.toString())).isEmpty();
    long claimed =
        h.db().jdbi().withExtension(RefundDao.class, d -> d.claimedCents(paid.paymentIntentId()));
    assertThat(claimed).isEqualTo(500);
  }

  @Test
  void shouldLeaveAPendingRequestForAnAdminWhenADashboardRefundTakesOnlyPartOfIt() {
    // Given a posting fee whose owner asked for all of it back, pending review
    var paid = h.paidListing(Duration.ofDays(3));
    UUID request = h.pendingRequest(paid, 500);

    // When 300 cents of it are refunded in Stripe's dashboard
    String stripeRefundId = StripeFixtures.newId("re");
    h.webhooks()
        .publish(
            StripeFixtures.event(
                "refund.created",
                StripeFixtures.refund(
                    stripeRefundId, paid.paymentIntentId(), 300, "succeeded", Map.of())));
    h.awaitRefund(paid.paymentIntentId(), "processed");
    h.awaitStripeEventsApplied();

    // Then the request still waits for an admin (200 cents are left: theirs to decide on)
    assertThat(status(request)).isEqualTo("pending");
    assertThat(h.paymentEvents("refund.rejected", request.toString())).isEmpty();
  }

  @Test
  void shouldCloseAPendingRequestAsNotOwedWhenTheChargebackOfAllOfThePaymentIsLost() {
    // Given a posting fee whose owner asked for it back, pending review
    var paid = h.paidListing(Duration.ofDays(3));
    UUID request = h.pendingRequest(paid, 500);

    // When the customer disputes the whole fee
    String disputeId = StripeFixtures.newId("du");
    String opened =
        StripeFixtures.event(
            "charge.dispute.created",
            StripeFixtures.dispute(disputeId, paid.paymentIntentId(), 500, "needs_response"));
    h.webhooks().publish(opened);
    h.awaitPaymentEvent("chargeback.recorded", disputeId);
    h.awaitStripeEventsApplied();

    // Then while the dispute is open (it may be won, and the money come back) the request waits
    assertThat(status(request)).isEqualTo("pending");

    // and when the dispute is lost, the request is closed as not owed for the chargeback
    String lost = StripeFixtures.sameDispute(opened, "charge.dispute.closed", "lost");
    h.webhooks().publish(lost);
    UUID chargeback =
        UUID.nameUUIDFromBytes(("stripe-dispute/" + disputeId).getBytes(StandardCharsets.UTF_8));
    String why = "taken back by chargeback " + chargeback + " (dispute " + disputeId + " lost)";
    assertClosedFor(request, chargeback, why);

    // and telling it again, and replaying the same event, closes nothing twice
    h.webhooks().publish(StripeFixtures.withNewEventId(lost));
    h.webhooks().publish(lost);
    h.awaitStripeEventsApplied();
    assertThat(h.paymentEvents("refund.rejected", request.toString())).hasSize(1);
  }

  @Test
  void shouldReopenARequestClosedForALostChargebackWhenTheDisputeIsWonAfterAll() {
    // Given a posting fee whose owner asked for it back, and whose request was closed as not owed
    // when the customer's chargeback of all of it was lost
    var paid = h.paidListing(Duration.ofDays(3));
    UUID request = h.pendingRequest(paid, 500);
    String disputeId = StripeFixtures.newId("du");
    String opened =
        StripeFixtures.event(
            "charge.dispute.created",
            StripeFixtures.dispute(disputeId, paid.paymentIntentId(), 500, "needs_response"));
    h.webhooks().publish(opened);
    h.awaitPaymentEvent("chargeback.recorded", disputeId);
    h.webhooks()
        .publish(
            StripeFixtures.createdLater(
                StripeFixtures.sameDispute(opened, "charge.dispute.closed", "lost"), 60));
    UUID chargeback =
        UUID.nameUUIDFromBytes(("stripe-dispute/" + disputeId).getBytes(StandardCharsets.UTF_8));
    String why = "taken back by chargeback " + chargeback + " (dispute " + disputeId + " lost)";
    assertClosedFor(request, chargeback, why);

    // When the dispute is won after all: the card network gives the money back to us
    String won =
        StripeFixtures.createdLater(
            StripeFixtures.sameDispute(opened, "charge.dispute.closed", "won"), 120);
    h.webhooks().publish(won);

    // Then the request is owed again: pending for an admin's decision, as it would be had the
    // dispute never been lost, and no longer closed for the chargeback
    Map<String, Object> reopened =
        Await.value(
            Harness.WAIT,
            "the user's request pending again",
            () ->
                h.db()
                    .row(
                        "SELECT status, rejection_reason, closed_at, close_reason, close_outcome,"
                            + " closed_for FROM payment_refunds WHERE id = ? AND status = 'pending'",
                        request));
    assertThat(reopened.get("rejection_reason")).isNull();
    assertThat(reopened.get("closed_at")).isNull();
    assertThat(reopened.get("close_reason")).isNull();
    assertThat(reopened.get("close_outcome")).isNull();
    assertThat(reopened.get("closed_for")).isNull();
    // and the user is told it waits for review again, under an event of its own
    h.awaitStripeEventsApplied();
    List<JsonNode> requested = h.paymentEvents("refund.requested", request.toString());
    assertThat(requested).hasSize(1);
    assertThat(requested.get(0).path("data").path("status").asText()).isEqualTo("pending");
    assertThat(EventSchemas.violations("refund.requested", requested.get(0).toString())).isEmpty();
    // that tells when the user asked for it, as the record and the API's createdAt do; when the
    // win reopened it is the event's occurredAt
    Instant askedAt =
        h.db()
            .jdbi()
            .withExtension(RefundDao.class, d -> d.find(request))
            .orElseThrow()
            .createdAt();
    assertThat(Instant.parse(requested.get(0).path("data").path("requestedAt").asText()))
        .isEqualTo(askedAt);
    assertThat(Instant.parse(requested.get(0).path("occurredAt").asText())).isAfter(askedAt);
    // (a new fact: not the id of the request's first refund.requested, which a consumer that
    // drops events it has seen would take it for)
    assertThat(requested.get(0).path("id").asText())
        .isNotEqualTo(
            PaymentEvent.idFor(PaymentEventType.REFUND_REQUESTED, request.toString()).toString());
    // and the money it asks for is claimed once, by it: an admin may approve it
    long claimed =
        h.db().jdbi().withExtension(RefundDao.class, d -> d.claimedCents(paid.paymentIntentId()));
    assertThat(claimed).isEqualTo(500);

    // and telling the win again reopens nothing twice
    h.webhooks().publish(StripeFixtures.withNewEventId(won));
    h.webhooks().publish(won);
    h.awaitStripeEventsApplied();
    assertThat(h.paymentEvents("refund.requested", request.toString())).hasSize(1);

    // When the card network reverses the win (lost again)
    h.webhooks()
        .publish(
            StripeFixtures.createdLater(
                StripeFixtures.sameDispute(opened, "charge.dispute.updated", "lost"), 180));

    // Then the request is closed again for the chargeback, and the user told so again
    Await.value(
        Harness.WAIT,
        "the user's request closed again",
        () ->
            h.db()
                .row(
                    "SELECT status FROM payment_refunds WHERE id = ? AND status = 'rejected'"
                        + " AND closed_for = ?",
                    request,
                    chargeback));
    Await.until(
        Harness.WAIT,
        "a second refund.rejected",
        () -> h.paymentEvents("refund.rejected", request.toString()).size() == 2);
    assertThat(
            h.paymentEvents("refund.rejected", request.toString()).stream()
                .map(e -> e.path("id").asText())
                .distinct())
        .as("each closing announced under an id of its own")
        .hasSize(2);
  }

  @Test
  void shouldKeepARequestClosedForALostChargebackWhenAnEventOfTheEarlierWinArrivesAfterTheLoss() {
    // Given a posting fee whose owner asked for it back, charged back in full, the dispute won a
    // minute later and the win reversed a minute after that: lost, the request closed for it
    var paid = h.paidListing(Duration.ofDays(3));
    UUID request = h.pendingRequest(paid, 500);
    String disputeId = StripeFixtures.newId("du");
    String opened =
        StripeFixtures.event(
            "charge.dispute.created",
            StripeFixtures.dispute(disputeId, paid.paymentIntentId(), 500, "needs_response"));
    h.webhooks().publish(opened);
    h.awaitPaymentEvent("chargeback.recorded", disputeId);
    String won =
        StripeFixtures.createdLater(
            StripeFixtures.sameDispute(opened, "charge.dispute.closed", "won"), 60);
    h.webhooks().publish(won);
    h.awaitStripeEventsApplied();
    h.webhooks()
        .publish(
            StripeFixtures.createdLater(
                StripeFixtures.sameDispute(opened, "charge.dispute.updated", "lost"), 120));
    UUID chargeback =
        UUID.nameUUIDFromBytes(("stripe-dispute/" + disputeId).getBytes(StandardCharsets.UTF_8));
    assertClosedFor(
        request,
        chargeback,
        "taken back by chargeback " + chargeback + " (dispute " + disputeId + " lost)");

    // When an event Stripe created with the win (its funds reinstated) is delivered only now,
    // under an event id of its own (Stripe retries a failed delivery for days, in no order)
    h.webhooks().publish(StripeFixtures.withNewEventId(won, "charge.dispute.funds_reinstated"));
    h.awaitStripeEventsApplied();

    // Then the dispute stays lost, as Stripe last decided it
    assertThat(
            h.db()
                .row("SELECT status FROM payment_disputes WHERE stripe_dispute_id = ?", disputeId)
                .orElseThrow())
        .containsEntry("status", "lost");
    // and the request stays closed: the chargeback gave the customer the 500 for good, and no
    // admin is asked to refund them a second time
    assertThat(status(request)).isEqualTo("rejected");
    assertThat(h.paymentEvents("refund.requested", request.toString())).isEmpty();
  }

  /** A user's request of {@code amount}, as checkout-api's route records it. */
  private static String status(UUID request) {
    return (String)
        h.db()
            .row("SELECT status FROM payment_refunds WHERE id = ?", request)
            .orElseThrow()
            .get("status");
  }

  /**
   * The request is closed as not owed for {@code takenBy}, with {@code why}, and the user told
   * once; an admin's approval would be refused (it is no longer pending, and nothing is left).
   */
  private static void assertClosedFor(UUID request, UUID takenBy, String why) {
    Map<String, Object> closed =
        Await.value(
            Harness.WAIT,
            "the user's request closed",
            () ->
                h.db()
                    .row(
                        "SELECT status, rejection_reason, closed_at, close_reason, close_outcome,"
                            + " closed_for, stripe_payment_intent_id, amount_cents"
                            + " FROM payment_refunds WHERE id = ? AND status <> 'pending'",
                        request));
    assertThat(closed)
        .containsEntry("status", "rejected")
        .containsEntry("rejection_reason", why)
        .containsEntry("close_reason", why)
        .containsEntry("close_outcome", "not_owed")
        .containsEntry("closed_for", takenBy);
    assertThat(closed.get("closed_at")).isNotNull();
    JsonNode rejected = h.awaitPaymentEvent("refund.rejected", request.toString());
    assertThat(rejected.path("data").path("rejectionReason").asText()).isEqualTo(why);
    assertThat(rejected.path("data").path("status").asText()).isEqualTo("rejected");
    assertThat(rejected.path("data").path("rejectedBy").isNull()).isTrue();
    assertThat(EventSchemas.violations("refund.rejected", rejected.toString())).isEmpty();
    // what checkout-api's approval checks: nothing of the payment is left for the request
    String pi = (String) closed.get("stripe_payment_intent_id");
    long claimed = h.db().jdbi().withExtension(RefundDao.class, d -> d.claimedCents(pi));
    assertThat(claimed).isEqualTo(500);
  }
}
