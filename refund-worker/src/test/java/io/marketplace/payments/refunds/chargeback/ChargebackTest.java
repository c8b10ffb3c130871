package io.marketplace.payments.refunds.chargeback;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.common.refund.RefundDao;
import io.marketplace.payments.refunds.Harness;
import io.marketplace.payments.refunds.RefundWorker;
import io.marketplace.payments.refunds.StripeFixtures;
import io.marketplace.payments.testsupport.Await;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Chargebacks and bans end to end: disputes opened at the Stripe emulator, their webhooks on the
 * real broker, records in PostgreSQL, events on payments.events.v1.
 */
class ChargebackTest {

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
  void shouldCountADisputeOnceWhenItIsDeliveredThreeTimes() {
    // Given a user's paid listing, disputed at the card network
    var paid = h.paidListing(Duration.ofDays(3));
    String disputeId = h.emulator().openDispute(paid.paymentIntentId());
    String created = awaitForwarded("charge.dispute.created", disputeId);

    // When Stripe delivers the same event again, and the same dispute under another event id
    h.webhooks().publish(created);
    h.webhooks().publish(StripeFixtures.withNewEventId(created));
    h.awaitStripeEventsApplied();

    // Then one dispute, one chargeback record, one chargeback.recorded, and no ban
    assertThat(h.db().count("payment_disputes WHERE stripe_dispute_id = ?", disputeId)).isOne();
    Map<String, Object> chargeback =
        h.db()
            .row("SELECT * FROM payment_refunds WHERE stripe_dispute_id = ?", disputeId)
            .orElseThrow();
    assertThat(chargeback)
        .containsEntry("reason", "chargeback")
        .containsEntry("status", "processed")
        .containsEntry("user_id", paid.userId())
        .containsEntry("stripe_payment_intent_id", paid.paymentIntentId())
        .containsEntry("amount_cents", 500);
    h.awaitPaymentEvent("chargeback.recorded", disputeId);
    assertThat(h.paymentEvents("chargeback.recorded", disputeId)).hasSize(1);
    assertThat(bannedAt(paid.userId())).isNull();
  }

  @Test
  void shouldBanUserOnceWhenTwoDistinctDisputesAreRecorded() {
    // Given a user with three paid listings
    UUID user = UUID.randomUUID();
    var first = h.paidListing(user, Duration.ofDays(5), 500);
    var second = h.paidListing(user, Duration.ofDays(4), 1000);
    var third = h.paidListing(user, Duration.ofDays(3), 300);

    // When the first is disputed
    String d1 = h.emulator().openDispute(first.paymentIntentId());
    h.awaitPaymentEvent("chargeback.recorded", d1);

    // Then the user is not banned yet
    assertThat(bannedAt(user)).isNull();

    // When the second is disputed
    String d2 = h.emulator().openDispute(second.paymentIntentId());

    // Then the user is banned, with user.banned announced
    var banned = h.awaitPaymentEvent("user.banned", user.toString());
    assertThat(banned.path("data").path("chargebackCount").asInt()).isEqualTo(2);
    assertThat(banned.path("data").path("disputeIds").toString()).contains(d1, d2);
    Instant bannedAt = bannedAt(user);
    assertThat(bannedAt).isNotNull();
    assertThat(
            (String)
                h.db()
                    .row("SELECT ban_reason FROM users WHERE id = ?", user)
                    .orElseThrow()
                    .get("ban_reason"))
        .contains("2 chargebacks");

    // When a third dispute arrives
    String d3 = h.emulator().openDispute(third.paymentIntentId());
    h.awaitPaymentEvent("chargeback.recorded", d3);
    h.awaitStripeEventsApplied();

    // Then no second user.banned is published and the ban is unchanged
    assertThat(h.paymentEvents("user.banned", user.toString())).hasSize(1);
    assertThat(bannedAt(user)).isEqualTo(bannedAt);
    assertThat(h.db().count("payment_refunds WHERE user_id = ? AND reason = 'chargeback'", user))
        .isEqualTo(3);
  }

  @Test
  void shouldLetAnUnbanStandUntilTheNextNewDispute() {
    // Given a user banned for two chargebacks, with a third paid listing
    UUID user = UUID.randomUUID();
    var first = h.paidListing(user, Duration.ofDays(5), 500);
    var second = h.paidListing(user, Duration.ofDays(4), 500);
    var third = h.paidListing(user, Duration.ofDays(3), 500);
    String d1 = h.emulator().openDispute(first.paymentIntentId());
    h.awaitPaymentEvent("chargeback.recorded", d1);
    String d2 = h.emulator().openDispute(second.paymentIntentId());
    h.awaitPaymentEvent("user.banned", d2);
    // and unbanned by an admin (what the admin unban route writes)
    h.db()
        .execute(
            "UPDATE users SET banned_at = NULL, ban_reason = NULL, unbanned_at = now(),"
                + " unbanned_by = ?, unban_reason = 'goodwill' WHERE id = ?",
            UUID.randomUUID(),
            user);

    // When more events about the disputes already counted arrive: an update, a duplicate under
    // another event id, and the closing of one as lost
    String created = awaitForwarded("charge.dispute.created", d1);
    h.webhooks().publish(StripeFixtures.withNewEventId(created, "charge.dispute.updated"));
    h.webhooks().publish(StripeFixtures.withNewEventId(created));
    h.emulator().closeDispute(d2, "lost");
    awaitForwarded("charge.dispute.closed", d2);
    h.awaitStripeEventsApplied();

    // Then the unban stands
    assertThat(
            h.db()
                .row("SELECT status FROM payment_disputes WHERE stripe_dispute_id = ?", d2)
                .orElseThrow())
        .containsEntry("status", "lost");
    assertThat(bannedAt(user)).isNull();
    assertThat(h.paymentEvents("user.banned", user.toString())).hasSize(1);

    // When a new dispute is counted
    String d3 = h.emulator().openDispute(third.paymentIntentId());

    // Then the user is banned again, announced by a second user.banned
    var banned = h.awaitPaymentEvent("user.banned", d3);
    assertThat(banned.path("data").path("chargebackCount").asInt()).isEqualTo(3);
    assertThat(bannedAt(user)).isNotNull();
    assertThat(h.paymentEvents("user.banned", user.toString())).hasSize(2);
  }

  @Test
  void shouldNotCountADisputeClosedAsWon() {
    // Given a user whose first chargeback was closed as won
    UUID user = UUID.randomUUID();
    var first = h.paidListing(user, Duration.ofDays(5), 500);
    var second = h.paidListing(user, Duration.ofDays(4), 500);
    String won = h.emulator().openDispute(first.paymentIntentId());
    h.awaitPaymentEvent("chargeback.recorded", won);
    h.emulator().closeDispute(won, "won");
    awaitForwarded("charge.dispute.closed", won);
    h.awaitStripeEventsApplied();

    // When a second payment of theirs is disputed
    String lost = h.emulator().openDispute(second.paymentIntentId());
    h.awaitPaymentEvent("chargeback.recorded", lost);
    h.awaitStripeEventsApplied();

    // Then both are recorded, and the user is not banned: the won dispute does not count
    assertThat(h.db().count("payment_refunds WHERE user_id = ? AND reason = 'chargeback'", user))
        .isEqualTo(2);
    assertThat(bannedAt(user)).isNull();
    assertThat(h.paymentEvents("user.banned", user.toString())).isEmpty();
  }

  @Test
  void shouldNotCountAnInquiryWhenDecidingBans() {
    // Given a user with one chargeback
    Disputed given = userWithOneChargeback();
    UUID user = given.user();

    // When another payment of theirs gets an inquiry (warning_needs_response)
    String inquiry = h.emulator().openDisputeInquiry(given.other().paymentIntentId());
    awaitForwarded("charge.dispute.created", inquiry);
    h.awaitStripeEventsApplied();

    // Then the inquiry is recorded as such, not as a chargeback, and the user is not banned
    assertThat(
            h.db()
                .row(
                    "SELECT is_inquiry, status FROM payment_disputes WHERE stripe_dispute_id = ?",
                    inquiry)
                .orElseThrow())
        .containsEntry("is_inquiry", true)
        .containsEntry("status", "warning_needs_response");
    assertThat(h.db().count("payment_refunds WHERE stripe_dispute_id = ?", inquiry)).isZero();
    assertThat(bannedAt(user)).isNull();
  }

  @Test
  void shouldNotCountADisputePreventedBeforeItBecameAChargeback() {
    // Given a user with one chargeback
    Disputed given = userWithOneChargeback();
    UUID user = given.user();
    String created = awaitForwarded("charge.dispute.created", given.disputeId());

    // When a dispute of another payment of theirs is prevented (status prevented: the issuer's
    // case was resolved before it became a chargeback, with a refund rather than funds withdrawn)
    String prevented =
        StripeFixtures.otherDispute(created, given.other().paymentIntentId(), "prevented");
    h.webhooks().publish(prevented);
    h.awaitStripeEventsApplied();

    // Then it is recorded, closed, but is no chargeback: no money recorded returned by it, and
    // the user is not banned
    String disputeId = StripeFixtures.objectId(prevented);
    assertThat(
            h.db()
                .row(
                    "SELECT status, closed_at IS NOT NULL AS closed FROM payment_disputes"
                        + " WHERE stripe_dispute_id = ?",
                    disputeId)
                .orElseThrow())
        .containsEntry("status", "prevented")
        .containsEntry("closed", true);
    assertThat(h.db().count("payment_refunds WHERE stripe_dispute_id = ?", disputeId)).isZero();
    assertThat(bannedAt(user)).isNull();
  }

  @Test
  void shouldRecordTheOutcomeWhenADisputeIsClosed() {
    // Given a recorded chargeback
    var paid = h.paidListing(Duration.ofDays(2));
    String disputeId = h.emulator().openDispute(paid.paymentIntentId());
    h.awaitPaymentEvent("chargeback.recorded", disputeId);

    // When the card network decides it, lost
    h.emulator().closeDispute(disputeId, "lost");

    // Then the dispute records its outcome, and the chargeback is still one record
    Await.untilAsserted(
        Harness.WAIT,
        "the dispute closed as lost",
        () ->
            assertThat(
                    h.db()
                        .row(
                            "SELECT status, closed_at FROM payment_disputes"
                                + " WHERE stripe_dispute_id = ?",
                            disputeId)
                        .orElseThrow())
                .containsEntry("status", "lost")
                .extractingByKey("closed_at")
                .isNotNull());
    assertThat(
            h.db()
                .row("SELECT note FROM payment_refunds WHERE stripe_dispute_id = ?", disputeId)
                .orElseThrow())
        .containsEntry("note", "dispute closed: lost");
    assertThat(h.paymentEvents("chargeback.recorded", disputeId)).hasSize(1);
  }

  @Test
  void shouldPassOverTheEventsItDoesNotActOnWithoutTouchingTheDatabase() {
    // Given a paid listing, whose payment sent events of types the refund worker has no use for
    var paid = h.paidListing(Duration.ofDays(1));
    List<String> others = h.webhooks().forwardedIds(type -> !h.worker().handlesStripeEvent(type));
    assertThat(others).isNotEmpty();

    // When a dispute follows them on the same partition (the PaymentIntent's) and is applied
    String disputeId = h.emulator().openDispute(paid.paymentIntentId());
    h.awaitPaymentEvent("chargeback.recorded", disputeId);
    String disputeEvent =
        h.webhooks().forwardedIds(type -> type.equals("charge.dispute.created")).getLast();
    // (the chargeback may have been recorded from the dispute's other event, funds_withdrawn,
    // delivered first: every event of a type it acts on is applied before the rows are counted)
    h.awaitStripeEventsApplied();

    // Then the dispute's event is recorded as applied, the others left no row at all
    assertThat(
            h.db()
                .count(
                    "processed_events WHERE consumer = ? AND event_key = ?",
                    RefundWorker.STRIPE_CONSUMER,
                    disputeEvent))
        .isOne();
    assertThat(
            h.db()
                .count(
                    "processed_events WHERE consumer = ? AND event_key = ANY(?)",
                    RefundWorker.STRIPE_CONSUMER,
                    others.toArray(String[]::new)))
        .isZero();
  }

  @Test
  void shouldCountADisputeForTheUserWhenItsFirstEventCameBeforeThePaymentRow() {
    // Given a user with one recorded chargeback
    UUID user = UUID.randomUUID();
    var first = h.paidListing(user, Duration.ofDays(5), 500);
    String d1 = h.emulator().openDispute(first.paymentIntentId());
    h.awaitPaymentEvent("chargeback.recorded", d1);
    assertThat(bannedAt(user)).isNull();

    // and a second payment of theirs, succeeded at Stripe, whose payments row is not there yet
    // (checkout-api's insert was lost; the payment processor rebuilds it from the PaymentIntent's
    // metadata, on its own consumer group, possibly after this worker saw the dispute)
    UUID secondListing = UUID.randomUUID();
    String secondPi = h.charge(user, secondListing, 500, "posting_fee");

    // When the second payment is disputed before its row exists
    String d2 = h.emulator().openDispute(secondPi);
    String created = awaitForwarded("charge.dispute.created", d2);
    h.awaitStripeEventsApplied();

    // and the row is then rebuilt, and Stripe tells of the same dispute again
    h.recordPayment(
        secondPi, user, secondListing, 500, "posting_fee", h.now().minus(Duration.ofDays(4)));
    h.webhooks().publish(StripeFixtures.withNewEventId(created, "charge.dispute.updated"));
    h.awaitStripeEventsApplied();

    // Then the second chargeback is recorded for the user (it is: the refund row names them)
    assertThat(
            h.db()
                .row("SELECT user_id FROM payment_refunds WHERE stripe_dispute_id = ?", d2)
                .orElseThrow())
        .containsEntry("user_id", user);
    // and it counts toward their ban like any other: two distinct chargebacks, none won
    assertThat(bannedAt(user)).as("user banned after two distinct chargebacks").isNotNull();
    assertThat(
            h.db()
                .row("SELECT user_id FROM payment_disputes WHERE stripe_dispute_id = ?", d2)
                .orElseThrow())
        .containsEntry("user_id", user);
  }

  @Test
  void shouldRecordTheChargebackOfAnInquiryThatEscalatedWhenTheInquiryIsToldLast() {
    // Given a user with one recorded chargeback, and a second payment of theirs whose row is not
    // there yet, disputed: Stripe's inquiry on it escalated to a chargeback, and the escalation
    // (needs_response) reaches us first
    Disputed given = userWithOneChargeback();
    UUID user = given.user();
    String template = awaitForwarded("charge.dispute.created", given.disputeId());
    UUID secondListing = UUID.randomUUID();
    String secondPi = h.charge(user, secondListing, 500, "posting_fee");
    String escalated =
        StripeFixtures.withNewEventId(
            StripeFixtures.otherDispute(template, secondPi, "needs_response"),
            "charge.dispute.updated");
    String disputeId = StripeFixtures.objectId(escalated);
    h.webhooks().publish(escalated);
    h.awaitStripeEventsApplied();
    h.recordPayment(
        secondPi, user, secondListing, 500, "posting_fee", h.now().minus(Duration.ofDays(4)));

    // When the inquiry's own event (warning_needs_response) comes last, after the payment's row
    h.webhooks()
        .publish(
            StripeFixtures.sameDispute(
                escalated, "charge.dispute.created", "warning_needs_response"));
    h.awaitStripeEventsApplied();

    // Then the dispute stays a chargeback, recorded as money gone back, and it is the user's
    // second: the ban and the chargeback record go together
    assertThat(disputeRow(disputeId))
        .containsEntry("is_inquiry", false)
        .containsEntry("status", "needs_response");
    assertThat(
            h.db()
                .row(
                    "SELECT reason, amount_cents, user_id FROM payment_refunds"
                        + " WHERE stripe_dispute_id = ?",
                    disputeId)
                .orElseThrow())
        .containsEntry("reason", "chargeback")
        .containsEntry("user_id", user);
    assertThat(bannedAt(user)).isNotNull();
  }

  @Test
  void shouldCountAClosedInquiryWhenItEscalatesToAChargebackUnderTheSameId() {
    // Given a user with one recorded chargeback, and an inquiry on their other payment that
    // Stripe closed without a chargeback
    Disputed given = userWithOneChargeback();
    UUID user = given.user();
    String template = awaitForwarded("charge.dispute.created", given.disputeId());
    String inquiry =
        StripeFixtures.withNewEventId(
            StripeFixtures.otherDispute(
                template, given.other().paymentIntentId(), "warning_needs_response"),
            "charge.dispute.created");
    String disputeId = StripeFixtures.objectId(inquiry);
    h.webhooks().publish(inquiry);
    h.webhooks()
        .publish(StripeFixtures.sameDispute(inquiry, "charge.dispute.closed", "warning_closed"));
    h.awaitStripeEventsApplied();
    assertThat(bannedAt(user)).as("an inquiry does not count").isNull();

    // When the issuer escalates it to a chargeback later, under the same dispute id
    h.webhooks()
        .publish(StripeFixtures.sameDispute(inquiry, "charge.dispute.updated", "needs_response"));
    h.webhooks()
        .publish(
            StripeFixtures.sameDispute(
                inquiry, "charge.dispute.funds_withdrawn", "needs_response"));
    h.awaitStripeEventsApplied();

    // Then it is an open chargeback, recorded as money gone back once, and the user's second:
    // banned, announced once
    assertThat(disputeRow(disputeId))
        .containsEntry("is_inquiry", false)
        .containsEntry("status", "needs_response")
        .containsEntry("closed_at", null);
    assertThat(
            h.db()
                .count(
                    "payment_refunds WHERE stripe_dispute_id = ? AND reason = 'chargeback'",
                    disputeId))
        .isEqualTo(1);
    assertThat(bannedAt(user)).isNotNull();
    h.awaitPaymentEvent("chargeback.recorded", disputeId);

    // And the inquiry's close told again afterwards (out of order) changes nothing
    h.webhooks()
        .publish(StripeFixtures.sameDispute(inquiry, "charge.dispute.closed", "warning_closed"));
    h.awaitStripeEventsApplied();
    assertThat(disputeRow(disputeId))
        .containsEntry("is_inquiry", false)
        .containsEntry("status", "needs_response");
    h.db().awaitOutboxPublished(Harness.WAIT);
    assertThat(h.paymentEvents("chargeback.recorded", disputeId)).hasSize(1);
  }

  @Test
  void shouldRecordTheAmountOfTheChargebackAnInquiryEscalatedTo() {
    // Given a paid listing (500 cents) whose payment gets an inquiry, during which support
    // refunds 200 cents in Stripe's dashboard (an inquiry's charge may still be refunded)
    var paid = h.paidListing(Duration.ofDays(3));
    String disputeId = h.emulator().openDisputeInquiry(paid.paymentIntentId());
    String inquiry = awaitForwarded("charge.dispute.created", disputeId);
    Map<String, Object> refund = h.emulator().refundOutsideSystem(paid.paymentIntentId(), 200L);
    awaitForwarded("refund.created", (String) refund.get("id"));
    h.awaitStripeEventsApplied();

    // When the issuer escalates the inquiry to a chargeback of the 300 cents left
    h.webhooks()
        .publish(
            StripeFixtures.sameDispute(inquiry, "charge.dispute.updated", "needs_response", 300));
    h.awaitStripeEventsApplied();

    // Then the chargeback is recorded, and announced, for the 300 cents it took back: with the
    // refund, what went back is what was paid, not more
    assertThat(
            h.db()
                .row(
                    "SELECT amount_cents FROM payment_refunds WHERE stripe_dispute_id = ?",
                    disputeId)
                .orElseThrow())
        .containsEntry("amount_cents", 300);
    assertThat(
            h.awaitPaymentEvent("chargeback.recorded", disputeId)
                .path("data")
                .path("amountCents")
                .asLong())
        .isEqualTo(300);
    assertThat(
            h.db()
                .row(
                    "SELECT sum(amount_cents) AS gone FROM payment_refunds"
                        + " WHERE stripe_payment_intent_id = ? AND status = 'processed'",
                    paid.paymentIntentId())
                .orElseThrow()
                .get("gone"))
        .isEqualTo(500L);
  }

  @Test
  void shouldRecordTheAmountALaterEventOfTheChargebackTellsWhateverTheOrderTheyArriveIn() {
    // Given a paid listing (500 cents) charged back in full, recorded as 500 gone back
    var paid = h.paidListing(Duration.ofDays(3));
    String disputeId = h.emulator().openDispute(paid.paymentIntentId());
    String created = awaitForwarded("charge.dispute.created", disputeId);
    h.awaitPaymentEvent("chargeback.recorded", disputeId);
    h.awaitStripeEventsApplied();

    // When the network changes the dispute to 300 cents a minute later (a part of the order)
    h.webhooks()
        .publish(
            StripeFixtures.createdLater(
                StripeFixtures.sameDispute(created, "charge.dispute.updated", "under_review", 300),
                60));
    h.awaitStripeEventsApplied();

    // Then the dispute and its chargeback are recorded for 300, which is what went back
    assertThat(disputeAmount(disputeId)).isEqualTo(300);
    assertThat(chargebackAmount(disputeId)).isEqualTo(300);
    assertThat(goneBack(paid.paymentIntentId())).isEqualTo(300L);

    // When an event of the dispute from before the change (its funds withdrawn) arrives late
    h.webhooks()
        .publish(
            StripeFixtures.sameDispute(
                created, "charge.dispute.funds_withdrawn", "needs_response", 500));
    h.awaitStripeEventsApplied();

    // Then the amount stays the later one, and the chargeback was announced once
    assertThat(disputeAmount(disputeId)).isEqualTo(300);
    assertThat(chargebackAmount(disputeId)).isEqualTo(300);
    assertThat(h.paymentEvents("chargeback.recorded", disputeId)).hasSize(1);
  }

  @Test
  void shouldAnnounceAChargebackWonBeforeItsFirstEventsArriveAsItWouldInOrder() {
    // Given a user with one recorded chargeback, and a second paid listing of theirs
    Disputed given = userWithOneChargeback();

    // When the second payment is disputed and the dispute won, but Stripe delivers the dispute's
    // opening events (created, funds_withdrawn) only after its closing ones (closed, funds
    // reinstated)
    h.webhooks()
        .hold(
            e ->
                e.type().equals("charge.dispute.created")
                    || e.type().equals("charge.dispute.funds_withdrawn"));
    String won = h.emulator().openDispute(given.other().paymentIntentId());
    h.emulator().closeDispute(won, "won");
    awaitForwarded("charge.dispute.funds_reinstated", won);
    h.awaitStripeEventsApplied();
    h.webhooks().release();
    h.awaitStripeEventsApplied();

    // Then its chargeback is announced once, counted as in the other order: the user's second
    // chargeback, this one included; and, as in the other order, where it was counted when it
    // opened, before the win, it bans the user, once (the win does not lift a ban)
    assertThat(h.paymentEvents("chargeback.recorded", won))
        .singleElement()
        .satisfies(e -> assertThat(e.path("data").path("chargebackCount").asInt()).isEqualTo(2));
    assertThat(bannedAt(given.user())).isNotNull();
    assertThat(h.paymentEvents("user.banned", given.user().toString()))
        .singleElement()
        .satisfies(
            e ->
                assertThat(e.path("data").path("disputeIds").toString())
                    .contains(won, given.disputeId()));
  }

  @Test
  void shouldNotTakeAWonDisputeForMoneyReturnedWhenTheListingIsRejectedLater() {
    // Given a paid listing whose payment was disputed, and the dispute won: the card network gave
    // the 500 cents back to us (charge.dispute.closed, won; funds reinstated)
    var paid = h.paidListing(Duration.ofDays(3));
    String disputeId = h.emulator().openDispute(paid.paymentIntentId());
    h.awaitPaymentEvent("chargeback.recorded", disputeId);
    h.emulator().closeDispute(disputeId, "won");
    awaitForwarded("charge.dispute.closed", disputeId);
    h.awaitStripeEventsApplied();

    // When moderation rejects the listing (past 24 h: the refund waits for an admin)
    h.reject(paid.listingId(), h.now());
    h.awaitModerationApplied(paid.listingId(), 1);

    // Then the customer, who has not got the 500 back, is owed them: a pending refund of 500
    assertThat(h.refunds(paid.paymentIntentId()))
        .filteredOn(r -> "moderation_rejection".equals(r.get("reason")))
        .singleElement()
        .satisfies(
            r ->
                assertThat(r)
                    .containsEntry("status", "pending")
                    .containsEntry("amount_cents", 500));
  }

  /** A user with two paid listings of 500 cents, and the first one's chargeback recorded. */
  private record Disputed(UUID user, String disputeId, Harness.Paid other) {}

  private static Disputed userWithOneChargeback() {
    UUID user = UUID.randomUUID();
    var charged = h.paidListing(user, Duration.ofDays(5), 500);
    var other = h.paidListing(user, Duration.ofDays(4), 500);
    String disputeId = h.emulator().openDispute(charged.paymentIntentId());
    h.awaitPaymentEvent("chargeback.recorded", disputeId);
    return new Disputed(user, disputeId, other);
  }

  private static String awaitForwarded(String type, String objectId) {
    return Await.value(
        Harness.WAIT,
        type + " of " + objectId,
        () -> h.webhooks().forwarded(type, objectId).stream().findFirst());
  }

  private static java.util.Map<String, Object> disputeRow(String disputeId) {
    return h.db()
        .row(
            "SELECT is_inquiry, status, closed_at FROM payment_disputes"
                + " WHERE stripe_dispute_id = ?",
            disputeId)
        .orElseThrow();
  }

  private static Object disputeAmount(String disputeId) {
    return h.db()
        .row("SELECT amount_cents FROM payment_disputes WHERE stripe_dispute_id = ?", disputeId)
        .orElseThrow()
        .get("amount_cents");
  }

  private static Object chargebackAmount(String disputeId) {
    return h.db()
        .row(
            "SELECT amount_cents FROM payment_refunds"
                + " WHERE stripe_dispute_id = ? AND reason = 'chargeback'",
            disputeId)
        .orElseThrow()
        .get("amount_cents");
  }

  /** What our records count as gone back of a payment. */
  private static Object goneBack(String paymentIntentId) {
    return h.db()
        .jdbi()
        .withHandle(handle -> handle.attach(RefundDao.class).returnedCents(paymentIntentId));
  }

  private static Instant bannedAt(UUID user) {
    return (Instant)
        h.db().row("SELECT banned_at FROM users WHERE id = ?", user).orElseThrow().get("banned_at");
  }
}
