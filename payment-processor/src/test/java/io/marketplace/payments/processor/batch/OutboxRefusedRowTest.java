package io.marketplace.payments.processor.batch;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.common.db.Writes;
import io.marketplace.payments.common.kafka.KafkaConfig;
import io.marketplace.payments.common.kafka.RecordHeaders;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.common.outbox.Destination;
import io.marketplace.payments.common.outbox.Outbox;
import io.marketplace.payments.common.outbox.OutboxRelay;
import io.marketplace.payments.embedded.KafkaTopics;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.KafkaTestClient;
import io.marketplace.payments.testsupport.TestDatabase;
import io.marketplace.payments.testsupport.TestInfra;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.IntStream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A row the broker refuses (here: one too large for its topic) holds back only the events of its
 * own key, in order, until the broker takes it; every other event is published, once, meanwhile:
 * also the messages of its own row the broker took, and a later event of its key is held already in
 * the pass that first meets the refusal. While it is left behind, {@code
 * payments_outbox_stalled_seconds} grows, for the OutboxRelayStalled alert (also when another
 * replica's relay holds the lock), and the row is in the backlog; the seconds fall back once it is
 * published.
 */
class OutboxRefusedRowTest {

  private static final Duration WAIT = Duration.ofSeconds(30);

  /** How long a relay's pass waits for the broker (OutboxRelay.SEND_TIMEOUT). */
  private static final Duration SEND_TIMEOUT = Duration.ofSeconds(30);

  private final TestDatabase db = TestInfra.freshDatabase();
  private final Topics topics = TestInfra.freshTopics();
  private final KafkaConfig kafka = TestInfra.kafkaConfig(topics);
  private final KafkaTestClient client = TestInfra.kafkaClient();

  @AfterEach
  void closeClient() {
    client.close();
  }

  @Test
  void shouldHoldBackOnlyTheRefusedRowsKeyAndPublishItInOrderOnceTheBrokerTakesIt() {
    // Given a topic that refuses records over 1,000 bytes, and two events of listing A: a small
    // one, then one too large (random, so that no compression makes it fit)
    String topic = topics.paymentEvents().name();
    TestInfra.setMaxMessageBytes(topic, 1_000);
    UUID first = append("listing-a", "{\"n\":1}");
    UUID refused = append("listing-a", "{\"n\":2,\"pad\":\"" + randomText(3_000) + "\"}");
    SimpleMeterRegistry registry = new SimpleMeterRegistry();

    try (var relay = startRelay(registry, "refused")) {
      // When the relay publishes them
      // Then the small one is published and leaves the outbox; the refused one waits, its failure
      // noted
      Await.until(WAIT, "the refused row's first failure noted", () -> attempts(refused) >= 1);
      Await.until(WAIT, "the published row gone", () -> rowsOf(first) == 0);

      // When a third event of listing A and one of listing B are written while it is refused
      UUID third = append("listing-a", "{\"n\":3}");
      UUID other = append("listing-b", "{\"n\":1}");

      // Then listing B's is published, and listing A's third waits behind the refused one
      client.awaitRecord(topic, r -> eventId(r).equals(other.toString()), WAIT);
      long attemptsSoFar = attempts(refused);
      Await.until(
          WAIT,
          "two more passes over the refused row",
          () -> attempts(refused) >= attemptsSoFar + 2);
      List<String> published =
          client.readAll(topic).stream().map(OutboxRefusedRowTest::eventId).toList();
      assertThat(published)
          .as("each event published once, listing A's third not before the refused one")
          .containsExactlyInAnyOrder(first.toString(), other.toString());
      assertThat(rowsOf(third)).isEqualTo(1);

      // When the topic takes large records again
      TestInfra.setMaxMessageBytes(topic, Topics.MAX_MESSAGE_BYTES);

      // Then listing A's events are on the topic in the order they were written
      db.awaitOutboxPublished(WAIT);
      List<String> listingA =
          client.readAll(topic).stream()
              .filter(r -> "listing-a".equals(r.key()))
              .map(OutboxRefusedRowTest::eventId)
              .toList();
      assertThat(listingA).containsExactly(first.toString(), refused.toString(), third.toString());
      Await.until(
          WAIT, "payments.outbox.stalled back under 1 s", () -> stalledSeconds(registry) < 1);
    }
  }

  @Test
  void shouldPublishAnAcknowledgedMessageOfARowOnceWhileASiblingOnAnotherKeyIsRefused() {
    // Given a topic that refuses records over 1,000 bytes, and one row of many messages (as the
    // processor writes a transaction's): a small one of listing A, then one of listing B too
    // large, then a small one of listing B
    String topic = topics.paymentEvents().name();
    TestInfra.setMaxMessageBytes(topic, 1_000);
    OutboxRows.Row small = message("listing-a", "{\"n\":1}");
    OutboxRows.Row large = message("listing-b", "{\"n\":2,\"pad\":\"" + randomText(3_000) + "\"}");
    OutboxRows.Row behind = message("listing-b", "{\"n\":3}");
    appendRow(List.of(small, large, behind));

    try (var relay = startRelay(new SimpleMeterRegistry(), "partly-refused")) {
      // When the broker refuses the row's large message pass after pass
      Await.until(WAIT, "three failures of the row noted", () -> attempts(large.id()) >= 3);

      // Then listing A's message is on the topic once, not once per try, and listing B's small
      // one waits behind its refused one
      assertThat(eventIds(topic))
          .as("the acknowledged message published once; nothing of listing B yet")
          .containsExactly(small.id().toString());
      assertThat(rowsOf(large.id())).isEqualTo(1);

      // When the topic takes large records again
      TestInfra.setMaxMessageBytes(topic, Topics.MAX_MESSAGE_BYTES);

      // Then the rest of the row is published, in order, and listing A's message not again
      db.awaitOutboxPublished(WAIT);
      assertThat(eventIds(topic))
          .containsExactlyInAnyOrder(
              small.id().toString(), large.id().toString(), behind.id().toString());
      assertThat(eventIdsOf(topic, "listing-b"))
          .containsExactly(large.id().toString(), behind.id().toString());
    }
  }

  @Test
  void shouldHoldALaterRowOfTheKeyWhenItsEarlierRowIsFirstRefusedInTheSamePass() {
    // Given a topic that refuses records over 1,000 bytes, and, before the relay starts, so that
    // one pass reads them all: a too large event of listing A, a small one of listing A after it,
    // and one of listing B
    String topic = topics.paymentEvents().name();
    TestInfra.setMaxMessageBytes(topic, 1_000);
    UUID refused = append("listing-a", "{\"n\":1,\"pad\":\"" + randomText(3_000) + "\"}");
    UUID later = append("listing-a", "{\"n\":2}");
    UUID other = append("listing-b", "{\"n\":1}");

    try (var relay = startRelay(new SimpleMeterRegistry(), "first-refusal")) {
      // When the broker refuses listing A's first event for the first time
      Await.until(WAIT, "the refused row's failure noted", () -> attempts(refused) >= 1);
      client.awaitRecord(topic, r -> eventId(r).equals(other.toString()), WAIT);
      Await.until(WAIT, "two more failures noted", () -> attempts(refused) >= 3);

      // Then listing A's later event has not overtaken it: it waits in the outbox
      assertThat(eventIdsOf(topic, "listing-a")).as("nothing of listing A published").isEmpty();
      assertThat(rowsOf(later)).isEqualTo(1);

      // When the topic takes large records again
      TestInfra.setMaxMessageBytes(topic, Topics.MAX_MESSAGE_BYTES);

      // Then listing A's events arrive in the order they were written
      db.awaitOutboxPublished(WAIT);
      assertThat(eventIdsOf(topic, "listing-a"))
          .containsExactly(refused.toString(), later.toString());
    }
  }

  @Test
  void shouldKeepARowForADestinationItDoesNotKnowAsRefusedAndPublishTheOthers() {
    // Given a row a newer version wrote for a destination this one does not know, then a row of
    // many messages with one more such message in it, then an ordinary row of another key
    String topic = topics.paymentEvents().name();
    UUID unknown = UUID.randomUUID();
    db.execute(
        """
        INSERT INTO outbox_events (event_id, destination, message_key, event_type, payload)
        VALUES (?, 'NEW_TOPIC', 'listing-x', 'listing.activated', '{}')
        """,
        unknown);
    UUID known = UUID.randomUUID();
    UUID unknownOfMany = UUID.randomUUID();
    db.execute(
        """
        INSERT INTO outbox_events
            (batch_ids, batch_destinations, batch_keys, batch_types, batch_payloads)
        VALUES (ARRAY[?, ?]::uuid[], ARRAY['PAYMENT_EVENTS', 'NEW_TOPIC'],
                ARRAY['listing-c', 'listing-y'], ARRAY['listing.activated', 'listing.activated'],
                '{}' || E'\\x1e' || '{}')
        """,
        known,
        unknownOfMany);
    UUID other = append("listing-b", "{\"n\":1}");
    SimpleMeterRegistry registry = new SimpleMeterRegistry();

    try (var relay = startRelay(registry, "unknown-destination")) {
      // When the relay meets them pass after pass
      Await.until(WAIT, "three failures of the unknown row noted", () -> attempts(unknown) >= 3);

      // Then the others are published, each once, and the unknown ones kept with their error, in
      // the backlog, for the OutboxRelayStalled alert
      client.awaitRecord(topic, r -> eventId(r).equals(other.toString()), WAIT);
      assertThat(eventIds(topic)).containsExactlyInAnyOrder(known.toString(), other.toString());
      assertThat(rowsOf(other)).isZero();
      assertThat(lastError(unknown)).contains("NEW_TOPIC");
      assertThat(lastError(unknownOfMany)).contains("NEW_TOPIC");
      assertThat(attempts(unknownOfMany)).isPositive();
      Await.until(
          WAIT,
          "the backlog gauge: the two rows left waiting",
          () -> registry.get("payments.outbox.backlog").gauge().value() == 2);
    }
  }

  @Test
  void shouldReportTheSecondsSinceItsLastPassWhileEveryPassFailsAndRecoverOncePublished() {
    // Given a payment event in the outbox, and a topic that refuses every record
    String topic = topics.paymentEvents().name();
    TestInfra.setMaxMessageBytes(topic, 16);
    append("listing-1", "{\"listingId\":\"listing-1\"}");
    SimpleMeterRegistry registry = new SimpleMeterRegistry();

    try (var relay = startRelay(registry, "stall")) {
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
    UUID eventId = append("listing-2", "{\"listingId\":\"listing-2\"}");
    db.execute(
        "UPDATE outbox_events SET created_at = now() - interval '10 minutes' WHERE event_id = ?",
        eventId);
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (Connection otherReplica = db.dataSource().getConnection()) {
      otherReplica.setAutoCommit(false);
      try (Statement lock = otherReplica.createStatement()) {
        lock.execute("SELECT pg_advisory_xact_lock(" + 0x6f7574626f78L + ")");
      }
      try (var relay = startRelay(registry, "stall-2")) {
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

  @Test
  void shouldGiveUpOnATopicThatDoesNotExistWithinTheSendTimeoutAndPublishTheOthers() {
    // Given topics of which only payment events exists (the broker creates none on its own), rows
    // for refund commands under several keys, and then a payment event
    Topics partly = Topics.withPrefix(TestInfra.uniqueName("partly") + ".");
    KafkaTopics.createTopics(
        client.bootstrapServers(),
        Map.of(partly.paymentEvents().name(), partly.paymentEvents().partitions()),
        Topics.configs());
    List<UUID> commands =
        IntStream.range(0, 8)
            .mapToObj(
                i -> {
                  UUID id = UUID.randomUUID();
                  db.jdbi()
                      .useTransaction(
                          tx ->
                              Outbox.append(
                                  tx, Destination.REFUND_COMMANDS, id, "refund-" + i, "t", "{}"));
                  return id;
                })
            .toList();
    UUID event = append("listing-a", "{\"n\":1}");
    long started = System.nanoTime();

    // When a relay with the services' producer settings publishes them
    try (Producer<String, byte[]> producer =
            new KafkaProducer<>(
                OutboxRelay.producerSettings(TestInfra.kafkaConfig(partly), "outbox-missing"));
        var relay =
            new OutboxRelay(
                    db.jdbi(),
                    producer,
                    partly,
                    Duration.ofMillis(50),
                    new SimpleMeterRegistry(),
                    "missing")
                .start()) {
      // Then within the relay's send timeout (30 s) it gives up on the missing topic: every row
      // for it is kept, refused, with the producer's error, and the payment event is published
      Await.until(
          SEND_TIMEOUT,
          "every refund command refused and the payment event published",
          () -> commands.stream().allMatch(id -> attempts(id) >= 1) && rowsOf(event) == 0);
      assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(SEND_TIMEOUT);
      assertThat(lastError(commands.getFirst())).contains("TimeoutException");
      assertThat(eventIds(partly.paymentEvents().name())).containsExactly(event.toString());
    }
  }

  /** A relay of this test's outbox and topics with its own producer, started. */
  private record RunningRelay(Producer<String, byte[]> producer, OutboxRelay relay)
      implements AutoCloseable {
    @Override
    public void close() {
      relay.close();
      producer.close();
    }
  }

  private RunningRelay startRelay(SimpleMeterRegistry registry, String name) {
    Producer<String, byte[]> producer =
        new KafkaProducer<>(OutboxRelay.producerSettings(kafka, "outbox-" + name));
    return new RunningRelay(
        producer,
        new OutboxRelay(db.jdbi(), producer, topics, Duration.ofMillis(50), registry, name)
            .start());
  }

  private static double stalledSeconds(SimpleMeterRegistry registry) {
    return registry.get("payments.outbox.stalled").gauge().value();
  }

  private UUID append(String key, String json) {
    UUID id = UUID.randomUUID();
    db.jdbi()
        .useTransaction(
            tx ->
                Outbox.append(tx, Destination.PAYMENT_EVENTS, id, key, "listing.activated", json));
    return id;
  }

  private static OutboxRows.Row message(String key, String json) {
    return new OutboxRows.Row(
        UUID.randomUUID(), Destination.PAYMENT_EVENTS, key, "listing.activated", json);
  }

  /** Appends {@code messages} as one outbox row, as the processor writes a transaction's. */
  private void appendRow(List<OutboxRows.Row> messages) {
    db.jdbi()
        .useTransaction(
            tx -> new Writes().add(OutboxRows.insert(messages).orElseThrow()).execute(tx));
  }

  private List<String> eventIds(String topic) {
    return client.readAll(topic).stream().map(OutboxRefusedRowTest::eventId).toList();
  }

  private List<String> eventIdsOf(String topic, String key) {
    return client.readAll(topic).stream()
        .filter(r -> key.equals(r.key()))
        .map(OutboxRefusedRowTest::eventId)
        .toList();
  }

  private static String randomText(int bytes) {
    byte[] random = new byte[bytes];
    new SecureRandom().nextBytes(random);
    return Base64.getEncoder().encodeToString(random);
  }

  /** The attempts of the row holding {@code eventId}, one of its own or of many; 0 once gone. */
  private long attempts(UUID eventId) {
    return db.row(
            "SELECT attempts FROM outbox_events WHERE event_id = ? OR ? = ANY(batch_ids)",
            eventId,
            eventId)
        .map(r -> ((Number) r.get("attempts")).longValue())
        .orElse(0L);
  }

  private String lastError(UUID eventId) {
    return db.row(
            "SELECT last_error FROM outbox_events WHERE event_id = ? OR ? = ANY(batch_ids)",
            eventId,
            eventId)
        .map(r -> (String) r.get("last_error"))
        .orElseThrow();
  }

  private long rowsOf(UUID eventId) {
    return db.count("outbox_events WHERE event_id = ? OR ? = ANY(batch_ids)", eventId, eventId);
  }

  private static String eventId(ConsumerRecord<String, byte[]> record) {
    return KafkaTestClient.header(record, RecordHeaders.EVENT_ID).orElseThrow();
  }
}
