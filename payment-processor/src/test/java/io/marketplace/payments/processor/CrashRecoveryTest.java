package io.marketplace.payments.processor;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.processor.support.ProcessorFixture;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.StripeFixtures;
import io.marketplace.payments.testsupport.TestInfra;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

/**
 * A worker killed after its database commit and before its offset commit loses and repeats nothing.
 */
class CrashRecoveryTest {

  private static final UUID POSTING = UUID.fromString("00000000-0000-4000-8000-000000000001");
  private static final UUID FEATURED = UUID.fromString("00000000-0000-4000-8000-000000000002");
  private static final UUID BUMPED = UUID.fromString("00000000-0000-4000-8000-000000000003");
  private static final UUID REJECTED = UUID.fromString("00000000-0000-4000-8000-000000000004");

  @Test
  void shouldLeaveTheSameStateAsOneCleanPassWhenKilledBetweenDatabaseAndOffsetCommit()
      throws Exception {
    List<StripeFixtures.Builder> events = events();
    Map<String, List<Map<String, Object>>> clean;
    Map<String, List<Map<String, Object>>> recovered;

    // Given the same purchases and events, applied once in a clean pass
    try (ProcessorFixture cleanWorld = new ProcessorFixture()) {
      seed(cleanWorld);
      events.forEach(cleanWorld::deliver);
      cleanWorld.start();
      events.forEach(e -> cleanWorld.awaitOutcome(e.eventId()));
      cleanWorld.awaitOutboxPublished();
      clean = cleanWorld.state();
    }

    try (ProcessorFixture world = new ProcessorFixture().workers(1)) {
      seed(world);
      events.forEach(world::deliver);

      // When the (only) worker dies right after committing its first batch to the database, before
      // it commits the batch's offsets
      AtomicBoolean killed = new AtomicBoolean();
      PaymentProcessor first =
          world.start(
              options ->
                  options.withBeforeOffsetCommit(
                      () -> {
                        if (killed.compareAndSet(false, true)) {
                          throw new IllegalStateException("killed between the two commits");
                        }
                      }));
      Await.until(ProcessorFixture.WAIT, "the worker to die", () -> !first.isHealthy());
      assertThat(world.db.count("processed_events")).isPositive();
      assertThat(committedOffsets(world)).isEmpty();
      world.stop();

      // And it is started again
      world.start();
      events.forEach(e -> world.awaitOutcome(e.eventId()));
      world.awaitOutboxPublished();
      recovered = world.state();
    }
    // Then the state is that of the clean pass, and each fact was published once, with the same
    // event id, key and body
    assertThat(recovered).isEqualTo(clean);
    assertThat(clean.get("published")).isNotEmpty();
  }

  @Test
  void shouldCommitEveryAppliedOffsetWhenStoppedSoThatNothingIsReadAgain() throws Exception {
    // Given a worker that applied one event (whose offset it then sent at once), then the others
    // right after it, within the interval at which it sends offsets
    List<StripeFixtures.Builder> events = events();
    try (ProcessorFixture world = new ProcessorFixture().workers(1)) {
      seed(world);
      world.deliver(events.getFirst());
      world.start();
      world.awaitOutcome(events.getFirst().eventId());
      events.stream().skip(1).forEach(world::deliver);
      events.forEach(e -> world.awaitOutcome(e.eventId()));

      // When it is stopped at once, the last offsets not yet sent
      world.stop();

      // Then its group's committed offsets are at the end of every partition it read
      long committed =
          committedOffsets(world).values().stream().mapToLong(OffsetAndMetadata::offset).sum();
      assertThat(committed).isEqualTo(events.size());
    }
  }

  private static List<StripeFixtures.Builder> events() {
    Instant at = Instant.parse("2026-03-02T09:59:30Z");
    return List.of(
        StripeFixtures.succeeded("pi_3PcrashPosting0000000001", 500, Map.of())
            .eventId("evt_3PcrashPosting0000000001")
            .created(at),
        StripeFixtures.succeeded("pi_3PcrashFeatured000000002", 500, Map.of())
            .eventId("evt_3PcrashFeatured000000002")
            .created(at),
        StripeFixtures.succeeded("pi_3PcrashBump0000000000003", 200, Map.of())
            .eventId("evt_3PcrashBump0000000000003")
            .created(at),
        StripeFixtures.succeeded("pi_3PcrashRejected000000004", 500, Map.of())
            .eventId("evt_3PcrashRejected000000004")
            .created(at),
        StripeFixtures.paymentFailed("pi_3PcrashPosting0000000001", 500, Map.of())
            .eventId("evt_3PcrashDeclined000000005")
            .created(at.minusSeconds(40)));
  }

  private static void seed(ProcessorFixture world) {
    world.listing(POSTING, UUID.nameUUIDFromBytes("u1".getBytes()), "pending_payment");
    world.listing(FEATURED, UUID.nameUUIDFromBytes("u2".getBytes()), "active");
    world.listing(BUMPED, UUID.nameUUIDFromBytes("u3".getBytes()), "active");
    world.listing(REJECTED, UUID.nameUUIDFromBytes("u4".getBytes()), "rejected");
    world.payment("pi_3PcrashPosting0000000001", POSTING, "posting_fee", 500);
    world.payment("pi_3PcrashFeatured000000002", FEATURED, "promotion_featured", 500);
    world.payment("pi_3PcrashBump0000000000003", BUMPED, "promotion_bump", 200);
    world.payment("pi_3PcrashRejected000000004", REJECTED, "posting_fee", 500);
  }

  private static Map<TopicPartition, OffsetAndMetadata> committedOffsets(ProcessorFixture world)
      throws Exception {
    try (Admin admin = Admin.create(TestInfra.kafkaConfig(world.topics).admin("offsets"))) {
      Map<TopicPartition, OffsetAndMetadata> all =
          admin
              .listConsumerGroupOffsets(world.config().consumer())
              .partitionsToOffsetAndMetadata()
              .get(20, TimeUnit.SECONDS);
      return all.entrySet().stream()
          .filter(e -> e.getKey().topic().equals(world.topics.stripeEvents().name()))
          .filter(e -> e.getValue() != null)
          .collect(java.util.stream.Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue));
    }
  }
}
