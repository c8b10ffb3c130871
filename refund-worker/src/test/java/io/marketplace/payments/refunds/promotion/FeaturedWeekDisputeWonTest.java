package io.marketplace.payments.refunds.promotion;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.refunds.Harness;
import io.marketplace.payments.refunds.StripeFixtures;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.EventSchemas;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;
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

  private static final Duration WEEK = Duration.ofDays(7);
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
  void shouldGiveBackWhatWasLeftOfARunningWeekOnceWhenItsDisputeIsWon() {
    // Given a listing featured for two days now, whose week's payment is disputed: the week ends
    var listing = h.paidListing(Duration.ofDays(3));
    Instant startedAt = now().minus(Duration.ofDays(2));
    Week running = featuredWeek(listing, startedAt);
    String disputeId = h.emulator().openDispute(running.paymentIntentId());
    awaitForwarded("charge.dispute.created", disputeId);
    h.awaitStripeEventsApplied();
    Instant endedAt = expiredAt(running.id());
    assertThat(endedAt).isNotNull();
    Duration left = Duration.between(endedAt, running.expiresAt());

    // When, a day later, the dispute is won (closed, and funds reinstated), and Stripe tells the
    // close again under another event id
    h.advanceClock(Duration.ofDays(1));
    Instant wonAt = now();
    h.emulator().closeDispute(disputeId, "won");
    String closed = awaitForwarded("charge.dispute.closed", disputeId);
    awaitForwarded("charge.dispute.funds_reinstated", disputeId);
    h.webhooks().publish(StripeFixtures.withNewEventId(closed));
    h.awaitStripeEventsApplied();
    Instant appliedBy = now();

    // Then the listing is featured again from the win, for what was left of the week, once
    List<Map<String, Object>> given = weeksBesides(listing.listingId(), Set.of(running.id()));
    assertThat(given).singleElement();
    UUID givenId = (UUID) given.getFirst().get("id");
    List<Instant> givenTimes = times(givenId);
    assertThat(givenTimes.getFirst()).isBetween(wonAt, appliedBy);
    assertThat(Duration.between(givenTimes.getFirst(), givenTimes.getLast())).isEqualTo(left);
    assertThat(expiredAt(givenId)).isNull();
    // and the ended week stays ended, for audit
    assertThat(expiredAt(running.id())).isEqualTo(endedAt);
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
    Instant startedAt = now().minus(Duration.ofDays(1));
    Week running = featuredWeek(listing, startedAt);
    Week second = featuredWeek(listing, startedAt.plus(WEEK));
    Week third = featuredWeek(listing, startedAt.plus(WEEK.multipliedBy(2)));
    String disputeId = h.emulator().openDispute(second.paymentIntentId());
    awaitForwarded("charge.dispute.created", disputeId);
    h.awaitStripeEventsApplied();
    assertThat(expiredAt(second.id())).isNotNull();
    assertThat(times(third.id()))
        .containsExactly(startedAt.plus(WEEK), startedAt.plus(WEEK.multipliedBy(2)));

    // When the dispute is won a day later
    h.advanceClock(Duration.ofDays(1));
    h.emulator().closeDispute(disputeId, "won");
    awaitForwarded("charge.dispute.funds_reinstated", disputeId);
    h.awaitStripeEventsApplied();

    // Then a whole week is given back, after the third
    List<Map<String, Object>> given =
        weeksBesides(listing.listingId(), Set.of(running.id(), second.id(), third.id()));
    assertThat(given).singleElement();
    UUID givenId = (UUID) given.getFirst().get("id");
    assertThat(times(givenId))
        .containsExactly(
            startedAt.plus(WEEK.multipliedBy(2)), startedAt.plus(WEEK.multipliedBy(3)));
    assertThat(h.paymentEvents("promotion.created", givenId.toString())).hasSize(1);
    // and the weeks that ran on are untouched
    assertThat(times(running.id())).containsExactly(startedAt, startedAt.plus(WEEK));
    assertThat(times(third.id()))
        .containsExactly(startedAt.plus(WEEK), startedAt.plus(WEEK.multipliedBy(2)));
  }

  @Test
  void shouldEndTheWeekGivenBackWhenItsPaymentIsThenRefundedInFull() {
    // Given a running week ended by a dispute, and given back when the dispute was won
    var listing = h.paidListing(Duration.ofDays(3));
    Week running = featuredWeek(listing, now().minus(Duration.ofDays(1)));
    String disputeId = h.emulator().openDispute(running.paymentIntentId());
    awaitForwarded("charge.dispute.created", disputeId);
    h.awaitStripeEventsApplied();
    h.emulator().closeDispute(disputeId, "won");
    awaitForwarded("charge.dispute.funds_reinstated", disputeId);
    h.awaitStripeEventsApplied();
    List<Map<String, Object>> given = weeksBesides(listing.listingId(), Set.of(running.id()));
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
    assertThat(expiredAt(givenId)).isNotNull();
    assertThat(h.paymentEvents("promotion.expired", givenId.toString())).hasSize(1);
  }

  @Test
  void shouldGiveBackAWeekARefundEndedWithTheChargebackWhenTheDisputeIsWon() {
    // Given a listing featured for two days, whose week's payment (500) is charged back in part
    // (300): the week runs on
    var listing = h.paidListing(Duration.ofDays(3));
    Week running = featuredWeek(listing, now().minus(Duration.ofDays(2)));
    String disputeCreated =
        StripeFixtures.event(
            "charge.dispute.created",
            StripeFixtures.dispute(
                StripeFixtures.newId("du"), running.paymentIntentId(), 300, "needs_response"));
    h.webhooks().publish(disputeCreated);
    h.awaitStripeEventsApplied();
    assertThat(expiredAt(running.id())).isNull();
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
    Instant endedAt = expiredAt(running.id());
    assertThat(endedAt).isNotNull();
    Duration left = Duration.between(endedAt, running.expiresAt());

    // When, a day later, the dispute is won (closed, funds reinstated, the close told twice)
    h.advanceClock(Duration.ofDays(1));
    Instant wonAt = now();
    String closed = StripeFixtures.sameDispute(disputeCreated, "charge.dispute.closed", "won");
    h.webhooks().publish(closed);
    h.webhooks()
        .publish(
            StripeFixtures.sameDispute(disputeCreated, "charge.dispute.funds_reinstated", "won"));
    h.webhooks().publish(StripeFixtures.withNewEventId(closed));
    h.awaitStripeEventsApplied();

    // Then the customer, who kept 300 of the 500 with us, gets back what was left of the week, once
    List<Map<String, Object>> given = weeksBesides(listing.listingId(), Set.of(running.id()));
    assertThat(given).singleElement();
    UUID givenId = (UUID) given.getFirst().get("id");
    List<Instant> givenTimes = times(givenId);
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
    assertThat(expiredAt(givenId)).isNotNull();
    h.webhooks()
        .publish(
            StripeFixtures.event(
                "refund.failed",
                StripeFixtures.refund(
                    lastRefund, running.paymentIntentId(), 300, "failed", Map.of())));
    h.webhooks().publish(StripeFixtures.withNewEventId(closed));
    h.awaitStripeEventsApplied();
    List<Map<String, Object>> givenAgain =
        weeksBesides(listing.listingId(), Set.of(running.id(), givenId));
    assertThat(givenAgain).singleElement();
    UUID givenAgainId = (UUID) givenAgain.getFirst().get("id");
    assertThat(restores(givenAgainId)).isEqualTo(givenId);
    assertThat(h.paymentEvents("promotion.created", givenAgainId.toString())).hasSize(1);
  }

  @Test
  void shouldGiveBackOnlyTheWeekItsChargebackEndedWhenALaterDisputeIsWon() {
    // Given a listing featured for two days, its week's payment refunded in full in Stripe's
    // dashboard: the week ends
    var listing = h.paidListing(Duration.ofDays(3));
    Week running = featuredWeek(listing, now().minus(Duration.ofDays(2)));
    String refundId = StripeFixtures.newId("re");
    h.webhooks()
        .publish(
            StripeFixtures.event(
                "refund.created",
                StripeFixtures.refund(
                    refundId, running.paymentIntentId(), 500, "succeeded", Map.of())));
    h.awaitStripeEventsApplied();
    assertThat(expiredAt(running.id())).isNotNull();
    // and the refund then failed at Stripe (the money is back with us, the refund owed still):
    // what was left of the week is given back
    h.webhooks()
        .publish(
            StripeFixtures.event(
                "refund.failed",
                StripeFixtures.refund(
                    refundId, running.paymentIntentId(), 500, "failed", Map.of())));
    h.awaitStripeEventsApplied();
    List<Map<String, Object>> given = weeksBesides(listing.listingId(), Set.of(running.id()));
    assertThat(given).singleElement();
    UUID givenId = (UUID) given.getFirst().get("id");
    assertThat(restores(givenId)).isEqualTo(running.id());

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
    assertThat(expiredAt(givenId)).isNotNull();
    List<Map<String, Object>> givenAgain =
        weeksBesides(listing.listingId(), Set.of(running.id(), givenId));
    assertThat(givenAgain).singleElement();
    UUID givenAgainId = (UUID) givenAgain.getFirst().get("id");
    assertThat(restores(givenAgainId)).isEqualTo(givenId);
    assertThat(h.paymentEvents("promotion.created", listing.listingId().toString()))
        .extracting(e -> e.at("/data/promotionId").asText())
        .containsExactly(givenId.toString(), givenAgainId.toString());
  }

  @Test
  void shouldGiveNothingBackWhenTheDisputeIsLostOrWonBeforeItsChargebackWasToldOrTheWeekRanOut() {
    // Given three listings featured since yesterday
    var lost = h.paidListing(Duration.ofDays(3));
    Week lostWeek = featuredWeek(lost, now().minus(Duration.ofDays(1)));
    var early = h.paidListing(Duration.ofDays(3));
    Week earlyWeek = featuredWeek(early, now().minus(Duration.ofDays(1)));

    // When the first's payment is disputed and the dispute lost
    String lostDispute = h.emulator().openDispute(lostWeek.paymentIntentId());
    String created = awaitForwarded("charge.dispute.created", lostDispute);
    h.awaitStripeEventsApplied();
    h.emulator().closeDispute(lostDispute, "lost");
    awaitForwarded("charge.dispute.closed", lostDispute);
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
    assertThat(expiredAt(lostWeek.id())).isNotNull();
    assertThat(weeksBesides(lost.listingId(), Set.of(lostWeek.id()))).isEmpty();
    // and the week whose dispute was won first never ended, and is not doubled
    assertThat(expiredAt(earlyWeek.id())).isNull();
    assertThat(weeksBesides(early.listingId(), Set.of(earlyWeek.id()))).isEmpty();
    assertThat(h.paymentEvents("promotion.created", early.listingId().toString())).isEmpty();
  }

  @Test
  void shouldGiveNoWeekToARejectedListingButTheRefundItsRejectionOwes() {
    // Given a listing featured for two days, its week ended by a dispute
    var listing = h.paidListing(Duration.ofDays(3));
    Week running = featuredWeek(listing, now().minus(Duration.ofDays(2)));
    String disputeId = h.emulator().openDispute(running.paymentIntentId());
    awaitForwarded("charge.dispute.created", disputeId);
    h.awaitStripeEventsApplied();
    // and the listing rejected by moderation while the dispute is open
    h.reject(listing.listingId(), h.now());
    h.awaitModerationApplied(listing.listingId(), 1);

    // When the dispute is won
    h.emulator().closeDispute(disputeId, "won");
    awaitForwarded("charge.dispute.funds_reinstated", disputeId);
    h.awaitStripeEventsApplied();

    // Then no week is given back to the rejected listing
    assertThat(weeksBesides(listing.listingId(), Set.of(running.id()))).isEmpty();
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
    Week running = featuredWeek(listing, now().minus(Duration.ofDays(2)));
    Instant listingEnds = now().plus(Duration.ofDays(3));
    h.db()
        .execute(
            "UPDATE marketplace_listings SET expires_at = ? WHERE id = ?",
            listingEnds,
            listing.listingId());
    String disputeId = h.emulator().openDispute(running.paymentIntentId());
    awaitForwarded("charge.dispute.created", disputeId);
    h.awaitStripeEventsApplied();

    // When the dispute is won
    h.emulator().closeDispute(disputeId, "won");
    awaitForwarded("charge.dispute.funds_reinstated", disputeId);
    h.awaitStripeEventsApplied();

    // Then the five days left are given back up to the listing's end, not past it
    List<Map<String, Object>> given = weeksBesides(listing.listingId(), Set.of(running.id()));
    assertThat(given).singleElement();
    assertThat(times((UUID) given.getFirst().get("id")).getLast()).isEqualTo(listingEnds);
  }

  @Test
  void shouldGiveNoWeekToAnExpiredListing() {
    // Given a listing featured for two days, its week ended by a dispute
    var listing = h.paidListing(Duration.ofDays(3));
    Week running = featuredWeek(listing, now().minus(Duration.ofDays(2)));
    String disputeId = h.emulator().openDispute(running.paymentIntentId());
    awaitForwarded("charge.dispute.created", disputeId);
    h.awaitStripeEventsApplied();
    // and the listing's time over, marked expired, while the dispute is open
    h.db()
        .execute(
            "UPDATE marketplace_listings SET status = 'expired', expires_at = ? WHERE id = ?",
            now().minus(Duration.ofHours(1)),
            listing.listingId());

    // When the dispute is won
    h.emulator().closeDispute(disputeId, "won");
    awaitForwarded("charge.dispute.funds_reinstated", disputeId);
    h.awaitStripeEventsApplied();

    // Then no week is given back to it, and nothing is announced
    assertThat(weeksBesides(listing.listingId(), Set.of(running.id()))).isEmpty();
    assertThat(h.paymentEvents("promotion.created", listing.listingId().toString())).isEmpty();
  }

  /** A featured week of the listing paid at the emulator, as the payment processor records it. */
  private record Week(UUID id, String paymentIntentId, Instant expiresAt) {}

  private static Week featuredWeek(Harness.Paid listing, Instant startsAt) {
    String pi = h.charge(listing.userId(), listing.listingId(), 500, "promotion_featured");
    h.recordPayment(
        pi,
        listing.userId(),
        listing.listingId(),
        500,
        "promotion_featured",
        h.now().minus(Duration.ofDays(2)));
    UUID id = UUID.randomUUID();
    h.db()
        .execute(
            """
            INSERT INTO listing_promotions (id, listing_id, type, stripe_payment_intent_id,
                                            amount_cents, starts_at, expires_at)
            VALUES (?, ?, 'featured', ?, 500, ?, ?)
            """,
            id,
            listing.listingId(),
            pi,
            startsAt,
            startsAt.plus(WEEK));
    return new Week(id, pi, startsAt.plus(WEEK));
  }

  /** The listing's featured weeks other than {@code known}. */
  private static List<Map<String, Object>> weeksBesides(UUID listingId, Set<UUID> known) {
    return h
        .db()
        .rows(
            "SELECT id FROM listing_promotions WHERE listing_id = ? AND type = 'featured'",
            listingId)
        .stream()
        .filter(row -> !known.contains((UUID) row.get("id")))
        .toList();
  }

  /** The week that week {@code promotionId} gives back, or null. */
  private static UUID restores(UUID promotionId) {
    return (UUID)
        h.db()
            .row("SELECT restores_promotion_id FROM listing_promotions WHERE id = ?", promotionId)
            .orElseThrow()
            .get("restores_promotion_id");
  }

  /** The harness's time at PostgreSQL's precision, as the rows keep it. */
  private static Instant now() {
    return h.now().truncatedTo(ChronoUnit.MICROS);
  }

  private static Instant expiredAt(UUID promotionId) {
    return instant(
        h.db()
            .row("SELECT expired_at FROM listing_promotions WHERE id = ?", promotionId)
            .orElseThrow()
            .get("expired_at"));
  }

  private static List<Instant> times(UUID promotionId) {
    Map<String, Object> row =
        h.db()
            .row("SELECT starts_at, expires_at FROM listing_promotions WHERE id = ?", promotionId)
            .orElseThrow();
    return List.of(instant(row.get("starts_at")), instant(row.get("expires_at")));
  }

  private static Instant instant(Object value) {
    return switch (value) {
      case null -> null;
      case Instant i -> i;
      case OffsetDateTime o -> o.toInstant();
      case java.sql.Timestamp t -> t.toInstant();
      case JsonNode n -> n.isNull() ? null : Instant.parse(n.asText());
      default -> throw new IllegalArgumentException("not a time: " + value.getClass());
    };
  }

  private static String awaitForwarded(String type, String objectId) {
    return Await.value(
        Harness.WAIT,
        type + " of " + objectId,
        () -> h.webhooks().forwarded(type, objectId).stream().findFirst());
  }
}
