package io.marketplace.payments.refunds.promotion;

import static io.marketplace.payments.refunds.promotion.FeaturedWeeks.WEEK;
import static io.marketplace.payments.refunds.promotion.FeaturedWeeks.instant;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.refund.RefundDao;
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
 * A featured week that a refund of its payment ended, the refund then failed at Stripe (the money
 * never went back): the customer paid for the week and gets back what was left of it, once, as a
 * new week at the end of the listing's featured weeks, announced as {@code promotion.created}, as
 * for a won dispute. In the other order (the refund recorded before the success, the purchase held
 * back) the failure delivers the week; both end with the listing featured for the week paid for. An
 * admin's retry that refunds after all ends the week given back.
 */
class FeaturedWeekRefundFailedTest {

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
  void shouldGiveBackTheWeekARefundEndedOnceWhenStripeFailsTheRefundHoweverOftenItIsTold() {
    // Given a listing featured for two days, with a second week bought to follow the first
    var listing = h.paidListing(Duration.ofDays(3));
    Instant startedAt = weeks.now().minus(Duration.ofDays(2));
    Week running = weeks.buy(listing, startedAt);
    Week bought = weeks.buy(listing, startedAt.plus(WEEK));
    // and the second week's payment refunded in full by an admin: the week ends before it began
    UUID refundId = refundInFull(listing, bought);
    assertThat(weeks.expiredAt(bought.id())).isNotNull();
    assertThat(h.paymentEvents("promotion.expired", bought.id().toString())).hasSize(1);

    // When Stripe fails the refund (told as charge.refund.updated, refund.updated, refund.failed)
    // and tells its failure once more under another event id
    h.advanceClock(Duration.ofHours(1));
    String failed = failAtStripe(refundId);
    h.webhooks().publish(StripeFixtures.withNewEventId(failed));
    h.awaitStripeEventsApplied();

    // Then the refund is failed, and the whole week is given back once, after the running one, as
    // the payment processor delivers a week held back when such a refund fails first
    assertThat(h.awaitRefund(bought.paymentIntentId(), "failed")).containsEntry("id", refundId);
    UUID givenId = givenBack(listing, Set.of(running.id(), bought.id()));
    assertThat(weeks.times(givenId))
        .containsExactly(startedAt.plus(WEEK), startedAt.plus(WEEK.multipliedBy(2)));
    assertThat(weeks.expiredAt(givenId)).isNull();
    assertThat(weeks.restores(givenId)).isEqualTo(bought.id());
    // and announced once, as the schema says, paid by the refunded payment, for the same times
    List<JsonNode> created = h.paymentEvents("promotion.created", givenId.toString());
    assertThat(created).hasSize(1);
    JsonNode event = created.getFirst();
    assertThat(EventSchemas.violations("promotion.created", Json.write(event))).isEmpty();
    assertThat(event.at("/data/paymentIntentId").asText()).isEqualTo(bought.paymentIntentId());
    assertThat(event.at("/data/amountCents").asLong()).isEqualTo(500);
    assertThat(List.of(instant(event.at("/data/startsAt")), instant(event.at("/data/expiresAt"))))
        .isEqualTo(weeks.times(givenId));
    // and the ended week stays ended, the running one untouched
    assertThat(h.paymentEvents("promotion.expired", bought.id().toString())).hasSize(1);
    assertThat(weeks.times(running.id())).containsExactly(startedAt, startedAt.plus(WEEK));
    assertThat(weeks.expiredAt(running.id())).isNull();
  }

  @Test
  void shouldEndTheWeekGivenBackWhenAnAdminsRetryRefundsAfterAllAndGiveNothingForALateTwin() {
    // Given a running week refunded in full, the refund failed at Stripe: the week is given back
    var listing = h.paidListing(Duration.ofDays(3));
    Week running = weeks.buy(listing, weeks.now().minus(Duration.ofDays(1)));
    UUID refundId = refundInFull(listing, running);
    Instant endedAt = weeks.expiredAt(running.id());
    Duration left = Duration.between(endedAt, running.expiresAt());
    h.advanceClock(Duration.ofHours(1));
    Instant failedAt = weeks.now();
    String failed = failAtStripe(refundId);
    h.awaitStripeEventsApplied();
    UUID givenId = givenBack(listing, Set.of(running.id()));
    List<Instant> givenTimes = weeks.times(givenId);
    assertThat(givenTimes.getFirst()).isAfterOrEqualTo(failedAt);
    assertThat(Duration.between(givenTimes.getFirst(), givenTimes.getLast())).isEqualTo(left);

    // When an admin retries the refund, as checkout-api does, and Stripe makes it this time
    h.advanceClock(Duration.ofHours(1));
    assertThat(h.db().jdbi().onDemand(RefundDao.class).retryFailed(refundId, h.now())).isOne();
    assertThat(h.executor().execute(refundId).isProcessed()).isTrue();
    // and Stripe's failure of the first attempt is told once more, late
    h.webhooks().publish(StripeFixtures.withNewEventId(failed));
    h.awaitStripeEventsApplied();

    // Then the week given back ends with the money, announced once, and nothing more is given
    assertThat(h.awaitRefund(running.paymentIntentId(), "processed")).containsEntry("attempt", 1);
    assertThat(weeks.expiredAt(givenId)).isNotNull().isBefore(givenTimes.getLast());
    assertThat(h.paymentEvents("promotion.expired", givenId.toString())).hasSize(1);
    assertThat(weeks.besides(listing.listingId(), Set.of(running.id(), givenId))).isEmpty();
    assertThat(h.paymentEvents("promotion.created", listing.listingId().toString()))
        .extracting(e -> e.at("/data/promotionId").asText())
        .containsExactly(givenId.toString());
  }

  @Test
  void shouldGiveBackTheWeekAChargebackEndedWhenTheRefundCountedWithItFails() {
    // Given a listing featured for two days, whose week's payment (500) is refunded in part (200)
    // from Stripe's dashboard, then charged back for the rest (300): the chargeback is the last of
    // the money, and the week ends
    var listing = h.paidListing(Duration.ofDays(3));
    Week running = weeks.buy(listing, weeks.now().minus(Duration.ofDays(2)));
    String refundId = StripeFixtures.newId("re");
    h.webhooks()
        .publish(
            StripeFixtures.event(
                "refund.created",
                StripeFixtures.refund(
                    refundId, running.paymentIntentId(), 200, "succeeded", Map.of())));
    h.awaitStripeEventsApplied();
    assertThat(weeks.expiredAt(running.id())).isNull();
    h.advanceClock(Duration.ofHours(1));
    h.webhooks()
        .publish(
            StripeFixtures.event(
                "charge.dispute.created",
                StripeFixtures.dispute(
                    StripeFixtures.newId("du"), running.paymentIntentId(), 300, "needs_response")));
    h.awaitStripeEventsApplied();
    Instant endedAt = weeks.expiredAt(running.id());
    assertThat(endedAt).isNotNull();
    Duration left = Duration.between(endedAt, running.expiresAt());

    // When Stripe fails the refund: the customer, with 200 of the 500 with us, paid for the week
    h.advanceClock(Duration.ofHours(1));
    h.webhooks()
        .publish(
            StripeFixtures.event(
                "refund.failed",
                StripeFixtures.refund(
                    refundId, running.paymentIntentId(), 200, "failed", Map.of())));
    h.awaitStripeEventsApplied();

    // Then what was left of the week is given back once, as if the refund had never counted (then
    // the chargeback alone would have left the week running)
    UUID givenId = givenBack(listing, Set.of(running.id()));
    assertThat(weeks.restores(givenId)).isEqualTo(running.id());
    List<Instant> givenTimes = weeks.times(givenId);
    assertThat(Duration.between(givenTimes.getFirst(), givenTimes.getLast())).isEqualTo(left);
    assertThat(h.paymentEvents("promotion.created", givenId.toString())).hasSize(1);
  }

  @Test
  void shouldGiveNothingBackForAWeekThatRanOutBeforeItsRefundFailed() {
    // Given a week that ran out, ended by the expirer, then refunded in full
    var listing = h.paidListing(Duration.ofDays(10));
    Week ranOut = weeks.buy(listing, weeks.now().minus(Duration.ofDays(8)));
    h.db()
        .execute(
            "UPDATE listing_promotions SET expired_at = ?, end_cause = 'expired' WHERE id = ?",
            ranOut.expiresAt(),
            ranOut.id());
    UUID refundId = refundInFull(listing, ranOut);

    // When Stripe fails the refund
    failAtStripe(refundId);
    h.awaitStripeEventsApplied();

    // Then the refund is failed, and nothing is given back: the week was used up
    h.awaitRefund(ranOut.paymentIntentId(), "failed");
    assertThat(weeks.besides(listing.listingId(), Set.of(ranOut.id()))).isEmpty();
    assertThat(h.paymentEvents("promotion.created", listing.listingId().toString())).isEmpty();
  }

  /** An admin's refund of all of the week's payment, made at Stripe: returns the record's id. */
  private static UUID refundInFull(Harness.Paid listing, Week week) {
    UUID refundId =
        h.approvedRefund(
            new Harness.Paid(listing.userId(), listing.listingId(), week.paymentIntentId(), 500),
            500);
    assertThat(h.executor().execute(refundId).isProcessed()).isTrue();
    return refundId;
  }

  /** Stripe fails the refund's Stripe refund after making it; returns its refund.failed event. */
  private static String failAtStripe(UUID refundId) {
    String stripeRefundId =
        (String)
            h.db()
                .row("SELECT stripe_refund_id FROM payment_refunds WHERE id = ?", refundId)
                .orElseThrow()
                .get("stripe_refund_id");
    h.emulator().failRefund(stripeRefundId);
    return weeks.awaitForwarded("refund.failed", stripeRefundId);
  }

  /** The one week given back on the listing, besides {@code known}. */
  private static UUID givenBack(Harness.Paid listing, Set<UUID> known) {
    List<Map<String, Object>> given = weeks.besides(listing.listingId(), known);
    assertThat(given).singleElement();
    return (UUID) given.getFirst().get("id");
  }
}
