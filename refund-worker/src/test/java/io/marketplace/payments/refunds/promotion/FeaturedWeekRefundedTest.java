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
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A featured week whose money all went back (a refund made in Stripe's dashboard, an admin's
 * approved refund, a chargeback) ends at once, announced once as {@code promotion.expired}, and the
 * weeks bought to follow it move up so that the listing is featured, with no gap, only as long as
 * it is paid for. A part refunded leaves the week running.
 */
class FeaturedWeekRefundedTest {

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
  void shouldEndARunningWeekRefundedInStripesDashboardOnceAndMoveUpTheWeekAfterIt() {
    // Given a listing featured for two days now, with a second week bought to follow the first
    var listing = h.paidListing(Duration.ofDays(3));
    Instant startedAt = weeks.now().minus(Duration.ofDays(2));
    Week running = weeks.buy(listing, startedAt);
    Week next = weeks.buy(listing, startedAt.plus(WEEK));

    // When support refunds the running week in full in Stripe's dashboard, and Stripe tells it
    // twice, under two event ids
    Map<String, Object> refund = h.emulator().refundOutsideSystem(running.paymentIntentId(), null);
    String created = weeks.awaitForwarded("refund.created", (String) refund.get("id"));
    h.webhooks().publish(StripeFixtures.withNewEventId(created, "refund.updated"));
    h.awaitStripeEventsApplied();

    // Then the running week ended when the refund was recorded, its row kept
    Instant endedAt = weeks.expiredAt(running.id());
    assertThat(endedAt).isNotNull().isAfter(startedAt).isBefore(startedAt.plus(WEEK));
    // and the next week starts then, for its whole seven days
    assertThat(weeks.times(next.id())).containsExactly(endedAt, endedAt.plus(WEEK));
    assertThat(weeks.expiredAt(next.id())).isNull();
    // and the end is announced once, as the schema says, with the listing featured until the
    // next week ends
    List<JsonNode> expired = h.paymentEvents("promotion.expired", running.id().toString());
    assertThat(expired).hasSize(1);
    assertThat(EventSchemas.violations("promotion.expired", Json.write(expired.getFirst())))
        .isEmpty();
    assertThat(instant(expired.getFirst().at("/data/expiredAt"))).isEqualTo(endedAt);
    assertThat(instant(expired.getFirst().at("/data/listingFeaturedUntil")))
        .isEqualTo(endedAt.plus(WEEK));
    assertThat(h.paymentEvents("promotion.expired", next.id().toString())).isEmpty();
  }

  @Test
  void shouldLeaveAWeekRunningWhenOnlyPartOfItsMoneyWentBack() {
    // Given a listing featured since yesterday
    var listing = h.paidListing(Duration.ofDays(3));
    Instant startedAt = weeks.now().minus(Duration.ofDays(1));
    Week running = weeks.buy(listing, startedAt);

    // When support refunds 200 of its 500 cents in Stripe's dashboard
    Map<String, Object> refund = h.emulator().refundOutsideSystem(running.paymentIntentId(), 200L);
    weeks.awaitForwarded("refund.created", (String) refund.get("id"));
    h.awaitStripeEventsApplied();

    // Then the refund is recorded, and the week runs on, unannounced
    h.awaitRefund(running.paymentIntentId(), "processed");
    assertThat(weeks.expiredAt(running.id())).isNull();
    assertThat(weeks.times(running.id())).containsExactly(startedAt, startedAt.plus(WEEK));
    assertThat(h.paymentEvents("promotion.expired", running.id().toString())).isEmpty();
  }

  @Test
  void shouldEndAnAdminsApprovedRefundsWeekOnceWhenTheRefundIsProcessed() {
    // Given a listing featured since yesterday
    var listing = h.paidListing(Duration.ofDays(3));
    Week running = weeks.buy(listing, weeks.now().minus(Duration.ofDays(1)));

    // When an admin's refund of all of it is approved and executed, and executed again
    UUID refundId =
        h.approvedRefund(
            new Harness.Paid(listing.userId(), listing.listingId(), running.paymentIntentId(), 500),
            500);
    assertThat(h.executor().execute(refundId).isProcessed()).isTrue();
    h.executor().execute(refundId);

    // Then the week ended, and its end is announced once, with nothing featured after it
    assertThat(weeks.expiredAt(running.id())).isNotNull();
    List<JsonNode> expired = h.paymentEvents("promotion.expired", running.id().toString());
    assertThat(expired).hasSize(1);
    assertThat(expired.getFirst().at("/data/listingFeaturedUntil").isNull()).isTrue();
  }

  @Test
  void shouldEndAWeekNotBegunYetWhenItsPaymentIsDisputedAndMoveUpTheWeekAfterIt() {
    // Given a listing featured since yesterday, with two more weeks bought to follow
    var listing = h.paidListing(Duration.ofDays(3));
    Instant startedAt = weeks.now().minus(Duration.ofDays(1));
    Week running = weeks.buy(listing, startedAt);
    Week second = weeks.buy(listing, startedAt.plus(WEEK));
    Week third = weeks.buy(listing, startedAt.plus(WEEK.multipliedBy(2)));

    // When the second week's payment is disputed, and Stripe tells it again under another id
    String disputeId = h.emulator().openDispute(second.paymentIntentId());
    String created = weeks.awaitForwarded("charge.dispute.created", disputeId);
    h.webhooks().publish(StripeFixtures.withNewEventId(created));
    h.awaitStripeEventsApplied();

    // Then the second week ended before it began, once announced
    Instant endedAt = weeks.expiredAt(second.id());
    assertThat(endedAt).isNotNull().isBefore(startedAt.plus(WEEK));
    List<JsonNode> expired = h.paymentEvents("promotion.expired", second.id().toString());
    assertThat(expired).hasSize(1);
    assertThat(instant(expired.getFirst().at("/data/listingFeaturedUntil")))
        .isEqualTo(startedAt.plus(WEEK.multipliedBy(2)));
    // and the third takes its place, while the running week is untouched
    assertThat(weeks.times(third.id()))
        .containsExactly(startedAt.plus(WEEK), startedAt.plus(WEEK.multipliedBy(2)));
    assertThat(weeks.times(running.id())).containsExactly(startedAt, startedAt.plus(WEEK));
    assertThat(weeks.expiredAt(running.id())).isNull();
    assertThat(h.paymentEvents("promotion.expired", running.id().toString())).isEmpty();
  }
}
