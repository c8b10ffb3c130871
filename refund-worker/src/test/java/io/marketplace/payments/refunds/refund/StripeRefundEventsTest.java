package io.marketplace.payments.refunds.refund;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import io.marketplace.payments.common.refund.RefundExecutor;
import io.marketplace.payments.common.refund.RefundOutcome;
import io.marketplace.payments.refunds.Harness;
import io.marketplace.payments.refunds.StripeFixtures;
import io.marketplace.payments.testsupport.Await;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Stripe's refund events keep payment_refunds equal to what Stripe did, once. */
class StripeRefundEventsTest {

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
  void shouldRecordADashboardRefundOnceWhenStripeDeliversItAgain() {
    // Given a paid listing
    var paid = h.paidListing(Duration.ofDays(3));

    // When support refunds 200 cents in Stripe's dashboard, and Stripe delivers it twice
    Map<String, Object> refund = h.emulator().refundOutsideSystem(paid.paymentIntentId(), 200L);
    String refundId = (String) refund.get("id");
    String created = awaitForwarded("refund.created", refundId);
    h.webhooks().publish(created);
    h.webhooks().publish(StripeFixtures.withNewEventId(created, "refund.updated"));
    h.awaitStripeEventsApplied();

    // Then it is recorded once, as a processed user_request refund made outside the system
    assertThat(h.refunds(paid.paymentIntentId()))
        .singleElement()
        .satisfies(
            r ->
                assertThat(r)
                    .containsEntry("stripe_refund_id", refundId)
                    .containsEntry("amount_cents", 200)
                    .containsEntry("reason", "user_request")
                    .containsEntry("status", "processed")
                    .containsEntry("note", "refunded outside the system")
                    .containsEntry("user_id", paid.userId()));
    assertThat(h.paymentEvents("refund.processed", refundId)).hasSize(1);
  }

  @Test
  void shouldRecordADashboardRefundOnceThePaymentsRowItCameBeforeAppears() {
    // Given a posting fee paid at Stripe whose payments row is not there (checkout-api's insert was
    // lost; the payment processor rebuilds it from the PaymentIntent's metadata when it applies the
    // payment's success)
    UUID userId = UUID.randomUUID();
    UUID listingId = UUID.randomUUID();
    h.db().execute("INSERT INTO users (id) VALUES (?)", userId);
    h.db()
        .execute(
            """
            INSERT INTO marketplace_listings (id, user_id, category_id, title, status)
            VALUES (?, ?, 1, 'Room to let', 'pending_payment')
            """,
            listingId,
            userId);
    String pi = h.charge(userId, listingId, 500, "posting_fee");

    // When support refunds all of it in Stripe's dashboard before the row exists
    Map<String, Object> refund = h.emulator().refundOutsideSystem(pi, null);
    String refundId = (String) refund.get("id");
    awaitForwarded("refund.created", refundId);
    h.awaitStripeEventsApplied();

    // Then nothing is recorded against a payment we do not have yet
    assertThat(h.refunds(pi)).isEmpty();

    // When the row appears, and the janitor passes (twice)
    h.recordPayment(pi, userId, listingId, 500, "posting_fee", h.now());
    h.retryNow();
    h.retryNow();

    // Then the refund is recorded once, as made outside the system, and announced once
    assertThat(h.refunds(pi))
        .singleElement()
        .satisfies(
            r ->
                assertThat(r)
                    .containsEntry("stripe_refund_id", refundId)
                    .containsEntry("amount_cents", 500)
                    .containsEntry("reason", "user_request")
                    .containsEntry("status", "processed"));
    assertThat(h.paymentEvents("refund.processed", refundId)).hasSize(1);
  }

  @Test
  void shouldKeepTheSumRefundedWithinTheAmountPaidWhenRefundsArePartial() {
    // Given a 500 cent payment refunded 200 then 300 in Stripe's dashboard
    var paid = h.paidListing(Duration.ofDays(3));
    h.emulator().refundOutsideSystem(paid.paymentIntentId(), 200L);
    h.emulator().refundOutsideSystem(paid.paymentIntentId(), 300L);
    Await.until(
        Harness.WAIT, "two refunds recorded", () -> h.refunds(paid.paymentIntentId()).size() == 2);

    // When a refund event arrives that would take the total past what was paid
    String third = StripeFixtures.newId("re");
    h.webhooks()
        .publish(
            StripeFixtures.event(
                "refund.created",
                StripeFixtures.refund(third, paid.paymentIntentId(), 100, "succeeded", Map.of())));
    h.awaitStripeEventsApplied();

    // Then it is not recorded: our refunds of the payment still sum to 500
    assertThat(
            h.db()
                .count(
                    "SELECT sum(amount_cents) FROM payment_refunds WHERE stripe_payment_intent_id = ?",
                    paid.paymentIntentId()))
        .isEqualTo(500);
    assertThat(h.refunds(paid.paymentIntentId())).hasSize(2);
    // and it waits for the failure of one of the others, which would make room for it
    assertThat(awaitingRoom(paid.paymentIntentId())).containsExactly(third);
    // overdue once it has waited a quarter of an hour: the alert RefundWaitingForRoom watches it
    double overdueBefore = overdueForRoom();
    h.advanceClock(Duration.ofMinutes(16));
    h.retryNow();
    assertThat(overdueForRoom()).isEqualTo(overdueBefore + 1);

    // When Stripe then fails that refund itself
    Map<String, Object> failed =
        StripeFixtures.refund(third, paid.paymentIntentId(), 100, "failed", Map.of());
    h.webhooks().publish(StripeFixtures.event("refund.failed", failed));
    h.awaitStripeEventsApplied();

    // Then it waits no more, and nothing is recorded
    assertThat(awaitingRoom(paid.paymentIntentId())).isEmpty();
    assertThat(h.refunds(paid.paymentIntentId())).hasSize(2);
    h.retryNow();
    assertThat(overdueForRoom()).isEqualTo(overdueBefore);
  }

  @Test
  void shouldNotRecordADashboardRefundInAnotherCurrencyThanThePayment() {
    // Given a 500 cent payment in usd, and the refunds Stripe could not have us record so far
    var paid = h.paidListing(Duration.ofDays(3));
    double unrecordedBefore = unrecorded();

    // When Stripe tells of a refund of the PaymentIntent in another currency (a PaymentIntent
    // changed by someone holding the account's keys, refunded in the dashboard): 400 eur, twice
    String refundId = StripeFixtures.newId("re");
    Map<String, Object> refund =
        new LinkedHashMap<>(
            StripeFixtures.refund(refundId, paid.paymentIntentId(), 400, "succeeded", Map.of()));
    refund.put("currency", "eur");
    String created = StripeFixtures.event("refund.created", refund);
    h.webhooks().publish(created);
    h.webhooks().publish(StripeFixtures.withNewEventId(created, "refund.updated"));
    h.awaitStripeEventsApplied();

    // Then it is not recorded or announced as 400 cents of the usd payment, nor kept waiting for
    // room on it, but counted as a Stripe refund not recorded, for an operator to reconcile
    assertThat(h.refunds(paid.paymentIntentId())).isEmpty();
    assertThat(awaitingRoom(paid.paymentIntentId())).isEmpty();
    assertThat(h.paymentEvents("refund.processed", refundId)).isEmpty();
    assertThat(unrecorded()).isGreaterThan(unrecordedBefore);
  }

  private double unrecorded() {
    Matcher value =
        Pattern.compile("(?m)^payments_refunds_unrecorded_total(?:\\{[^}]*})? (\\S+)$")
            .matcher(h.metrics());
    assertThat(value.find()).as("payments_refunds_unrecorded_total served").isTrue();
    return Double.parseDouble(value.group(1));
  }

  private double overdueForRoom() {
    Matcher value =
        Pattern.compile("(?m)^payments_refunds_awaiting_room_overdue\\{[^}]*} (\\S+)$")
            .matcher(h.metrics());
    assertThat(value.find()).as("payments_refunds_awaiting_room_overdue served").isTrue();
    return Double.parseDouble(value.group(1));
  }

  private List<Object> awaitingRoom(String paymentIntentId) {
    return h
        .db()
        .rows(
            "SELECT stripe_refund_id FROM refunds_awaiting_room WHERE stripe_payment_intent_id = ?",
            paymentIntentId)
        .stream()
        .map(r -> r.get("stripe_refund_id"))
        .toList();
  }

  @Test
  void shouldCompleteOurRecordWhenStripesWebhookArrivesBeforeOurExecutorStoredTheAnswer() {
    // Given an approved refund whose Stripe call is in flight (not yet stored)
    var paid = h.paidListing(Duration.ofHours(2));
    UUID id = UUID.randomUUID();
    h.db()
        .execute(
            """
            INSERT INTO payment_refunds
                (id, user_id, listing_id, stripe_payment_intent_id, amount_cents, reason, status)
            VALUES (?, ?, ?, ?, 500, 'moderation_rejection', 'approved')
            """,
            id,
            paid.userId(),
            paid.listingId(),
            paid.paymentIntentId());

    // When Stripe's refund.created for it (metadata refund_id) arrives first
    String stripeRefundId = StripeFixtures.newId("re");
    h.webhooks()
        .publish(
            StripeFixtures.event(
                "refund.created",
                StripeFixtures.refund(
                    stripeRefundId,
                    paid.paymentIntentId(),
                    500,
                    "succeeded",
                    Map.of(RefundExecutor.METADATA_REFUND_ID, id.toString()))));

    // Then our record is completed with Stripe's refund id, and no second record is made
    Map<String, Object> processed = h.awaitRefund(paid.paymentIntentId(), "processed");
    assertThat(processed).containsEntry("id", id).containsEntry("stripe_refund_id", stripeRefundId);
    assertThat(h.refunds(paid.paymentIntentId())).hasSize(1);
    h.awaitPaymentEvent("refund.processed", id.toString());

    // and the executor, finishing late, changes nothing and calls Stripe no more
    assertThat(h.executor().execute(id).result()).isEqualTo(RefundOutcome.Result.UNCHANGED);
    assertThat(h.stripeRefunds(paid.paymentIntentId())).isEmpty();
  }

  @Test
  void shouldCountAnAdminsPartialRefundOnceWhenStripesEventsForItArriveWithDashboardRefunds() {
    // Given a 500 cent payment, 150 of which an admin refunded through the executor, as
    // checkout-api's admin refund does (an approved user_request record, then Stripe)
    var paid = h.paidListing(Duration.ofDays(3));
    UUID id = UUID.randomUUID();
    h.db()
        .execute(
            """
            INSERT INTO payment_refunds
                (id, user_id, listing_id, stripe_payment_intent_id, amount_cents, reason, status,
                 note)
            VALUES (?, ?, ?, ?, 150, 'user_request', 'approved', 'goodwill')
            """,
            id,
            paid.userId(),
            paid.listingId(),
            paid.paymentIntentId());
    RefundOutcome outcome = h.executor().execute(id);
    assertThat(outcome.isProcessed()).isTrue();
    String ours = outcome.refund().stripeRefundId();

    // When Stripe's events for it arrive, again under new event ids, and as a charge.refunded
    // listing it without our metadata; and support refunds 200 more in Stripe's dashboard
    String created = awaitForwarded("refund.created", ours);
    h.webhooks().publish(StripeFixtures.withNewEventId(created));
    h.webhooks().publish(StripeFixtures.withNewEventId(created, "refund.updated"));
    Map<String, Object> charge = new LinkedHashMap<>();
    charge.put("id", StripeFixtures.newId("ch"));
    charge.put("object", "charge");
    charge.put("payment_intent", paid.paymentIntentId());
    charge.put("amount", 500);
    charge.put("amount_refunded", 150);
    charge.put(
        "refunds",
        Map.of(
            "object",
            "list",
            "data",
            List.of(
                StripeFixtures.refund(ours, paid.paymentIntentId(), 150, "succeeded", Map.of()))));
    h.webhooks().publish(StripeFixtures.event("charge.refunded", charge));
    String dashboard =
        (String) h.emulator().refundOutsideSystem(paid.paymentIntentId(), 200L).get("id");
    awaitForwarded("refund.created", dashboard);
    Await.until(
        Harness.WAIT, "two refunds recorded", () -> h.refunds(paid.paymentIntentId()).size() == 2);
    h.awaitStripeEventsApplied();

    // Then the admin's refund is counted once, and the dashboard's added: 350 of 500 went back
    assertThat(h.refunds(paid.paymentIntentId()))
        .extracting(r -> r.get("stripe_refund_id"), r -> r.get("amount_cents"))
        .containsExactlyInAnyOrder(tuple(ours, 150), tuple(dashboard, 200));
    assertThat(
            h.db()
                .count(
                    "SELECT sum(amount_cents) FROM payment_refunds"
                        + " WHERE stripe_payment_intent_id = ? AND status = 'processed'",
                    paid.paymentIntentId()))
        .isEqualTo(350);
    assertThat(h.paymentEvents("refund.processed", id.toString())).hasSize(1);
    assertThat(h.stripeRefunds(paid.paymentIntentId())).hasSize(2);
  }

  @Test
  void shouldRecordADashboardRefundWhoseEventArrivesBeforeTheFailureOfTheRefundItReplaces() {
    // Given a 500 cent payment of which support refunded 300 in Stripe's dashboard
    var paid = h.paidListing(Duration.ofDays(3));
    String pi = paid.paymentIntentId();
    String first = StripeFixtures.newId("re");
    h.webhooks()
        .publish(
            StripeFixtures.event(
                "refund.created", StripeFixtures.refund(first, pi, 300, "pending", Map.of())));
    h.awaitStripeEventsApplied();
    assertThat(h.refunds(pi))
        .singleElement()
        .satisfies(r -> assertThat(r).containsEntry("status", "processed"));

    // When Stripe fails that refund, support refunds the 300 again, and Stripe (which does not
    // order its events) delivers the new refund's refund.created before the old one's
    // refund.failed
    String second = StripeFixtures.newId("re");
    h.webhooks()
        .publish(
            StripeFixtures.event(
                "refund.created", StripeFixtures.refund(second, pi, 300, "succeeded", Map.of())));
    Map<String, Object> failed = StripeFixtures.refund(first, pi, 300, "failed", Map.of());
    failed.put("failure_reason", "declined");
    h.webhooks().publish(StripeFixtures.event("refund.failed", failed));
    h.awaitStripeEventsApplied();

    // Then our records equal what Stripe did: the first refund failed, the second's 300 went back
    assertThat(h.refunds(pi))
        .extracting(r -> r.get("stripe_refund_id"), r -> r.get("status"))
        .containsExactlyInAnyOrder(tuple(first, "failed"), tuple(second, "processed"));
    assertThat(awaitingRoom(pi)).isEmpty();
  }

  private static String awaitForwarded(String type, String objectId) {
    return Await.value(
        Harness.WAIT,
        type + " of " + objectId,
        () -> h.webhooks().forwarded(type, objectId).stream().findFirst());
  }
}
