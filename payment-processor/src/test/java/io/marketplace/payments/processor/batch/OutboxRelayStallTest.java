package io.marketplace.payments.processor.batch;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.common.kafka.KafkaConfig;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.common.outbox.Destination;
import io.marketplace.payments.common.outbox.Outbox;
import io.marketplace.payments.common.outbox.OutboxRelay;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.KafkaTestClient;
import io.marketplace.payments.testsupport.TestDatabase;
import io.marketplace.payments.testsupport.TestInfra;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.UUID;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A relay that leaves a row behind (here: a row the broker refuses, as it refuses one too large for
 * the topic) reports {@code payments_outbox_stalled_seconds} growing, for the OutboxRelayStalled
 * alert, and the row in its backlog; the seconds fall back once the relay publishes it.
 */
class OutboxRelayStallTest {

  private static final Duration WAIT = Duration.ofSeconds(30);

  private final TestDatabase db = TestInfra.freshDatabase();
  private final Topics topics = TestInfra.freshTopics();
  private final KafkaConfig kafka = TestInfra.kafkaConfig(topics);
  private final KafkaTestClient client = TestInfra.kafkaClient();

  @AfterEach
  void closeClient() {
    client.close();
  }

  @Test
  void shouldReportTheSecondsSinceItsLastPassWhileEveryPassFailsAndRecoverOncePublished() {
    // Given a payment event in the outbox, and a topic that refuses every record
    String topic = topics.paymentEvents().name();
    TestInfra.setMaxMessageBytes(topic, 16);
    UUID eventId = UUID.randomUUID();
    db.jdbi()
        .useTransaction(
            tx ->
                Outbox.append(
                    tx,
                    Destination.PAYMENT_EVENTS,
                    eventId,
                    "listing-1",
                    "listing.activated",
                    "{\"listingId\":\"listing-1\"}"));
    SimpleMeterRegistry registry = new SimpleMeterRegistry();

    try (var producer = new KafkaProducer<String, byte[]>(kafka.producer("outbox-stall-test"));
        var relay =
            new OutboxRelay(
                    db.jdbi(), producer, topics, Duration.ofMillis(50), registry, "outbox-stall")
                .start()) {
      // When every pass fails
      // Then the relay reports the time since its last completed pass, growing, and the row waits
      Await.until(
          WAIT,
          "payments.outbox.stalled to pass 3 s while the broker refuses the row",
          () -> stalledSeconds(registry) >= 3);
      assertThat(db.count("outbox_events")).isEqualTo(1);
      assertThat(registry.get("payments.outbox.backlog").gauge().value())
          .as("the backlog gauge: the row left waiting")
          .isEqualTo(1);

      // When the topic takes records again
      TestInfra.setMaxMessageBytes(topic, Topics.MAX_MESSAGE_BYTES);

      // Then the row is published under its id and the stall is over
      client.awaitRecord(topics.paymentEvents(), r -> "listing-1".equals(r.key()), WAIT);
      db.awaitOutboxPublished(WAIT);
      Await.until(
          WAIT, "payments.outbox.stalled back under 1 s", () -> stalledSeconds(registry) < 1);
    }
  }

  @Test
  void shouldNotCountPassesThatFindAnotherRelayAtWorkWhileARowIsLeftBehind() throws Exception {
    // Given another replica's relay holding the outbox's lock, and a row written minutes ago
    // still in the outbox (the other relay cannot get the broker to take it)
    UUID eventId = UUID.randomUUID();
    db.jdbi()
        .useTransaction(
            tx ->
                Outbox.append(
                    tx,
                    Destination.PAYMENT_EVENTS,
                    eventId,
                    "listing-2",
                    "listing.activated",
                    "{\"listingId\":\"listing-2\"}"));
    db.execute(
        "UPDATE outbox_events SET created_at = now() - interval '10 minutes' WHERE event_id = ?",
        eventId);
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (Connection otherReplica = db.dataSource().getConnection()) {
      otherReplica.setAutoCommit(false);
      try (Statement lock = otherReplica.createStatement()) {
        lock.execute("SELECT pg_advisory_xact_lock(" + 0x6f7574626f78L + ")");
      }
      try (var producer = new KafkaProducer<String, byte[]>(kafka.producer("outbox-stall-test-2"));
          var relay =
              new OutboxRelay(
                      db.jdbi(), producer, topics, Duration.ofMillis(50), registry, "stall-2")
                  .start()) {
        // When this relay's passes find the lock taken
        // Then they do not count as completed: its stall gauge grows, for the alert
        Await.until(
            WAIT,
            "payments.outbox.stalled to pass 3 s while the row is left behind",
            () -> stalledSeconds(registry) >= 3);
        assertThat(db.count("outbox_events WHERE event_id = ?", eventId)).isOne();

        // When the other relay lets go, this one publishes the row, and its gauge falls back
        otherReplica.rollback();
        client.awaitRecord(topics.paymentEvents(), r -> "listing-2".equals(r.key()), WAIT);
        Await.until(
            WAIT, "payments.outbox.stalled back under 1 s", () -> stalledSeconds(registry) < 1);
      }
    }
  }

  private static double stalledSeconds(SimpleMeterRegistry registry) {
    return registry.get("payments.outbox.stalled").gauge().value();
  }
}
