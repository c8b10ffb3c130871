package io.marketplace.payments.processor;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.common.kafka.RecordHeaders;
import io.marketplace.payments.processor.support.ProcessorFixture;
import io.marketplace.payments.testsupport.KafkaTestClient;
import io.marketplace.payments.testsupport.StripeFixtures;
import io.marketplace.payments.testsupport.TestInfra;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Stripe re-delivers and operators replay: each Stripe event takes effect once. */
class ExactlyOnceTest {

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
  void shouldApplyOnceWhenTheSameEventIsDeliveredThreeTimes() {
    // Given a paid posting fee whose event Stripe delivers three times
    UUID listing = world.listing("pending_payment");
    String pi = world.payment(listing, "posting_fee", 500);
    var event = StripeFixtures.succeeded(pi, 500, world.metadataFor(listing, "posting_fee"));
    double countedBefore =
        world.metric("homepage_payments_succeeded_total", "type=\"posting_fee\"");

    // When the three copies are consumed
    world.deliver(event);
    world.deliver(event);
    world.deliver(event);
    world.awaitConsumedUpTo(pi);
    world.awaitOutboxPublished();

    // Then the effect happened once: one audit row, one applied record, two events published once
    assertThat(world.db.count("webhook_events WHERE event_id = ?", event.eventId())).isEqualTo(1);
    assertThat(world.db.count("processed_events WHERE event_key = ?", event.eventId()))
        .isEqualTo(1);
    assertThat(world.listingRow(listing)).containsEntry("status", "active");
    assertThat(world.paymentEvents(listing))
        .extracting(e -> e.get("type"))
        .containsExactly("payment.succeeded", "listing.activated");
    // And the payment is counted once
    assertThat(world.metric("homepage_payments_succeeded_total", "type=\"posting_fee\""))
        .isEqualTo(countedBefore + 1);
  }

  @Test
  void shouldApplyOnceWhenTwoEventsAnnounceTheSameSuccess() {
    // Given a featured purchase whose success Stripe reports under two event ids
    UUID listing = world.listing("active");
    String pi = world.payment(listing, "promotion_featured", 500);
    var meta = world.metadataFor(listing, "promotion_featured");
    var first = StripeFixtures.succeeded(pi, 500, meta);
    var second = StripeFixtures.succeeded(pi, 500, meta);

    // When both are consumed
    world.deliver(first);
    world.deliver(second);

    // Then one promotion exists, and the second event is audited as ignored
    assertThat(world.awaitOutcome(first.eventId())).containsEntry("status", "processed");
    assertThat(world.awaitOutcome(second.eventId())).containsEntry("status", "ignored");
    assertThat(world.db.count("listing_promotions WHERE listing_id = ?", listing)).isEqualTo(1);
    world.awaitOutboxPublished();
    assertThat(world.paymentEvents(listing)).hasSize(2);
  }

  @Test
  void shouldChangeNothingAndPublishNoNewIdsWhenTheWholeTopicIsReadAgain() throws Exception {
    // Given every kind of event applied, and published downstream
    UUID posting = world.listing("pending_payment");
    UUID featured = world.listing("active");
    UUID bumped = world.listing("active");
    UUID declined = world.listing("pending_payment");
    String lastPi = null;
    for (var event :
        List.of(
            StripeFixtures.succeeded(
                world.payment(posting, "posting_fee", 500),
                500,
                world.metadataFor(posting, "posting_fee")),
            StripeFixtures.succeeded(
                world.payment(featured, "promotion_featured", 500),
                500,
                world.metadataFor(featured, "promotion_featured")),
            StripeFixtures.succeeded(
                world.payment(bumped, "promotion_bump", 200),
                200,
                world.metadataFor(bumped, "promotion_bump")),
            StripeFixtures.paymentFailed(
                world.payment(declined, "posting_fee", 500),
                500,
                world.metadataFor(declined, "posting_fee")))) {
      world.deliver(event);
      world.awaitOutcome(event.eventId());
      lastPi = event.paymentIntentId();
    }
    world.awaitOutboxPublished();
    var before = world.state();
    List<String> publishedBefore = publishedIds();
    long appliedBefore = world.db.count("processed_events");

    // When an operator rewinds the consumer group to the start of the topic and it re-reads all
    world.stop();
    rewindToEarliest();
    world.start();
    world.awaitConsumedUpTo(lastPi);
    world.awaitOutboxPublished();

    // Then no state changed and nothing new was published: only the marker event was new
    assertThat(world.db.count("processed_events")).isEqualTo(appliedBefore + 1);
    var after = world.state();
    assertThat(after.get("listings")).isEqualTo(before.get("listings"));
    assertThat(after.get("payments")).isEqualTo(before.get("payments"));
    assertThat(after.get("promotions")).isEqualTo(before.get("promotions"));
    assertThat(after.get("published")).isEqualTo(before.get("published"));
    assertThat(publishedIds()).isEqualTo(publishedBefore);
  }

  private static List<String> publishedIds() {
    return world.kafka.readAll(world.topics.paymentEvents()).stream()
        .map(r -> KafkaTestClient.header(r, RecordHeaders.EVENT_ID).orElseThrow())
        .sorted()
        .toList();
  }

  private static void rewindToEarliest() throws Exception {
    try (Admin admin = Admin.create(TestInfra.kafkaConfig(world.topics).admin("rewind"))) {
      Map<TopicPartition, OffsetAndMetadata> earliest = new HashMap<>();
      for (int p = 0; p < world.topics.stripeEvents().partitions(); p++) {
        earliest.put(
            new TopicPartition(world.topics.stripeEvents().name(), p), new OffsetAndMetadata(0));
      }
      admin
          .alterConsumerGroupOffsets(world.config().consumer(), earliest)
          .all()
          .get(Duration.ofSeconds(20).toSeconds(), java.util.concurrent.TimeUnit.SECONDS);
    }
  }
}
