package io.marketplace.payments.refunds.promotion;

import static io.marketplace.payments.refunds.promotion.FeaturedWeeks.WEEK;
import static io.marketplace.payments.refunds.promotion.FeaturedWeeks.instant;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.refunds.Harness;
import io.marketplace.payments.refunds.StripeFixtures;
import io.marketplace.payments.refunds.promotion.FeaturedWeeks.Week;
import io.marketplace.payments.testsupport.EventSchemas;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A featured week that a chargeback ended, its dispute won afterwards (the card network gave the
 * money back to us): the customer paid for the week and gets back what was left of it, once, as a
 * new week at the end of the listing's featured weeks, announced as {@code promotion.created}. A
 * week the dispute did not end, a dispute lost, and a listing no longer active get none.
 */
class FeaturedWeekDisputeWonTest {

  private static Harness h;
  private static FeaturedWeeks weeks;

  @BeforeAll
  static void start() {
    h = new Harness();
    weeks = new FeaturedWeeks(h);
  }

  @AfterAll
  static void stop() {
    h.close();
  }

  @Test
  void shouldGiveBackWhatWasLeftOfARunningWeekOnceWhenItsDisputeIsWon() {
    // Given a listing featured for two days now, whose week's payment is disputed: the week ends
    var listing = h.paidListing(Duration.ofDays(3));
    Instant startedAt = weeks.now().minus(Duration.ofDays(2));
    Week running = weeks.buy(listing, startedAt, h.now().minus(Duration.ofDays(2)));
    String disputeId = h.emulator().openDispute(running.paymentIntentId());
    weeks.awaitForwarded("charge.dispute.created", disputeId);
    h.awaitStripeEventsApplied();
    Instant endedAt = weeks.expiredAt(running.id());
    assertThat(endedAt).isNotNull();
    Duration left = Duration.between(endedAt, running.expiresAt());

    // When, a day later, the dispute is won (closed, and funds reinstated), and Stripe tells the
    // close again under another event id
    h.advanceClock(Duration.ofDays(1));
    Instant wonAt = weeks.now();
    h.emulator().closeDispute(disputeId, "won");
    String closed = weeks.awaitForwarded("charge.dispute.closed", disputeId);
    weeks.awaitForwarded("charge.dispute.funds_reinstated", disputeId);
    h.webhooks().publish(StripeFixtures.withNewEventId(closed));
    h.awaitStripeEventsApplied();
    Instant appliedBy = weeks.now();

    // Then the listing is featured again from the win, for what was left of the week, once
    List<Map<String, Object>> given = weeks.besides(listing.listingId(), Set.of(running.id()));
    assertThat(given).singleElement();
    UUID givenId = (UUID) given.getFirst().get("id");
    List<Instant> givenTimes = weeks.times(givenId);
    assertThat(givenTimes.getFirst()).isBetween(wonAt, appliedBy);
    assertThat(Duration.between(givenTimes.getFirst(), givenTimes.getLast())).isEqualTo(left);
    assertThat(weeks.expiredAt(givenId)).isNull();
    // and the ended week stays ended, for audit
    assertThat(weeks.expiredAt(running.id())).isEqualTo(endedAt);
    // and the new week is announced once, as the schema says, paid by the disputed payment
    List<JsonNode> created = h.paymentEvents("promotion.created", givenId.toString());
    assertThat(created).hasSize(1);
    JsonNode event = created.getFirst();
    assertThat(EventSchemas.violations("promotion.created", Json.write(event))).isEmpty();
    assertThat(event.at("/data/paymentIntentId").asText()).isEqualTo(running.paymentIntentId());
    assertThat(event.at("/data/type").asText()).isEqualTo("featured");
    assertThat(List.of(instant(event.at("/data/startsAt")), instant(event.at("/data/expiresAt"))))
        .isEqualTo(givenTimes);
  }

  @Test
  void shouldGiveBackAWholeWeekNotBegunAtTheEndOfTheListingsFeaturedWeeks() {
    // Given a listing featured since yesterday with two more weeks bought to follow, the second of
    // which is disputed: it ends before it began, and the third moves up
    var listing = h.paidListing(Duration.ofDays(3));
    Instant startedAt = weeks.now().minus(Duration.ofDays(1));
    Week running = weeks.buy(listing, startedAt, h.now().minus(Duration.ofDays(2)));
    Week second = weeks.buy(listing, startedAt.plus(WEEK), h.now().minus(Duration.ofDays(2)));
    Week third =
        weeks.buy(listing, startedAt.plus(WEEK.multipliedBy(2)), h.now().minus(Duration.ofDays(2)));
    String disputeId = h.emulator().openDispute(second.paymentIntentId());
    weeks.awaitForwarded("charge.dispute.created", disputeId);
    h.awaitStripeEventsApplied();
    assertThat(weeks.expiredAt(second.id())).isNotNull();
    assertThat(weeks.times(third.id()))
        .containsExactly(startedAt.plus(WEEK), startedAt.plus(WEEK.multipliedBy(2)));

    // When the dispute is won a day later
    h.advanceClock(Duration.ofDays(1));
    h.emulator().closeDispute(disputeId, "won");
    weeks.awaitForwarded("charge.dispute.funds_reinstated", disputeId);
    h.awaitStripeEventsApplied();

    // Then a whole week is given back, after the third
    List<Map<String, Object>> given =
        weeks.besides(listing.listingId(), Set.of(running.id(), second.id(), third.id()));
    assertThat(given).singleElement();
    UUID givenId = (UUID) given.getFirst().get("id");
    assertThat(weeks.times(givenId))
        .containsExactly(
            startedAt.plus(WEEK.multipliedBy(2)), startedAt.plus(WEEK.multipliedBy(3)));
    assertThat(h.paymentEvents("promotion.created", givenId.toString())).hasSize(1);
    // and the weeks that ran on are untouched
    assertThat(weeks.times(running.id())).containsExactly(startedAt, startedAt.plus(WEEK));
    assertThat(weeks.times(third.id()))
        .containsExactly(startedAt.plus(WEEK), startedAt.plus(WEEK.multipliedBy(2)));
  }

  @Test
  void shouldEndTheWeekGivenBackWhenItsPaymentIsThenRefundedInFull() {
    // Given a running week ended by a dispute, and given back when the dispute was won
    var listing = h.paidListing(Duration.ofDays(3));
    Week running =
        weeks.buy(
            listing, weeks.now().minus(Duration.ofDays(1)), h.now().minus(Duration.ofDays(2)));
    String disputeId = h.emulator().openDispute(running.paymentIntentId());
    weeks.awaitForwarded("charge.dispute.created", disputeId);
    h.awaitStripeEventsApplied();
    h.emulator().closeDispute(disputeId, "won");
    weeks.awaitForwarded("charge.dispute.funds_reinstated", disputeId);
    h.awaitStripeEventsApplied();
    List<Map<String, Object>> given = weeks.besides(listing.listingId(), Set.of(running.id()));
    assertThat(given).singleElement();
    UUID givenId = (UUID) given.getFirst().get("id");

    // When support then refunds the payment in full in Stripe's dashboard
    h.webhooks()
        .publish(
            StripeFixtures.event(
                "refund.created",
                StripeFixtures.refund(
                    StripeFixtures.newId("re"),
                    running.paymentIntentId(),
                    500,
                    "succeeded",
                    Map.of())));
    h.awaitStripeEventsApplied();
    h.awaitRefund(running.paymentIntentId(), "processed");

    // Then the week given back ends too: the customer does not keep both the money and the week
    assertThat(weeks.expiredAt(givenId)).isNotNull();
    assertThat(h.paymentEvents("promotion.expired", givenId.toString())).hasSize(1);
  }

  @Test
  void shouldEndTheWeekGivenBackWhenTheWonDisputeIsLostAfterAll() {
    // Given a listing featured for two days, its week ended by a chargeback and given back when
    // the dispute was won a day later
    var listing = h.paidListing(Duration.ofDays(3));
    Week running =
        weeks.buy(
            listing, weeks.now().minus(Duration.ofDays(2)), h.now().minus(Duration.ofDays(2)));
    String disputeId = StripeFixtures.newId("du");
    String disputeCreated =
        StripeFixtures.event(
            "charge.dispute.created",
            StripeFixtures.dispute(disputeId, running.paymentIntentId(), 500, "needs_response"));
    h.webhooks().publish(disputeCreated);
    h.awaitStripeEventsApplied();
    assertThat(weeks.expiredAt(running.id())).isNotNull();
    h.advanceClock(Duration.ofDays(1));
    h.webhooks()
        .publish(StripeFixtures.sameDispute(disputeCreated, "charge.dispute.closed", "won"));
    h.awaitStripeEventsApplied();
    List<Map<String, Object>> given = weeks.besides(listing.listingId(), Set.of(running.id()));
    assertThat(given).singleElement();
    UUID givenId = (UUID) given.getFirst().get("id");
    assertThat(weeks.expiredAt(givenId)).isNull();

    // When the card network reverses the win a day later (the issuer's pre-arbitration is lost):
    // Stripe tells the dispute lost and its funds withdrawn again, the close twice
    h.advanceClock(Duration.ofDays(1));
    String lost = StripeFixtures.sameDispute(disputeCreated, "charge.dispute.closed", "lost");
    h.webhooks().publish(lost);
    h.webhooks().publish(StripeFixtures.withNewEventId(lost));
    h.webhooks()
        .publish(
            StripeFixtures.sameDispute(disputeCreated, "charge.dispute.funds_withdrawn", "lost"));
    h.awaitStripeEventsApplied();

    // Then the dispute is recorded lost, its chargeback counts as money gone back again
    assertThat(
            h.db()
                .row("SELECT status FROM payment_disputes WHERE stripe_dispute_id = ?", disputeId)
                .orElseThrow())
        .containsEntry("status", "lost");
    // and the week given back for the win ends with the money, announced once: the customer does
    // not keep a week whose money the chargeback took back for good
    assertThat(weeks.expiredAt(givenId)).isNotNull();
    assertThat(h.paymentEvents("promotion.expired", givenId.toString())).hasSize(1);
    assertThat(weeks.besides(listing.listingId(), Set.of(running.id(), givenId))).isEmpty();
  }

  @Test
  void shouldGiveBackAWeekARefundEndedWithTheChargebackWhenTheDisputeIsWon() {
    // Given a listing featured for two days, whose week's payment (500) is charged back in part
    // (300): the week runs on
    var listing = h.paidListing(Duration.ofDays(3));
    Week running =
        weeks.buy(
            listing, weeks.now().minus(Duration.ofDays(2)), h.now().minus(Duration.ofDays(2)));
    String disputeCreated =
        StripeFixtures.event(
            "charge.dispute.created",
            StripeFixtures.dispute(
                StripeFixtures.newId("du"), running.paymentIntentId(), 300, "needs_response"));
    h.webhooks().publish(disputeCreated);
    h.awaitStripeEventsApplied();
    assertThat(weeks.expiredAt(running.id())).isNull();
    // and the rest (200), refunded in Stripe's dashboard before the dispute, told after it: the
    // last of the week's money is a refund, and the week ends then
    h.advanceClock(Duration.ofHours(1));
    h.webhooks()
        .publish(
            StripeFixtures.event(
                "refund.created",
                StripeFixtures.refund(
                    StripeFixtures.newId("re"),
                    running.paymentIntentId(),
                    200,
                    "succeeded",
                    Map.of())));
    h.awaitStripeEventsApplied();
    Instant endedAt = weeks.expiredAt(running.id());
    assertThat(endedAt).isNotNull();
    Duration left = Duration.between(endedAt, running.expiresAt());

    // When, a day later, the dispute is won (closed, funds reinstated, the close told twice)
    h.advanceClock(Duration.ofDays(1));
    Instant wonAt = weeks.now();
    String closed = StripeFixtures.sameDispute(disputeCreated, "charge.dispute.closed", "won");
    h.webhooks().publish(closed);
    h.webhooks()
        .publish(
            StripeFixtures.sameDispute(disputeCreated, "charge.dispute.funds_reinstated", "won"));
    h.webhooks().publish(StripeFixtures.withNewEventId(closed));
    h.awaitStripeEventsApplied();

    // Then the customer, who kept 300 of the 500 with us, gets back what was left of the week, once
    List<Map<String, Object>> given = weeks.besides(listing.listingId(), Set.of(running.id()));
    assertThat(given).singleElement();
    UUID givenId = (UUID) given.getFirst().get("id");
    List<Instant> givenTimes = weeks.times(givenId);
    assertThat(givenTimes.getFirst()).isAfterOrEqualTo(wonAt);
    assertThat(Duration.between(givenTimes.getFirst(), givenTimes.getLast())).isEqualTo(left);
    assertThat(h.paymentEvents("promotion.created", givenId.toString())).hasSize(1);

    // and when the week given back is ended by a refund of the 300, which then fails at Stripe,
    // the failure gives back what was left of it, and the win told once more gives nothing
    // further: that week ended after the dispute was won
    h.advanceClock(Duration.ofHours(1));
    String lastRefund = StripeFixtures.newId("re");
    h.webhooks()
        .publish(
            StripeFixtures.event(
                "refund.created",
                StripeFixtures.refund(
                    lastRefund, running.paymentIntentId(), 300, "succeeded", Map.of())));
    h.awaitStripeEventsApplied();
    assertThat(weeks.expiredAt(givenId)).isNotNull();
    h.webhooks()
        .publish(
            StripeFixtures.event(
                "refund.failed",
                StripeFixtures.refund(
                    lastRefund, running.paymentIntentId(), 300, "failed", Map.of())));
    h.webhooks().publish(StripeFixtures.withNewEventId(closed));
    h.awaitStripeEventsApplied();
    List<Map<String, Object>> givenAgain =
        weeks.besides(listing.listingId(), Set.of(running.id(), givenId));
    assertThat(givenAgain).singleElement();
    UUID givenAgainId = (UUID) givenAgain.getFirst().get("id");
    assertThat(weeks.restores(givenAgainId)).isEqualTo(givenId);
    assertThat(h.paymentEvents("promotion.created", givenAgainId.toString())).hasSize(1);
  }

  @Test
  void shouldGiveBackOnlyTheWeekItsChargebackEndedWhenALaterDisputeIsWon() {
    // Given a listing featured for two days, its week's payment refunded in full in Stripe's
    // dashboard: the week ends
    var listing = h.paidListing(Duration.ofDays(3));
    Week running =
        weeks.buy(
            listing, weeks.now().minus(Duration.ofDays(2)), h.now().minus(Duration.ofDays(2)));
    String refundId = StripeFixtures.newId("re");
    h.webhooks()
        .publish(
            StripeFixtures.event(
                "refund.created",
                StripeFixtures.refund(
                    refundId, running.paymentIntentId(), 500, "succeeded", Map.of())));
    h.awaitStripeEventsApplied();
    assertThat(weeks.expiredAt(running.id())).isNotNull();
    // and the refund then failed at Stripe (the money is back with us, the refund owed still):
    // what was left of the week is given back
    h.webhooks()
        .publish(
            StripeFixtures.event(
                "refund.failed",
                StripeFixtures.refund(
                    refundId, running.paymentIntentId(), 500, "failed", Map.of())));
    h.awaitStripeEventsApplied();
    List<Map<String, Object>> given = weeks.besides(listing.listingId(), Set.of(running.id()));
    assertThat(given).singleElement();
    UUID givenId = (UUID) given.getFirst().get("id");
    assertThat(weeks.restores(givenId)).isEqualTo(running.id());

    // When a dispute opened after the week ended is won
    h.advanceClock(Duration.ofHours(1));
    String disputeCreated =
        StripeFixtures.event(
            "charge.dispute.created",
            StripeFixtures.dispute(
                StripeFixtures.newId("du"), running.paymentIntentId(), 500, "needs_response"));
    h.webhooks().publish(disputeCreated);
    h.awaitStripeEventsApplied();
    h.webhooks()
        .publish(StripeFixtures.sameDispute(disputeCreated, "charge.dispute.closed", "won"));
    h.awaitStripeEventsApplied();

    // Then the week given back, which its chargeback ended, is given back in turn, once; the week
    // the refund ended is not given back a second time: the dispute took none of its money
    assertThat(weeks.expiredAt(givenId)).isNotNull();
    List<Map<String, Object>> givenAgain =
        weeks.besides(listing.listingId(), Set.of(running.id(), givenId));
    assertThat(givenAgain).singleElement();
    UUID givenAgainId = (UUID) givenAgain.getFirst().get("id");
    assertThat(weeks.restores(givenAgainId)).isEqualTo(givenId);
    assertThat(h.paymentEvents("promotion.created", listing.listingId().toString()))
        .extracting(e -> e.at("/data/promotionId").asText())
        .containsExactly(givenId.toString(), givenAgainId.toString());
  }

  @Test
  void shouldGiveNothingBackWhenTheDisputeIsLostOrWonBeforeItsChargebackWasToldOrTheWeekRanOut() {
    // Given three listings featured since yesterday
    var lost = h.paidListing(Duration.ofDays(3));
    Week lostWeek =
        weeks.buy(lost, weeks.now().minus(Duration.ofDays(1)), h.now().minus(Duration.ofDays(2)));
    var early = h.paidListing(Duration.ofDays(3));
    Week earlyWeek =
        weeks.buy(early, weeks.now().minus(Duration.ofDays(1)), h.now().minus(Duration.ofDays(2)));

    // When the first's payment is disputed and the dispute lost
    String lostDispute = h.emulator().openDispute(lostWeek.paymentIntentId());
    String created = weeks.awaitForwarded("charge.dispute.created", lostDispute);
    h.awaitStripeEventsApplied();
    h.emulator().closeDispute(lostDispute, "lost");
    weeks.awaitForwarded("charge.dispute.closed", lostDispute);
    // and the second's dispute is told as won before it is told as created (out of order)
    String wonFirst =
        StripeFixtures.otherDispute(
            StripeFixtures.withNewEventId(created, "charge.dispute.closed"),
            earlyWeek.paymentIntentId(),
            "won");
    h.webhooks().publish(wonFirst);
    h.awaitStripeEventsApplied();
    h.webhooks()
        .publish(StripeFixtures.sameDispute(wonFirst, "charge.dispute.created", "needs_response"));
    h.awaitStripeEventsApplied();

    // Then the lost dispute's week stays ended, and nothing is given back
    assertThat(weeks.expiredAt(lostWeek.id())).isNotNull();
    assertThat(weeks.besides(lost.listingId(), Set.of(lostWeek.id()))).isEmpty();
    // and the week whose dispute was won first never ended, and is not doubled
    assertThat(weeks.expiredAt(earlyWeek.id())).isNull();
    assertThat(weeks.besides(early.listingId(), Set.of(earlyWeek.id()))).isEmpty();
    assertThat(h.paymentEvents("promotion.created", early.listingId().toString())).isEmpty();
  }

  @Test
  void shouldGiveNoWeekToARejectedListingButTheRefundItsRejectionOwes() {
    // Given a listing featured for two days, its week ended by a dispute
    var listing = h.paidListing(Duration.ofDays(3));
    Week running =
        weeks.buy(
            listing, weeks.now().minus(Duration.ofDays(2)), h.now().minus(Duration.ofDays(2)));
    String disputeId = h.emulator().openDispute(running.paymentIntentId());
    weeks.awaitForwarded("charge.dispute.created", disputeId);
    h.awaitStripeEventsApplied();
    // and the listing rejected by moderation while the dispute is open
    h.reject(listing.listingId(), h.now());
    h.awaitModerationApplied(listing.listingId(), 1);

    // When the dispute is won
    h.emulator().closeDispute(disputeId, "won");
    weeks.awaitForwarded("charge.dispute.funds_reinstated", disputeId);
    h.awaitStripeEventsApplied();

    // Then no week is given back to the rejected listing
    assertThat(weeks.besides(listing.listingId(), Set.of(running.id()))).isEmpty();
    assertThat(h.paymentEvents("promotion.created", listing.listingId().toString())).isEmpty();
    // and the week's money is owed as the rejection's refund rule says (past 24 h: for review)
    assertThat(h.refunds(running.paymentIntentId()))
        .filteredOn(r -> "moderation_rejection".equals(r.get("reason")))
        .singleElement()
        .satisfies(
            r ->
                assertThat(r)
                    .containsEntry("status", "pending")
                    .containsEntry("amount_cents", 500));
  }

  @Test
  void shouldEndTheWeekGivenBackAtTheListingsEndWhenWhatWasLeftRunsPastIt() {
    // Given a listing featured for two days, ending in three days, its week ended by a dispute
    var listing = h.paidListing(Duration.ofDays(3));
    Week running =
        weeks.buy(
            listing, weeks.now().minus(Duration.ofDays(2)), h.now().minus(Duration.ofDays(2)));
    Instant listingEnds = weeks.now().plus(Duration.ofDays(3));
    h.db()
        .execute(
            "UPDATE marketplace_listings SET expires_at = ? WHERE id = ?",
            listingEnds,
            listing.listingId());
    String disputeId = h.emulator().openDispute(running.paymentIntentId());
    weeks.awaitForwarded("charge.dispute.created", disputeId);
    h.awaitStripeEventsApplied();

    // When the dispute is won
    h.emulator().closeDispute(disputeId, "won");
    weeks.awaitForwarded("charge.dispute.funds_reinstated", disputeId);
    h.awaitStripeEventsApplied();

    // Then the five days left are given back up to the listing's end, not past it
    List<Map<String, Object>> given = weeks.besides(listing.listingId(), Set.of(running.id()));
    assertThat(given).singleElement();
    assertThat(weeks.times((UUID) given.getFirst().get("id")).getLast()).isEqualTo(listingEnds);
  }

  @Test
  void shouldGiveNoWeekToAnExpiredListing() {
    // Given a listing featured for two days, its week ended by a dispute
    var listing = h.paidListing(Duration.ofDays(3));
    Week running =
        weeks.buy(
            listing, weeks.now().minus(Duration.ofDays(2)), h.now().minus(Duration.ofDays(2)));
    String disputeId = h.emulator().openDispute(running.paymentIntentId());
    weeks.awaitForwarded("charge.dispute.created", disputeId);
    h.awaitStripeEventsApplied();
    // and the listing's time over, marked expired, while the dispute is open
    h.db()
        .execute(
            "UPDATE marketplace_listings SET status = 'expired', expires_at = ? WHERE id = ?",
            weeks.now().minus(Duration.ofHours(1)),
            listing.listingId());

    // When the dispute is won
    h.emulator().closeDispute(disputeId, "won");
    weeks.awaitForwarded("charge.dispute.funds_reinstated", disputeId);
    h.awaitStripeEventsApplied();

    // Then no week is given back to it, and nothing is announced
    assertThat(weeks.besides(listing.listingId(), Set.of(running.id()))).isEmpty();
    assertThat(h.paymentEvents("promotion.created", listing.listingId().toString())).isEmpty();
  }
}
