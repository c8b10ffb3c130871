package io.marketplace.payments.processor;

import static io.marketplace.payments.processor.support.ProcessorFixture.NOW;
import static io.marketplace.payments.processor.support.ProcessorFixture.data;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import io.marketplace.payments.common.events.DeliveryCommand;
import io.marketplace.payments.common.events.PaymentEvent;
import io.marketplace.payments.common.events.PaymentEventType;
import io.marketplace.payments.common.events.RefundCommand;
import io.marketplace.payments.common.events.WithdrawalCommand;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.kafka.RecordHeaders;
import io.marketplace.payments.processor.support.ProcessorFixture;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.KafkaTestClient;
import io.marketplace.payments.testsupport.StripeFixtures;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** What each Stripe payment event does to listings, promotions and payments, and what it tells. */
class PaymentEventsTest {

  private static final Instant PAID_AT = Instant.parse("2026-03-02T09:59:30Z");

  private static ProcessorFixture world;

  @BeforeAll
  static void start() {
    world = new ProcessorFixture();
    world.start();
  }

  @AfterAll
  static void stop() {
    world.close();
  }

  @Test
  void shouldActivateListingAndPublishWhenPostingFeeIsPaid() {
    // Given a listing waiting for its posting fee, and our payment record of its PaymentIntent
    UUID listing = world.listing("pending_payment");
    String pi = world.payment(listing, "posting_fee", 500);

    // When Stripe says the PaymentIntent succeeded
    var event = StripeFixtures.succeeded(pi, 500, world.metadataFor(listing, "posting_fee"));
    world.deliver(event);

    // Then the listing is active for 30 days from now, the payment succeeded, the event is audited
    assertThat(world.awaitOutcome(event.eventId())).containsEntry("status", "processed");
    Map<String, Object> row = world.listingRow(listing);
    assertThat(row)
        .containsEntry("status", "active")
        .containsEntry("activated_at", NOW)
        .containsEntry("expires_at", NOW.plus(Duration.ofDays(30)))
        .containsEntry("payment_intent_id", pi);
    assertThat(world.paymentRow(pi))
        .containsEntry("status", "succeeded")
        .containsEntry("succeeded_at", PAID_AT);
    // And payment.succeeded and listing.activated are published, keyed by the listing
    List<Map<String, Object>> events = world.awaitPaymentEvents(listing, 2);
    assertThat(events)
        .extracting(e -> e.get("type"))
        .containsExactly("payment.succeeded", "listing.activated");
    assertThat(data(events.get(0)))
        .containsEntry("paymentIntentId", pi)
        .containsEntry("paymentType", "posting_fee")
        .containsEntry("amountCents", 500)
        .containsEntry("succeededAt", PAID_AT.toString());
    assertThat(data(events.get(1)))
        .containsEntry("listingId", listing.toString())
        .containsEntry("activatedAt", NOW.toString())
        .containsEntry("expiresAt", NOW.plus(Duration.ofDays(30)).toString());
  }

  @Test
  void shouldActivateListingWhenTheEventsCustomerTextCarriesANulCharacter() {
    // Given a listing waiting for its posting fee, paid with a U+0000 in the PaymentIntent's
    // metadata (valid JSON, which PostgreSQL's jsonb cannot hold)
    UUID listing = world.listing("pending_payment");
    String pi = world.payment(listing, "posting_fee", 500);
    Map<String, String> metadata =
        new java.util.HashMap<>(world.metadataFor(listing, "posting_fee"));
    metadata.put("customer_note", "flat 2\0b");

    // When Stripe says the PaymentIntent succeeded
    var event = StripeFixtures.succeeded(pi, 500, metadata);
    world.deliver(event);

    // Then the listing is active, and the event is audited: queryable, and byte for byte
    assertThat(world.awaitOutcome(event.eventId())).containsEntry("status", "processed");
    assertThat(world.listingRow(listing)).containsEntry("status", "active");
    Map<String, Object> audit = auditedCustomerNote(event.eventId());
    assertThat(audit.get("note")).isEqualTo("flat 2\uFFFDb");
    assertThat((String) audit.get("payload_raw")).contains("flat 2\\u0000b");
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      value = {
        "\\ud800 | \uFFFD",
        "\\uDC00 | \uFFFD",
        "\\ud83d. | \uFFFD.",
        "x\\ude00\\ud83d | x\uFFFD\uFFFD",
        "\\ud83d\\ude00\\ud800 | \uD83D\uDE00\uFFFD"
      })
  void shouldActivateListingWhenTheEventsCustomerTextCarriesAnUnpairedSurrogate(
      String escaped, String stored) {
    // Given a listing waiting for its posting fee, paid with half of a UTF-16 surrogate pair in
    // the PaymentIntent's metadata: JSON's grammar allows the escape, Jackson reads it, and
    // PostgreSQL's jsonb refuses it
    UUID listing = world.listing("pending_payment");
    String pi = world.payment(listing, "posting_fee", 500);
    Map<String, String> metadata =
        new java.util.HashMap<>(world.metadataFor(listing, "posting_fee"));
    metadata.put("customer_note", "flat 2 UNPAIRED b");
    var event = StripeFixtures.succeeded(pi, 500, metadata);
    String body = event.json().replace("UNPAIRED", escaped);

    // When Stripe says the PaymentIntent succeeded
    world.deliver(event, body);

    // Then the listing is active, and the event is audited: queryable, each unpaired half as
    // U+FFFD (a whole pair kept), and byte for byte
    assertThat(world.awaitOutcome(event.eventId())).containsEntry("status", "processed");
    assertThat(world.listingRow(listing)).containsEntry("status", "active");
    Map<String, Object> audit = auditedCustomerNote(event.eventId());
    assertThat(audit.get("note")).isEqualTo("flat 2 " + stored + " b");
    assertThat((String) audit.get("payload_raw")).isEqualTo(body);
  }

  @Test
  void shouldFeatureListingForSevenDaysWhenFeaturedIsPaid() {
    // Given an active listing and a featured purchase
    UUID listing = world.listing("active");
    String pi = world.payment(listing, "promotion_featured", 500);

    // When the payment succeeds
    var event = StripeFixtures.succeeded(pi, 500, world.metadataFor(listing, "promotion_featured"));
    world.deliver(event);

    // Then a featured promotion runs 7 days from now, and promotion.created is published
    assertThat(world.awaitOutcome(event.eventId())).containsEntry("status", "processed");
    assertThat(world.db.rows("SELECT * FROM listing_promotions WHERE listing_id = ?", listing))
        .singleElement()
        .satisfies(
            row ->
                assertThat(row)
                    .containsEntry("type", "featured")
                    .containsEntry("stripe_payment_intent_id", pi)
                    .containsEntry("amount_cents", 500)
                    .containsEntry("starts_at", NOW)
                    .containsEntry("expires_at", NOW.plus(Duration.ofDays(7))));
    List<Map<String, Object>> events = world.awaitPaymentEvents(listing, 2);
    assertThat(events)
        .extracting(e -> e.get("type"))
        .containsExactly("payment.succeeded", "promotion.created");
    assertThat(data(events.get(1)))
        .containsEntry("type", "featured")
        .containsEntry("startsAt", NOW.toString())
        .containsEntry("expiresAt", NOW.plus(Duration.ofDays(7)).toString());
  }

  @Test
  void shouldExtendFromTheCurrentEndWhenFeaturedIsPaidWhileFeatured() {
    // Given a listing featured until 3 days from now
    UUID listing = world.listing("active");
    Instant runningEnd = NOW.plus(Duration.ofDays(3));
    featuredUntil(listing, runningEnd);
    String pi = world.payment(listing, "promotion_featured", 500);

    // When a second featured purchase succeeds
    var event = StripeFixtures.succeeded(pi, 500, world.metadataFor(listing, "promotion_featured"));
    world.deliver(event);

    // Then the new week starts where the running one ends
    world.awaitOutcome(event.eventId());
    assertThat(
            world.db.row(
                "SELECT starts_at, expires_at FROM listing_promotions"
                    + " WHERE stripe_payment_intent_id = ?",
                pi))
        .contains(
            Map.of("starts_at", runningEnd, "expires_at", runningEnd.plus(Duration.ofDays(7))));
  }

  @Test
  void shouldChainFeaturedWeeksWhenTwoPurchasesAreAppliedTogether() {
    // Given two featured purchases of one listing whose events are consumed in one poll
    UUID listing = world.listing("active");
    var meta = world.metadataFor(listing, "promotion_featured");
    var first =
        StripeFixtures.succeeded(world.payment(listing, "promotion_featured", 500), 500, meta);
    var second =
        StripeFixtures.succeeded(world.payment(listing, "promotion_featured", 500), 500, meta);

    // When both are applied
    world.deliver(first);
    world.deliver(second);
    world.awaitOutcome(first.eventId());
    world.awaitOutcome(second.eventId());

    // Then the listing is featured for two consecutive weeks, whichever came first
    assertThat(
            world.db.rows(
                "SELECT starts_at, expires_at FROM listing_promotions WHERE listing_id = ?"
                    + " ORDER BY starts_at",
                listing))
        .containsExactly(
            Map.of("starts_at", NOW, "expires_at", NOW.plus(Duration.ofDays(7))),
            Map.of(
                "starts_at", NOW.plus(Duration.ofDays(7)),
                "expires_at", NOW.plus(Duration.ofDays(14))));
  }

  @Test
  void shouldSucceedWhenAFailedAttemptIsFollowedBySuccess() {
    // Given a posting fee whose first attempt is declined and second succeeds
    UUID listing = world.listing("pending_payment");
    String pi = world.payment(listing, "posting_fee", 500);
    var meta = world.metadataFor(listing, "posting_fee");
    var declined = StripeFixtures.paymentFailed(pi, 500, meta).created(PAID_AT.minusSeconds(30));
    var paid = StripeFixtures.succeeded(pi, 500, meta);

    // When both are applied in order
    world.deliver(declined);
    world.deliver(paid);
    world.awaitOutcome(paid.eventId());

    // Then the payment succeeded and the listing is active; both facts were announced
    assertThat(world.awaitOutcome(declined.eventId())).containsEntry("status", "processed");
    assertThat(world.paymentRow(pi)).containsEntry("status", "succeeded");
    assertThat(world.listingRow(listing)).containsEntry("status", "active");
    assertThat(world.awaitPaymentEvents(listing, 3))
        .extracting(e -> e.get("type"))
        .containsExactly("payment.failed", "payment.succeeded", "listing.activated");
  }

  @Test
  void shouldBumpListingWhenBumpIsPaid() {
    // Given an active listing and a bump purchase
    UUID listing = world.listing("active");
    String pi = world.payment(listing, "promotion_bump", 200);

    // When the payment succeeds
    var event = StripeFixtures.succeeded(pi, 200, world.metadataFor(listing, "promotion_bump"));
    world.deliver(event);

    // Then the listing was bumped when the payment was applied, with a bump row that has no end
    world.awaitOutcome(event.eventId());
    assertThat(world.listingRow(listing)).containsEntry("last_bumped_at", NOW);
    assertThat(world.db.row("SELECT * FROM listing_promotions WHERE listing_id = ?", listing))
        .hasValueSatisfying(
            row ->
                assertThat(row)
                    .containsEntry("type", "bump")
                    .containsEntry("amount_cents", 200)
                    .containsEntry("starts_at", NOW)
                    .containsEntry("expires_at", null));
    assertThat(world.awaitPaymentEvents(listing, 2))
        .extracting(e -> e.get("type"))
        .containsExactly("payment.succeeded", "promotion.created");
  }

  @Test
  void shouldBumpListingToTheTopWhenTheBumpIsAppliedDaysAfterItsPayment() {
    // Given an active listing and a bump Stripe took 3 days before the processor applies it (a
    // backlog after an outage, or a reconcile repair of a lost webhook)
    UUID listing = world.listing("active");
    String pi = world.payment(listing, "promotion_bump", 200);
    Instant paidAt = NOW.minus(Duration.ofDays(3));

    // When the payment is applied
    var event =
        StripeFixtures.succeeded(pi, 200, world.metadataFor(listing, "promotion_bump"))
            .created(paidAt);
    world.deliver(event);

    // Then the listing goes to the top now, as its owner paid for, not 3 days down among the
    // listings bumped since; the payment keeps its own time
    assertThat(world.awaitOutcome(event.eventId())).containsEntry("status", "processed");
    assertThat(world.listingRow(listing)).containsEntry("last_bumped_at", NOW);
    assertThat(
            world.db.row("SELECT starts_at FROM listing_promotions WHERE listing_id = ?", listing))
        .contains(Map.of("starts_at", NOW));
    assertThat(world.paymentRow(pi)).containsEntry("succeeded_at", paidAt);
    List<Map<String, Object>> events = world.awaitPaymentEvents(listing, 2);
    assertThat(data(events.get(0))).containsEntry("succeededAt", paidAt.toString());
    assertThat(data(events.get(1))).containsEntry("startsAt", NOW.toString());
  }

  @Test
  void shouldActivateOnceAndRefundTheOtherWhenTwoPaymentIntentsPayTheSamePostingFee() {
    // Given a listing waiting for its posting fee with two PaymentIntents for it (one from a
    // checkout given up, still paid in another tab), each on its own partition
    UUID listing = world.listing("pending_payment");
    String first = world.payment(listing, "posting_fee", 500);
    String second = world.payment(listing, "posting_fee", 500);

    // When both succeed, one right after the other
    var firstPaid = StripeFixtures.succeeded(first, 500, world.metadataFor(listing, "posting_fee"));
    var secondPaid =
        StripeFixtures.succeeded(second, 500, world.metadataFor(listing, "posting_fee"));
    world.deliver(firstPaid);
    world.deliver(secondPaid);
    world.awaitOutcome(firstPaid.eventId());
    world.awaitOutcome(secondPaid.eventId());

    // Then the listing is activated once, by one of them, and the other is refunded
    String activatedBy = (String) world.listingRow(listing).get("payment_intent_id");
    assertThat(activatedBy).isIn(first, second);
    String refunded = activatedBy.equals(first) ? second : first;
    assertThat(world.listingRow(listing)).containsEntry("status", "active");
    assertThat(world.paymentRow(first)).containsEntry("status", "succeeded");
    assertThat(world.paymentRow(second)).containsEntry("status", "succeeded");
    assertThat(world.paymentRow(refunded).get("delivery_refused_at")).isNotNull();
    assertThat(world.paymentRow(activatedBy).get("delivery_refused_at")).isNull();
    ConsumerRecord<String, byte[]> command =
        world.kafka.awaitRecord(
            world.topics.refundCommands(), r -> refunded.equals(r.key()), ProcessorFixture.WAIT);
    assertThat(read(command, RefundCommand.class).reason()).isEqualTo("technical_failure");
    assertThat(world.kafka.readAll(world.topics.refundCommands()))
        .noneMatch(r -> activatedBy.equals(r.key()));
    assertThat(world.awaitPaymentEvents(listing, 3))
        .extracting(e -> e.get("type"))
        .containsExactlyInAnyOrder("payment.succeeded", "payment.succeeded", "listing.activated");
  }

  @Test
  void shouldRequestAutomaticRefundWhenPaidListingWasRejectedMeanwhile() {
    // Given a listing rejected by moderation while its payment was in flight
    UUID listing = world.listing("rejected");
    String pi = world.payment(listing, "posting_fee", 500);

    // When the payment succeeds
    var event = StripeFixtures.succeeded(pi, 500, world.metadataFor(listing, "posting_fee"));
    world.deliver(event);

    // Then the listing stays rejected, the payment is recorded as taken, and a refund command for
    // a technical failure goes to the refund worker
    Map<String, Object> outcome = world.awaitOutcome(event.eventId());
    assertThat(outcome).containsEntry("status", "processed");
    assertThat((String) outcome.get("error_message")).contains("technical failure", "rejected");
    assertThat(world.listingRow(listing)).containsEntry("status", "rejected");
    assertThat(world.paymentRow(pi)).containsEntry("status", "succeeded");
    ConsumerRecord<String, byte[]> command =
        world.kafka.awaitRecord(
            world.topics.refundCommands(), r -> pi.equals(r.key()), ProcessorFixture.WAIT);
    RefundCommand refund = read(command, RefundCommand.class);
    assertThat(refund.id()).isEqualTo(RefundCommand.idFor(pi, "technical_failure"));
    assertThat(refund.reason()).isEqualTo("technical_failure");
    assertThat(refund.listingId()).isEqualTo(listing);
    assertThat(KafkaTestClient.header(command, "event-type")).contains("refund.command");
    // And only payment.succeeded is announced: no listing was activated
    assertThat(world.awaitPaymentEvents(listing, 1))
        .extracting(e -> e.get("type"))
        .containsExactly("payment.succeeded");
  }

  @Test
  void shouldRequestAutomaticRefundWhenPromotedListingIsNoLongerActive() {
    // Given a listing that expired after its owner paid to feature it
    UUID listing = world.listing("expired");
    String pi = world.payment(listing, "promotion_featured", 500);

    // When the payment succeeds
    var event = StripeFixtures.succeeded(pi, 500, world.metadataFor(listing, "promotion_featured"));
    world.deliver(event);

    // Then no promotion is created and the payment goes back
    world.awaitOutcome(event.eventId());
    assertThat(world.db.count("listing_promotions WHERE listing_id = ?", listing)).isZero();
    world.kafka.awaitRecord(
        world.topics.refundCommands(), r -> pi.equals(r.key()), ProcessorFixture.WAIT);
  }

  @ParameterizedTest
  @ValueSource(strings = {"promotion_featured", "promotion_bump"})
  void shouldRefundPromotionWhenListingIsPastItsExpiryButNotYetMarkedExpired(String type) {
    // Given an active listing whose expires_at has passed, not yet marked by the daily expirer
    UUID listing = world.listing("active");
    world.db.execute(
        "UPDATE marketplace_listings SET expires_at = ? WHERE id = ?",
        ProcessorFixture.NOW.minus(Duration.ofMinutes(1)),
        listing);
    String pi = world.payment(listing, type, 500);

    // When the promotion's payment succeeds
    var event = StripeFixtures.succeeded(pi, 500, world.metadataFor(listing, type));
    world.deliver(event);

    // Then no promotion is applied, the listing is not bumped, and the payment goes back as a
    // technical failure
    Map<String, Object> outcome = world.awaitOutcome(event.eventId());
    assertThat(outcome).containsEntry("status", "processed");
    assertThat((String) outcome.get("error_message")).contains("technical failure", "expired");
    assertThat(world.db.count("listing_promotions WHERE listing_id = ?", listing)).isZero();
    assertThat(world.listingRow(listing)).containsEntry("last_bumped_at", null);
    assertRefundedAsTechnicalFailure(pi, listing);
  }

  @ParameterizedTest(name = "featured until day {0} (0: not featured), listing ends on day 3")
  @ValueSource(ints = {0, 5})
  void shouldRefundFeaturedWhoseWeekWouldNotEndByTheListingsEnd(int featuredUntilDay) {
    // Given an active listing that ends in 3 days, not featured (its next week would run from now
    // to day 7, four days past its end) or featured until day 5 (its next week would run from day
    // 5 to day 12, all of it past its end)
    UUID listing = world.listing("active");
    world.db.execute(
        "UPDATE marketplace_listings SET expires_at = ? WHERE id = ?",
        NOW.plus(Duration.ofDays(3)),
        listing);
    if (featuredUntilDay > 0) {
      featuredUntil(listing, NOW.plus(Duration.ofDays(featuredUntilDay)));
    }
    String pi = world.payment(listing, "promotion_featured", 500);

    // When a featured purchase succeeds
    var event = StripeFixtures.succeeded(pi, 500, world.metadataFor(listing, "promotion_featured"));
    world.deliver(event);

    // Then no week is sold that cannot be shown in full: no promotion, and the payment goes back
    // as a technical failure
    Map<String, Object> outcome = world.awaitOutcome(event.eventId());
    assertThat((String) outcome.get("error_message")).contains("technical failure");
    assertThat(world.db.count("listing_promotions WHERE stripe_payment_intent_id = ?", pi))
        .isZero();
    assertRefundedAsTechnicalFailure(pi, listing);
  }

  @Test
  void shouldNotDeliverAFeaturedWeekSentForRefundWhenItsSuccessIsAppliedAgainOnceAWeekFits() {
    // Given a listing that ends in 10 days, featured until day 7, and a second featured purchase
    // whose week (day 7 to 14) would run past its end: it was sent for a technical-failure refund
    UUID listing = world.listing("active");
    world.db.execute(
        "UPDATE marketplace_listings SET expires_at = ? WHERE id = ?",
        NOW.plus(Duration.ofDays(10)),
        listing);
    featuredUntil(listing, NOW.plus(Duration.ofDays(7)));
    String pi = world.payment(listing, "promotion_featured", 500);
    var paid = StripeFixtures.succeeded(pi, 500, world.metadataFor(listing, "promotion_featured"));
    world.deliver(paid);
    assertThat((String) world.awaitOutcome(paid.eventId()).get("error_message"))
        .contains("technical failure");
    assertRefundedAsTechnicalFailure(pi, listing);
    // And the running week ended early since (all of its own money went back), so a week from
    // now would fit; the refund worker has not recorded the second purchase's refund yet
    world.db.execute(
        "UPDATE listing_promotions SET expired_at = ?, end_cause = 'refunded'"
            + " WHERE listing_id = ? AND stripe_payment_intent_id <> ?",
        NOW,
        listing,
        pi);

    // When the second purchase's success is applied again (a reconcile repair, under another
    // event id)
    var again = StripeFixtures.succeeded(pi, 500, world.metadataFor(listing, "promotion_featured"));
    world.deliver(again);
    Map<String, Object> outcome = world.awaitOutcome(again.eventId());

    // Then the purchase already on its way back is not delivered as well: no week, and nothing
    // announced but its payment
    assertThat((String) outcome.get("error_message")).contains("not delivered again");
    assertThat(world.db.count("listing_promotions WHERE stripe_payment_intent_id = ?", pi))
        .isZero();
    world.awaitOutboxPublished();
    assertThat(world.paymentEvents(listing))
        .extracting(e -> e.get("type"))
        .containsExactly("payment.succeeded");
  }

  @ParameterizedTest(name = "refunded {0} of 500: listing {1}")
  @CsvSource({"500, pending_payment", "200, active"})
  void shouldDeliverAMissingListingAgainOnlyWhileItsPaymentIsNotRefundedInFull(
      long refundedCents, String status) {
    // Given a posting fee recorded as succeeded whose listing a bad release left pending_payment,
    // and an admin's refund of some or all of it meanwhile
    UUID listing = world.listing("pending_payment");
    String pi = world.payment(listing, "posting_fee", 500);
    world.db.execute(
        "UPDATE payments SET status = 'succeeded', succeeded_at = ?"
            + " WHERE stripe_payment_intent_id = ?",
        NOW,
        pi);
    world.db.execute(
        """
        INSERT INTO payment_refunds
            (id, user_id, listing_id, stripe_payment_intent_id, stripe_refund_id, amount_cents,
             reason, status)
        VALUES (?, ?, ?, ?, ?, ?, 'user_request', 'processed')
        """,
        UUID.randomUUID(),
        world.ownerOf(listing),
        listing,
        pi,
        StripeFixtures.id("re"),
        refundedCents);

    // When the success is applied again (a reconcile repair, under another event id)
    var event = StripeFixtures.succeeded(pi, 500, world.metadataFor(listing, "posting_fee"));
    world.deliver(event);
    world.awaitOutcome(event.eventId());

    // Then the listing goes live for a payment the customer still stands by, never for one whose
    // money all went back
    assertThat(world.listingRow(listing)).containsEntry("status", status);
  }

  @Test
  void
      shouldNotActivateAListingWithAPaymentSentForRefundWhenAnotherPaymentsActivationIsTakenBack() {
    // Given a listing paid twice: the first payment activated it, the second found it active and
    // was sent for a technical-failure refund
    UUID listing = world.listing("pending_payment");
    String first = world.payment(listing, "posting_fee", 500);
    String second = world.payment(listing, "posting_fee", 500);
    var firstPaid = StripeFixtures.succeeded(first, 500, world.metadataFor(listing, "posting_fee"));
    world.deliver(firstPaid);
    world.awaitOutcome(firstPaid.eventId());
    var secondPaid =
        StripeFixtures.succeeded(second, 500, world.metadataFor(listing, "posting_fee"));
    world.deliver(secondPaid);
    assertThat((String) world.awaitOutcome(secondPaid.eventId()).get("error_message"))
        .contains("technical failure");
    // And the first payment's money went back at Stripe before its activation (a dashboard
    // refund the refund worker recorded late), so its activation is taken back
    world.db.execute(
        """
        INSERT INTO payment_refunds
            (id, user_id, listing_id, stripe_payment_intent_id, stripe_refund_id, amount_cents,
             reason, status)
        VALUES (?, ?, ?, ?, ?, 500, 'user_request', 'processed')
        """,
        UUID.randomUUID(),
        world.ownerOf(listing),
        listing,
        first,
        StripeFixtures.id("re"));
    askForWithdrawal(
        first, "refund " + StripeFixtures.id("re") + " recorded", NOW.minusSeconds(60));
    assertThat(world.listingRow(listing)).containsEntry("status", "pending_payment");

    // When the second payment's success is applied again (a reconcile repair: its listing is
    // pending_payment, and its refund is not made yet)
    var again = StripeFixtures.succeeded(second, 500, world.metadataFor(listing, "posting_fee"));
    world.deliver(again);
    world.awaitOutcome(again.eventId());

    // Then the listing waits for payment still: the second payment's money is on its way back, so
    // activating it would leave a live listing nobody paid for
    assertThat(world.listingRow(listing)).containsEntry("status", "pending_payment");
    assertThat(
            world.paymentEvents(listing).stream()
                .filter(e -> "listing.activated".equals(e.get("type"))))
        .hasSize(1);
  }

  @Test
  void shouldRefundAMissingPurchaseWhenItCannotBeDeliveredAgain() {
    // Given a featured week recorded as paid but never delivered (its success was applied while
    // a chargeback held all of its money; the dispute was won since), and a listing that ends in
    // three days, where a week no longer fits
    UUID listing = world.listing("active");
    world.db.execute(
        "UPDATE marketplace_listings SET expires_at = ? WHERE id = ?",
        NOW.plus(Duration.ofDays(3)),
        listing);
    String pi = world.payment(listing, "promotion_featured", 500);
    world.db.execute(
        "UPDATE payments SET status = 'succeeded', succeeded_at = ?"
            + " WHERE stripe_payment_intent_id = ?",
        NOW.minus(Duration.ofHours(1)),
        pi);

    // When the success is applied again (a reconcile repair, under another event id)
    var event = StripeFixtures.succeeded(pi, 500, world.metadataFor(listing, "promotion_featured"));
    world.deliver(event);
    Map<String, Object> outcome = world.awaitOutcome(event.eventId());

    // Then the customer, who paid and got nothing, is refunded, and the audit row says so
    assertThat(world.db.count("listing_promotions WHERE listing_id = ?", listing)).isZero();
    ConsumerRecord<String, byte[]> command =
        world.kafka.awaitRecord(
            world.topics.refundCommands(), r -> pi.equals(r.key()), ProcessorFixture.WAIT);
    assertThat(read(command, RefundCommand.class).reason()).isEqualTo("technical_failure");
    assertThat((String) outcome.get("error_message")).contains("automatic refund requested");
  }

  @ParameterizedTest(name = "{0} of {1} recorded first: listing {2}")
  @CsvSource({
    "chargeback, 500, pending_payment",
    "user_request, 500, pending_payment",
    "chargeback, 200, active"
  })
  void shouldNotDeliverAPaymentWhoseMoneyWentBackBeforeItsSuccessWasApplied(
      String reason, long returnedCents, String status) {
    // Given a posting fee whose success this processor has yet to apply (it lags), while the
    // refund worker, reading the topic from its own place, already recorded a chargeback or a
    // refund made in Stripe's dashboard of some or all of it
    UUID listing = world.listing("pending_payment");
    String pi = world.payment(listing, "posting_fee", 500);
    world.db.execute(
        """
        INSERT INTO payment_refunds
            (id, user_id, listing_id, stripe_payment_intent_id, stripe_refund_id,
             stripe_dispute_id, amount_cents, reason, status)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'processed')
        """,
        UUID.randomUUID(),
        world.ownerOf(listing),
        listing,
        pi,
        reason.equals("chargeback") ? null : StripeFixtures.id("re"),
        reason.equals("chargeback") ? StripeFixtures.id("du") : null,
        returnedCents,
        reason);

    // When the success is applied
    var event = StripeFixtures.succeeded(pi, 500, world.metadataFor(listing, "posting_fee"));
    world.deliver(event);
    Map<String, Object> outcome = world.awaitOutcome(event.eventId());

    // Then the payment is recorded as succeeded (Stripe took the money), and the listing goes
    // live only if the customer did not get all of it back: never both the money and the purchase
    assertThat(world.paymentRow(pi)).containsEntry("status", "succeeded");
    assertThat(world.listingRow(listing)).containsEntry("status", status);
    if (returnedCents == 500) {
      assertThat((String) outcome.get("error_message")).contains("not delivered");
    }
  }

  @Test
  void shouldNotDeliverWhenAChargebackIsRecordedUnderThePaymentsLockWhileTheSuccessWaitsForIt()
      throws Exception {
    // Given a posting fee whose payment row the refund worker holds locked while it records a
    // chargeback of all of it (a dispute event it applies at the same moment)
    UUID listing = world.listing("pending_payment");
    String pi = world.payment(listing, "posting_fee", 500);
    try (Connection refundWorker = world.db.dataSource().getConnection()) {
      refundWorker.setAutoCommit(false);
      try (Statement lock = refundWorker.createStatement()) {
        lock.execute(
            "SELECT 1 FROM payments WHERE stripe_payment_intent_id = '" + pi + "' FOR UPDATE");
        lock.execute(
            """
            INSERT INTO payment_refunds (id, user_id, listing_id, stripe_payment_intent_id,
                stripe_dispute_id, amount_cents, reason, status)
            VALUES ('%s', '%s', '%s', '%s', '%s', 500, 'chargeback', 'processed')
            """
                .formatted(
                    UUID.randomUUID(),
                    world.ownerOf(listing),
                    listing,
                    pi,
                    StripeFixtures.id("du")));
      }

      // When the success is applied, its batch waiting for that lock, and the chargeback commits
      var event = StripeFixtures.succeeded(pi, 500, world.metadataFor(listing, "posting_fee"));
      world.deliver(event);
      Await.until(
          ProcessorFixture.WAIT,
          "the processor's batch waiting for the payment's lock",
          () ->
              world.db.count(
                      "pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE ?",
                      "%FROM payments p%FOR UPDATE%")
                  > 0);
      refundWorker.commit();

      // Then the batch reads the chargeback it waited for: nothing is delivered
      Map<String, Object> outcome = world.awaitOutcome(event.eventId());
      assertThat((String) outcome.get("error_message")).contains("not delivered");
      assertThat(world.listingRow(listing)).containsEntry("status", "pending_payment");
    }
  }

  @ParameterizedTest(name = "dispute {0}: listing {1}")
  @CsvSource({"won, active", "lost, pending_payment"})
  void shouldDeliverAHeldBackListingWhenTheRefundWorkerSaysItsMoneyCameBack(
      String disputeStatus, String status) {
    // Given a posting fee whose success was applied while a chargeback the refund worker recorded
    // first held all of its money: the listing was held back
    UUID listing = world.listing("pending_payment");
    String pi = world.payment(listing, "posting_fee", 500);
    String dispute = chargeback(listing, pi, 500);
    var success = StripeFixtures.succeeded(pi, 500, world.metadataFor(listing, "posting_fee"));
    world.deliver(success);
    assertThat((String) world.awaitOutcome(success.eventId()).get("error_message"))
        .contains("not delivered");
    assertThat(world.paymentRow(pi).get("delivery_withheld_at")).isNotNull();

    // When the dispute closes, and the refund worker asks for the delivery
    world.db.execute(
        "UPDATE payment_disputes SET status = ?, closed_at = ? WHERE stripe_dispute_id = ?",
        disputeStatus,
        NOW,
        dispute);
    askForDelivery(pi, "dispute " + dispute + " " + disputeStatus);

    // Then the listing goes live once the money is ours again, announced under its usual id, and
    // stays held back while the customer still has it
    assertThat(world.listingRow(listing)).containsEntry("status", status);
    assertThat(world.paymentRow(pi).get("delivery_withheld_at") == null)
        .isEqualTo(status.equals("active"));
    assertThat(
            world.paymentEvents(listing).stream()
                .filter(e -> "listing.activated".equals(e.get("type")))
                .map(e -> e.get("id")))
        .hasSize(status.equals("active") ? 1 : 0);

    // And a command about another fact changes nothing: nothing is delivered twice
    askForDelivery(pi, "refund " + StripeFixtures.id("re") + " failed");
    assertThat(world.listingRow(listing)).containsEntry("status", status);
    assertThat(
            world.paymentEvents(listing).stream()
                .filter(e -> "listing.activated".equals(e.get("type"))))
        .hasSize(status.equals("active") ? 1 : 0);
  }

  @Test
  void shouldRefundAHeldBackFeaturedWeekWhoseListingExpiredBeforeItsMoneyCameBack() {
    // Given a featured week held back while a chargeback held all of its money
    UUID listing = world.listing("active");
    String pi = world.payment(listing, "promotion_featured", 500);
    String dispute = chargeback(listing, pi, 500);
    var success =
        StripeFixtures.succeeded(pi, 500, world.metadataFor(listing, "promotion_featured"))
            .created(PAID_AT);
    world.deliver(success);
    world.awaitOutcome(success.eventId());

    // And the listing expired since
    world.db.execute(
        "UPDATE marketplace_listings SET status = 'expired', expires_at = ? WHERE id = ?",
        NOW.minus(Duration.ofHours(1)),
        listing);

    // When the dispute is won, and the refund worker asks for the delivery
    world.db.execute(
        "UPDATE payment_disputes SET status = 'won', closed_at = ? WHERE stripe_dispute_id = ?",
        NOW,
        dispute);
    askForDelivery(pi, "dispute " + dispute + " won");

    // Then the customer, who can no longer get the week, is refunded as of the payment
    assertThat(world.db.count("listing_promotions WHERE listing_id = ?", listing)).isZero();
    RefundCommand refund =
        read(
            world.kafka.awaitRecord(
                world.topics.refundCommands(), r -> pi.equals(r.key()), ProcessorFixture.WAIT),
            RefundCommand.class);
    assertThat(refund.reason()).isEqualTo("technical_failure");
    assertThat(refund.requestedAt()).isEqualTo(PAID_AT);
    assertThat(world.paymentRow(pi).get("delivery_withheld_at")).isNull();
  }

  @Test
  void shouldDateTheTechnicalFailureByThePaymentWhenItIsAppliedDaysLater() {
    // Given a listing rejected before its fee was paid, and a payment Stripe took 3 days before
    // the processor applies it (a reconcile repair of a lost webhook, dated by Stripe's charge, or
    // a backlog after an outage)
    UUID listing = world.listing("rejected");
    String pi = world.payment(listing, "posting_fee", 500);
    Instant paidAt = NOW.minus(Duration.ofDays(3));

    // When the payment is applied
    var event =
        StripeFixtures.succeeded(pi, 500, world.metadataFor(listing, "posting_fee"))
            .created(paidAt);
    world.deliver(event);

    // Then the refund is asked for as of the payment, which could never be delivered: the 24 h
    // rule refunds it at once, as it would have had the event come on time, instead of leaving a
    // fee for a listing that never went live to an admin's review because we were late
    world.awaitOutcome(event.eventId());
    ConsumerRecord<String, byte[]> command =
        world.kafka.awaitRecord(
            world.topics.refundCommands(), r -> pi.equals(r.key()), ProcessorFixture.WAIT);
    assertThat(world.paymentRow(pi)).containsEntry("succeeded_at", paidAt);
    assertThat(read(command, RefundCommand.class).requestedAt()).isEqualTo(paidAt);
  }

  @ParameterizedTest(name = "created {0}")
  @ValueSource(strings = {"", "0", "\"2026-03-02T09:58:00Z\""})
  void shouldDateThePaymentByItsReceiptWhenTheEventStatesNoCreationTime(String created) {
    // Given a posting fee whose success event has no usable creation time (absent, zero, or not
    // a count of seconds), received by the gateway a minute ago
    UUID listing = world.listing("pending_payment");
    String pi = world.payment(listing, "posting_fee", 500);
    Instant receivedAt = NOW.minus(Duration.ofMinutes(1));
    var event =
        StripeFixtures.succeeded(pi, 500, world.metadataFor(listing, "posting_fee"))
            .created(receivedAt.minusSeconds(1));
    String body = withCreated(event, created);

    // When it is applied
    world.deliver(event, body);

    // Then the payment is dated when the event was received, not in 1970: the 24 h rules and
    // the payment.succeeded event see a payment of a minute ago
    assertThat(world.awaitOutcome(event.eventId())).containsEntry("status", "processed");
    assertThat(world.paymentRow(pi)).containsEntry("succeeded_at", receivedAt);
    assertThat(world.listingRow(listing)).containsEntry("status", "active");
    assertThat(world.awaitPaymentEvents(listing, 2))
        .first()
        .satisfies(e -> assertThat(data(e)).containsEntry("succeededAt", receivedAt.toString()));
  }

  @Test
  void shouldDeadLetterAnEventThatStatesNoCreationTimeWhenItsRecordHasNoReceiptTime() {
    // Given a posting fee whose success event has no creation time, in a record without the
    // received-at header the gateway and the reconcile repair set
    UUID listing = world.listing("pending_payment");
    String pi = world.payment(listing, "posting_fee", 500);
    var event = StripeFixtures.succeeded(pi, 500, world.metadataFor(listing, "posting_fee"));

    // When it is applied
    world.kafka.send(
        world.topics.stripeEvents(),
        pi,
        withCreated(event, ""),
        Map.of(
            RecordHeaders.STRIPE_EVENT_ID, event.eventId(),
            RecordHeaders.STRIPE_EVENT_TYPE, event.type()));

    // Then nothing is dated in 1970: the event goes to the dead-letter topic for a person, and
    // the payment is not marked paid
    ConsumerRecord<String, byte[]> dead =
        world.kafka.awaitRecord(
            world.topics.stripeEvents().dlq(), r -> pi.equals(r.key()), ProcessorFixture.WAIT);
    assertThat(KafkaTestClient.headers(dead).get(RecordHeaders.ERROR_MESSAGE))
        .contains("no creation time", RecordHeaders.RECEIVED_AT);
    assertThat(world.paymentRow(pi)).containsEntry("status", "requires_payment");
    assertThat(world.listingRow(listing)).containsEntry("status", "pending_payment");
  }

  /** The event's body with its {@code created} replaced by {@code json}, or removed when blank. */
  private static String withCreated(StripeFixtures.Builder event, String json) {
    String stated = "\"created\":" + event.created().getEpochSecond() + ",";
    String body = event.json();
    assertThat(body).contains(stated);
    return body.replace(stated, json.isEmpty() ? "" : "\"created\":" + json + ",");
  }

  @ParameterizedTest(name = "its checkout attempt kept: {0}")
  @ValueSource(booleans = {true, false})
  void shouldRebuildPaymentFromMetadataWhenOurRecordIsMissing(boolean attemptKept) {
    // Given a PaymentIntent we created whose payments row is not there: checkout-api priced the
    // purchase, then its insert of the row was lost; or the database was restored from before the
    // checkout, attempt and all, and the payment is the posting fee of its listing's category
    UUID listing = world.listing("pending_payment");
    if (attemptKept) {
      world.checkoutAttempt(listing, "posting_fee", 500);
    }
    String pi = StripeFixtures.id("pi");

    // When it succeeds (Stripe's late delivery, or a reconcile repair)
    var event = StripeFixtures.succeeded(pi, 500, world.metadataFor(listing, "posting_fee"));
    world.deliver(event);

    // Then it is priced as we price it: the row is rebuilt from the PaymentIntent and the listing
    // is activated
    assertThat(world.awaitOutcome(event.eventId())).containsEntry("status", "processed");
    assertThat(world.paymentRow(pi))
        .containsEntry("listing_id", listing)
        .containsEntry("payment_type", "posting_fee")
        .containsEntry("amount_cents", 500)
        .containsEntry("status", "succeeded");
    assertThat(world.listingRow(listing)).containsEntry("status", "active");
  }

  @ParameterizedTest(name = "its checkout attempt kept: {0}")
  @ValueSource(booleans = {true, false})
  void shouldNotRebuildAPaymentWhenItIsChargedInAnotherCurrency(boolean attemptKept) {
    // Given a PaymentIntent with our metadata for a pending listing's 500 cent posting fee, but
    // charged as 500 jpy (about three dollars), and no payments row: a checkout of ours priced the
    // fee, or the listing's category does, in usd only
    UUID listing = world.listing("pending_payment");
    if (attemptKept) {
      world.checkoutAttempt(listing, "posting_fee", 500);
    }
    String pi = StripeFixtures.id("pi");
    var event = StripeFixtures.succeeded(pi, 500, world.metadataFor(listing, "posting_fee"));
    String body = event.json().replace("\"currency\":\"usd\"", "\"currency\":\"jpy\"");
    assertThat(body).contains("\"currency\":\"jpy\"");

    // When it succeeds
    world.deliver(event, body);

    // Then nothing is delivered: the event goes to the dead-letter topic for a person, the
    // listing stays unpaid, no payments row is made up
    ConsumerRecord<String, byte[]> dead =
        world.kafka.awaitRecord(
            world.topics.stripeEvents().dlq(), r -> pi.equals(r.key()), ProcessorFixture.WAIT);
    assertThat(KafkaTestClient.headers(dead).get(RecordHeaders.ERROR_MESSAGE))
        .contains("no checkout of ours priced", "500 jpy");
    assertThat(world.awaitOutcome(event.eventId())).containsEntry("status", "failed");
    assertThat(world.listingRow(listing)).containsEntry("status", "pending_payment");
    assertThat(world.db.count("payments WHERE stripe_payment_intent_id = ?", pi)).isZero();
  }

  @Test
  void shouldNotRebuildAPaymentNoCheckoutOfOursPriced() {
    // Given a PaymentIntent with our metadata for a pending listing, for 50 cents where a checkout
    // of ours priced the posting fee at 500 (made by whoever holds the account's keys, or changed
    // before it was confirmed), and no payments row
    UUID listing = world.listing("pending_payment");
    world.checkoutAttempt(listing, "posting_fee", 500);
    String pi = StripeFixtures.id("pi");

    // When it succeeds
    var event = StripeFixtures.succeeded(pi, 50, world.metadataFor(listing, "posting_fee"));
    world.deliver(event);

    // Then nothing is delivered: the event goes to the dead-letter topic for a person, the
    // listing stays unpaid, no payments row is made up
    ConsumerRecord<String, byte[]> dead =
        world.kafka.awaitRecord(
            world.topics.stripeEvents().dlq(), r -> pi.equals(r.key()), ProcessorFixture.WAIT);
    assertThat(KafkaTestClient.headers(dead).get(RecordHeaders.ERROR_MESSAGE))
        .contains("no checkout of ours priced");
    assertThat(world.awaitOutcome(event.eventId())).containsEntry("status", "failed");
    assertThat(world.listingRow(listing)).containsEntry("status", "pending_payment");
    assertThat(world.db.count("payments WHERE stripe_payment_intent_id = ?", pi)).isZero();
  }

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource({"50, usd", "500, jpy"})
  void shouldNotDeliverAPaymentChargedOtherwiseThanOurRowSays(long amount, String currency) {
    // Given a posting fee of 500 usd recorded at checkout, and its PaymentIntent succeeding for
    // another amount or in another currency (changed at Stripe before it was confirmed)
    UUID listing = world.listing("pending_payment");
    String pi = world.payment(listing, "posting_fee", 500);
    var event = StripeFixtures.succeeded(pi, amount, world.metadataFor(listing, "posting_fee"));
    String body = event.json().replace("\"currency\":\"usd\"", "\"currency\":\"" + currency + "\"");
    assertThat(body).contains("\"currency\":\"" + currency + "\"");

    // When it is applied
    world.deliver(event, body);

    // Then nothing is delivered and the payment is not marked paid: the event waits on the
    // dead-letter topic for a person
    assertLeftForAPersonAsNotPricedAt500(listing, pi);
  }

  @Test
  void shouldNotDeliverAPaymentThatReceivedLessThanItsAmount() {
    // Given a posting fee of 500 usd recorded at checkout, whose PaymentIntent still asks for 500
    // but succeeded having received 1 cent (switched to manual capture before it was confirmed,
    // then captured in part)
    UUID listing = world.listing("pending_payment");
    String pi = world.payment(listing, "posting_fee", 500);
    var event = StripeFixtures.succeeded(pi, 500, world.metadataFor(listing, "posting_fee"));
    String body = event.json().replace("\"amount_received\":500", "\"amount_received\":1");
    assertThat(body).contains("\"amount\":500", "\"amount_received\":1");

    // When it is applied
    world.deliver(event, body);

    // Then nothing is delivered and the payment is not marked paid: the event waits on the
    // dead-letter topic for a person
    assertLeftForAPersonAsNotPricedAt500(listing, pi);
  }

  /** The success of {@code pi} dead-lettered as not what was priced; nothing delivered. */
  private void assertLeftForAPersonAsNotPricedAt500(UUID listing, String pi) {
    ConsumerRecord<String, byte[]> dead =
        world.kafka.awaitRecord(
            world.topics.stripeEvents().dlq(), r -> pi.equals(r.key()), ProcessorFixture.WAIT);
    assertThat(KafkaTestClient.headers(dead).get(RecordHeaders.ERROR_MESSAGE))
        .contains("priced 500 usd");
    assertThat(world.listingRow(listing)).containsEntry("status", "pending_payment");
    assertThat(world.paymentRow(pi)).containsEntry("status", "requires_payment");
  }

  @Test
  void shouldRecordAsIgnoredWhenPaymentIntentIsNotOurs() {
    // Given a PaymentIntent created by someone else on the account, with foreign metadata
    String pi = StripeFixtures.id("pi");
    var event = StripeFixtures.succeeded(pi, 4200, Map.of("order_id", "A-1001"));

    // When it succeeds
    world.deliver(event);

    // Then it is audited as ignored, not as an error, and nothing else happens
    Map<String, Object> outcome = world.awaitOutcome(event.eventId());
    assertThat(outcome).containsEntry("status", "ignored");
    assertThat(world.db.count("payments WHERE stripe_payment_intent_id = ?", pi)).isZero();
  }

  @Test
  void shouldRecordOtherEventTypesAsIgnored() {
    // Given an event type the processor does not act on
    String pi = StripeFixtures.id("pi");
    var event =
        StripeFixtures.paymentIntent("payment_intent.created", pi)
            .status("requires_payment_method");

    // When it arrives
    world.deliver(event);

    // Then it is kept in the audit trail as ignored
    assertThat(world.awaitOutcome(event.eventId()))
        .containsEntry("status", "ignored")
        .containsEntry("event_type", "payment_intent.created");
  }

  @Test
  void shouldMarkPaymentFailedAndPublishWhenAnAttemptIsDeclined() {
    // Given a posting fee payment
    UUID listing = world.listing("pending_payment");
    String pi = world.payment(listing, "posting_fee", 500);

    // When the card is declined
    var event = StripeFixtures.paymentFailed(pi, 500, world.metadataFor(listing, "posting_fee"));
    world.deliver(event);

    // Then the payment is failed with Stripe's message, the listing still waits, and
    // payment.failed is published
    assertThat(world.awaitOutcome(event.eventId())).containsEntry("status", "processed");
    assertThat(world.paymentRow(pi))
        .containsEntry("status", "failed")
        .containsEntry("failure_message", "Your card was declined.");
    assertThat(world.listingRow(listing)).containsEntry("status", "pending_payment");
    assertThat(world.awaitPaymentEvents(listing, 1))
        .singleElement()
        .satisfies(
            e -> {
              assertThat(e).containsEntry("type", "payment.failed");
              assertThat(data(e))
                  .containsEntry("failureCode", "card_declined")
                  .containsEntry("declineCode", "generic_decline")
                  .containsEntry("stripeEventId", event.eventId());
            });
  }

  @Test
  void shouldMarkPaymentFailedAndPublishWhenTheDeclinesMessageCarriesANulCharacter() {
    // Given a posting fee payment
    UUID listing = world.listing("pending_payment");
    String pi = world.payment(listing, "posting_fee", 500);

    // When it is declined with a message that holds a U+0000 (valid JSON; a PostgreSQL text
    // cannot hold it)
    var event = StripeFixtures.paymentFailed(pi, 500, world.metadataFor(listing, "posting_fee"));
    String body = event.json();
    assertThat(body).contains("\"Your card was declined.\"");
    world.deliver(
        event, body.replace("\"Your card was declined.\"", "\"Your card was declined.\\u0000\""));

    // Then the decline is applied, not dead-lettered: the payment is failed and payment.failed
    // is published, the character replaced as in the audit trail
    assertThat(world.awaitOutcome(event.eventId())).containsEntry("status", "processed");
    assertThat(world.paymentRow(pi))
        .containsEntry("status", "failed")
        .containsEntry("failure_message", "Your card was declined.\uFFFD");
    assertThat(world.awaitPaymentEvents(listing, 1))
        .singleElement()
        .satisfies(
            e ->
                assertThat(data(e))
                    .containsEntry("failureMessage", "Your card was declined.\uFFFD"));
  }

  @Test
  void shouldRecordADeclineOnceWhenStripeReportsItInTwoEvents() {
    // Given a posting fee whose first attempt was declined and recorded
    UUID listing = world.listing("pending_payment");
    String pi = world.payment(listing, "posting_fee", 500);
    var meta = world.metadataFor(listing, "posting_fee");
    var declined = StripeFixtures.paymentFailed(pi, 500, meta);
    world.deliver(declined);
    assertThat(world.awaitOutcome(declined.eventId())).containsEntry("status", "processed");

    // When Stripe reports the same declined attempt (its charge) again under another event id,
    // and then a second attempt, with a charge of its own, is declined too
    var again = StripeFixtures.paymentFailed(pi, 500, meta).charge(declined.charge());
    var secondAttempt = StripeFixtures.paymentFailed(pi, 500, meta);
    world.deliver(again);
    world.deliver(secondAttempt);

    // Then the repeat is ignored and each attempt is one payment.failed, its id that of the
    // attempt, not of the event that reported it
    assertThat(world.awaitOutcome(again.eventId()))
        .containsEntry("status", "ignored")
        .containsEntry("error_message", "attempt " + declined.charge() + " is already announced");
    assertThat(world.awaitOutcome(secondAttempt.eventId())).containsEntry("status", "processed");
    assertThat(world.paymentEvents(listing))
        .extracting(e -> e.get("id"), e -> data(e).get("stripeEventId"))
        .containsExactly(
            tuple(failedId(declined.charge()), declined.eventId()),
            tuple(failedId(secondAttempt.charge()), secondAttempt.eventId()));
    assertThat(world.paymentRow(pi)).containsEntry("status", "failed");
  }

  @Test
  void shouldAnnounceADeclineWithoutChargeOnceWhenStripeReportsItInTwoEvents() {
    // Given a posting fee
    UUID listing = world.listing("pending_payment");
    String pi = world.payment(listing, "posting_fee", 500);
    var meta = world.metadataFor(listing, "posting_fee");

    // When an attempt fails its authentication before any charge, and Stripe reports that one
    // change in two events with different ids (the same request, the same PaymentIntent)
    String failure = "payment_intent_authentication_failure";
    var declined =
        StripeFixtures.paymentFailed(pi, 500, meta).withoutCharge(failure).request("req_first");
    var twin =
        StripeFixtures.paymentFailed(pi, 500, meta)
            .withoutCharge(failure)
            .request("req_first")
            .created(declined.created().plusSeconds(1));
    world.deliver(declined);
    world.deliver(twin);

    // Then the decline is announced once, by the first event, and the twin is ignored
    assertThat(world.awaitOutcome(declined.eventId())).containsEntry("status", "processed");
    assertThat(world.awaitOutcome(twin.eventId())).containsEntry("status", "ignored");
    assertThat(world.paymentRow(pi)).containsEntry("status", "failed");
    assertThat(world.paymentEvents(listing))
        .singleElement()
        .satisfies(
            e -> {
              assertThat(e).containsEntry("type", "payment.failed");
              assertThat(data(e))
                  .containsEntry("failureCode", failure)
                  .containsEntry("stripeEventId", declined.eventId());
            });
  }

  @Test
  void shouldAnnounceEachDeclineWithoutChargeWhenAPaymentIntentFailsTheSameWayTwice() {
    // Given a posting fee whose attempt failed its authentication before any charge
    UUID listing = world.listing("pending_payment");
    String pi = world.payment(listing, "posting_fee", 500);
    var meta = world.metadataFor(listing, "posting_fee");
    String failure = "payment_intent_authentication_failure";
    var first =
        StripeFixtures.paymentFailed(pi, 500, meta)
            .withoutCharge(failure)
            .request("req_first")
            .created(PAID_AT.minusSeconds(600));

    // When the user tries again with the same card and fails the same way (another request), and
    // a third attempt fails the same way again outside any API request, reported twice
    var second =
        StripeFixtures.paymentFailed(pi, 500, meta).withoutCharge(failure).request("req_second");
    var third =
        StripeFixtures.paymentFailed(pi, 500, meta)
            .withoutCharge(failure)
            .request(null)
            .created(PAID_AT.plusSeconds(600));
    var thirdAgain =
        StripeFixtures.paymentFailed(pi, 500, meta)
            .withoutCharge(failure)
            .request(null)
            .created(third.created());
    world.deliver(first);
    world.deliver(second);
    world.deliver(third);
    world.deliver(thirdAgain);

    // Then each attempt is announced once: three payment.failed, the repeat of the third ignored
    assertThat(world.awaitOutcome(first.eventId())).containsEntry("status", "processed");
    assertThat(world.awaitOutcome(second.eventId())).containsEntry("status", "processed");
    assertThat(world.awaitOutcome(third.eventId())).containsEntry("status", "processed");
    assertThat(world.awaitOutcome(thirdAgain.eventId())).containsEntry("status", "ignored");
    assertThat(world.paymentEvents(listing))
        .extracting(e -> data(e).get("stripeEventId"))
        .containsExactly(first.eventId(), second.eventId(), third.eventId());
    assertThat(world.paymentRow(pi)).containsEntry("status", "failed");
  }

  private static String failedId(String attempt) {
    return PaymentEvent.idFor(PaymentEventType.PAYMENT_FAILED, attempt).toString();
  }

  @Test
  void shouldNotDowngradeButAnnounceTheDeclineWhenItArrivesAfterSuccess() {
    // Given a payment that succeeded
    UUID listing = world.listing("pending_payment");
    String pi = world.payment(listing, "posting_fee", 500);
    var meta = world.metadataFor(listing, "posting_fee");
    var success = StripeFixtures.succeeded(pi, 500, meta);
    world.deliver(success);
    world.awaitOutcome(success.eventId());

    // When an earlier declined attempt of the same PaymentIntent arrives late, then Stripe's
    // second event about that attempt, and then a cancellation
    var failure = StripeFixtures.paymentFailed(pi, 500, meta).created(PAID_AT.minusSeconds(60));
    var twin =
        StripeFixtures.paymentFailed(pi, 500, meta)
            .charge(failure.charge())
            .created(PAID_AT.minusSeconds(60));
    var cancel = StripeFixtures.canceled(pi, 500, meta);
    world.deliver(failure);
    world.deliver(twin);
    world.deliver(cancel);

    // Then the payment stays succeeded and the listing active
    assertThat(world.awaitOutcome(failure.eventId())).containsEntry("status", "processed");
    assertThat(world.awaitOutcome(twin.eventId())).containsEntry("status", "ignored");
    assertThat(world.awaitOutcome(cancel.eventId())).containsEntry("status", "ignored");
    assertThat(world.paymentRow(pi)).containsEntry("status", "succeeded");
    assertThat(world.listingRow(listing)).containsEntry("status", "active");
    // And subscribers learn of the decline once, dated before the success, as they would have had
    // Stripe delivered in order
    assertThat(world.awaitPaymentEvents(listing, 3))
        .filteredOn(e -> "payment.failed".equals(e.get("type")))
        .singleElement()
        .satisfies(
            e -> {
              assertThat(e).containsEntry("id", failedId(failure.charge()));
              assertThat(data(e))
                  .containsEntry("stripeEventId", failure.eventId())
                  .containsEntry("failedAt", PAID_AT.minusSeconds(60).toString());
            });
  }

  @Test
  void shouldAnnounceEachDeclinedAttemptOnceWhateverTheOrderStripeReportsThem() {
    // Given a posting fee declined twice, each attempt with its charge, an hour apart
    UUID listing = world.listing("pending_payment");
    String pi = world.payment(listing, "posting_fee", 500);
    var meta = world.metadataFor(listing, "posting_fee");
    var first = StripeFixtures.paymentFailed(pi, 500, meta).created(PAID_AT.minusSeconds(3_600));
    var second = StripeFixtures.paymentFailed(pi, 500, meta).created(PAID_AT);

    // When Stripe reports the second attempt first, then the first, then the first again
    var firstAgain =
        StripeFixtures.paymentFailed(pi, 500, meta)
            .charge(first.charge())
            .created(PAID_AT.minusSeconds(3_600));
    world.deliver(second);
    world.deliver(first);
    world.deliver(firstAgain);

    // Then the payment keeps the later failure, each attempt is announced once, and the repeat
    // announces nothing
    assertThat(world.awaitOutcome(second.eventId())).containsEntry("status", "processed");
    assertThat(world.awaitOutcome(first.eventId())).containsEntry("status", "processed");
    assertThat(world.awaitOutcome(firstAgain.eventId()))
        .containsEntry("status", "ignored")
        .containsEntry("error_message", "attempt " + first.charge() + " is already announced");
    assertThat(world.paymentRow(pi))
        .containsEntry("status", "failed")
        .containsEntry("failed_attempt", second.charge());
    assertThat(world.paymentEvents(listing))
        .extracting(e -> e.get("id"))
        .containsExactly(failedId(second.charge()), failedId(first.charge()));
  }

  @Test
  void shouldMarkPaymentCanceledWhenPaymentIntentIsCanceled() {
    // Given an unpaid bump
    UUID listing = world.listing("active");
    String pi = world.payment(listing, "promotion_bump", 200);

    // When its PaymentIntent is canceled
    var event = StripeFixtures.canceled(pi, 200, world.metadataFor(listing, "promotion_bump"));
    world.deliver(event);

    // Then the payment is canceled and nothing is promoted
    assertThat(world.awaitOutcome(event.eventId())).containsEntry("status", "processed");
    assertThat(world.paymentRow(pi)).containsEntry("status", "canceled");
    assertThat(world.listingRow(listing)).containsEntry("last_bumped_at", null);
  }

  @Test
  void shouldServeHealthAndMetricsWhenRunning() {
    // Given a running processor that applied a declined attempt
    UUID listing = world.listing("pending_payment");
    String pi = world.payment(listing, "posting_fee", 500);
    var event = StripeFixtures.paymentFailed(pi, 500, world.metadataFor(listing, "posting_fee"));
    world.deliver(event);
    world.awaitOutcome(event.eventId());

    // When the admin port is asked
    var ready = world.admin("/health/ready");
    var live = world.admin("/health/live");
    String metrics = world.admin("/metrics").getValue();

    // Then it is ready with Kafka, PostgreSQL and the worker up, and exposes the SPEC §6 counters,
    // the processing latency and the consumer lag
    assertThat(ready.getKey()).isEqualTo(200);
    assertThat(ready.getValue())
        .contains("\"kafka\":\"UP\"", "\"database\":\"UP\"", "\"worker\":\"UP\"");
    assertThat(live.getKey()).isEqualTo(200);
    assertThat(metrics)
        .contains("homepage_payments_succeeded_total{", "type=\"promotion_bump\"")
        .contains("payments_worker_event_latency_seconds_bucket{")
        .contains("kafka_consumer_fetch_manager_records_lag_max{");
    assertThat(world.metric("homepage_payments_failed_total", "type=\"posting_fee\""))
        .isGreaterThanOrEqualTo(1);
    assertThat(world.admin("/q/metrics").getKey()).isEqualTo(200);
  }

  /**
   * A chargeback of {@code amount} cents of the payment, open, as the refund worker records it;
   * returns its dispute id.
   */
  private static String chargeback(UUID listing, String pi, long amount) {
    String dispute = StripeFixtures.id("du");
    world.db.execute(
        """
        INSERT INTO payment_disputes (stripe_dispute_id, stripe_payment_intent_id, user_id,
                                      amount_cents, reason, status, is_inquiry)
        VALUES (?, ?, ?, ?, 'fraudulent', 'needs_response', false)
        """,
        dispute,
        pi,
        world.ownerOf(listing),
        amount);
    world.db.execute(
        """
        INSERT INTO payment_refunds
            (id, user_id, listing_id, stripe_payment_intent_id, stripe_dispute_id, amount_cents,
             reason, status)
        VALUES (?, ?, ?, ?, ?, ?, 'chargeback', 'processed')
        """,
        UUID.randomUUID(),
        world.ownerOf(listing),
        listing,
        pi,
        dispute,
        amount);
    return dispute;
  }

  /**
   * Sends the refund worker's delivery command for {@code pi}, and waits until the processor
   * applied it.
   */
  private static void askForDelivery(String pi, String cause) {
    UUID id = DeliveryCommand.idFor(pi, cause);
    world.kafka.send(
        world.topics.deliveryCommands(),
        pi,
        Json.write(new DeliveryCommand(id, pi, cause, NOW)),
        Map.of(RecordHeaders.EVENT_TYPE, DeliveryCommand.TYPE));
    Await.until(
        ProcessorFixture.WAIT,
        "the processor to apply delivery command " + id,
        () ->
            world.db.count(
                    "processed_events WHERE consumer = ? AND event_key = ?",
                    PaymentProcessorConfig.SERVICE + PaymentProcessorConfig.DELIVERIES_SUFFIX,
                    "delivery-command:" + id)
                == 1);
  }

  /**
   * Sends the refund worker's withdrawal command for {@code pi}, whose money Stripe took back at
   * {@code returnedAt}, and waits until the processor applied it.
   */
  private static void askForWithdrawal(String pi, String cause, Instant returnedAt) {
    UUID id = WithdrawalCommand.idFor(pi, cause);
    world.kafka.send(
        world.topics.deliveryCommands(),
        pi,
        Json.write(new WithdrawalCommand(id, pi, cause, returnedAt, NOW)),
        Map.of(RecordHeaders.EVENT_TYPE, WithdrawalCommand.TYPE));
    Await.until(
        ProcessorFixture.WAIT,
        "the processor to apply withdrawal command " + id,
        () ->
            world.db.count(
                    "processed_events WHERE consumer = ? AND event_key = ?",
                    PaymentProcessorConfig.SERVICE + PaymentProcessorConfig.DELIVERIES_SUFFIX,
                    "delivery-command:" + id)
                == 1);
  }

  private static <T> T read(ConsumerRecord<String, byte[]> record, Class<T> type) {
    try {
      return Json.mapper().readValue(record.value(), type);
    } catch (java.io.IOException e) {
      throw new AssertionError(e);
    }
  }

  /** A featured week of {@code listing}, paid before, running until {@code end}. */
  private void featuredUntil(UUID listing, Instant end) {
    world.db.execute(
        """
        INSERT INTO listing_promotions
            (id, listing_id, type, stripe_payment_intent_id, amount_cents, starts_at, expires_at)
        VALUES (?, ?, 'featured', ?, 500, ?, ?)
        """,
        UUID.randomUUID(),
        listing,
        StripeFixtures.id("pi"),
        end.minus(Duration.ofDays(7)),
        end);
  }

  /**
   * The payment's refund command asks for a technical-failure refund, and of what it bought only
   * {@code payment.succeeded} is announced.
   */
  private void assertRefundedAsTechnicalFailure(String pi, UUID listing) {
    ConsumerRecord<String, byte[]> command =
        world.kafka.awaitRecord(
            world.topics.refundCommands(), r -> pi.equals(r.key()), ProcessorFixture.WAIT);
    assertThat(read(command, RefundCommand.class).reason()).isEqualTo("technical_failure");
    assertThat(world.awaitPaymentEvents(listing, 1))
        .extracting(e -> e.get("type"))
        .containsExactly("payment.succeeded");
  }

  /** The audit row of an event: its metadata's customer_note as stored, and its raw body. */
  private static Map<String, Object> auditedCustomerNote(String eventId) {
    return world
        .db
        .row(
            "SELECT payload->'data'->'object'->'metadata'->>'customer_note' AS note,"
                + " payload_raw FROM webhook_events WHERE event_id = ?",
            eventId)
        .orElseThrow();
  }
}
