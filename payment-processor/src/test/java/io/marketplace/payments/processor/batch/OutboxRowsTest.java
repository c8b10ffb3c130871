package io.marketplace.payments.processor.batch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.marketplace.payments.common.db.Writes;
import io.marketplace.payments.common.kafka.KafkaConfig;
import io.marketplace.payments.common.kafka.RecordHeaders;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.common.outbox.Destination;
import io.marketplace.payments.common.outbox.Outbox;
import io.marketplace.payments.common.outbox.OutboxRelay;
import io.marketplace.payments.testsupport.KafkaTestClient;
import io.marketplace.payments.testsupport.TestDatabase;
import io.marketplace.payments.testsupport.TestInfra;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.stream.IntStream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.Test;

/**
 * The processor writes a transaction's outbox messages as one row of many; the relay publishes them
 * as if each were a row of its own, in order with the single-message rows around them.
 */
class OutboxRowsTest {

  private static final Duration WAIT = Duration.ofSeconds(30);

  private final TestDatabase db = TestInfra.freshDatabase();
  private final Topics topics = TestInfra.freshTopics();
  private final KafkaConfig kafka = TestInfra.kafkaConfig(topics);
  private final KafkaTestClient client = TestInfra.kafkaClient();

  @Test
  void shouldPublishEveryMessageOfARowOfManyInOrderAmongSingleRows() {
    UUID before = UUID.randomUUID();
    UUID after = UUID.randomUUID();
    List<OutboxRows.Row> batch =
        IntStream.range(0, 3)
            .mapToObj(
                i ->
                    new OutboxRows.Row(
                        UUID.randomUUID(),
                        Destination.PAYMENT_EVENTS,
                        "listing-" + (i % 2),
                        "listing.activated",
                        // text the relay must send byte for byte: quotes, escapes, non-ASCII
                        "{\"n\":" + i + ",\"note\":\"caf\u00e9 \\\"quoted\\\" \\\\ back\"}"))
            .toList();
    db.jdbi()
        .useTransaction(
            tx -> {
              Outbox.append(tx, Destination.PAYMENT_EVENTS, before, "listing-0", "first", "{}");
              new Writes().add(OutboxRows.insert(batch).orElseThrow()).execute(tx);
              Outbox.append(tx, Destination.PAYMENT_EVENTS, after, "listing-1", "last", "{}");
            });
    assertThat(db.count("outbox_events")).isEqualTo(3);

    try (var producer =
            new KafkaProducer<String, byte[]>(
                OutboxRelay.producerSettings(kafka, "outbox-rows-test"));
        var relay =
            new OutboxRelay(
                    db.jdbi(),
                    producer,
                    topics,
                    Duration.ofMillis(50),
                    new SimpleMeterRegistry(),
                    "outbox-rows-test")
                .start()) {
      List<ConsumerRecord<String, byte[]>> records =
          client.awaitRecords(topics.paymentEvents(), 5, WAIT);
      db.awaitOutboxPublished(WAIT);

      List<String> ids = new ArrayList<>();
      records.forEach(r -> ids.add(RecordHeaders.get(r.headers(), RecordHeaders.EVENT_ID).get()));
      List<String> expected = new ArrayList<>();
      expected.add(before.toString());
      batch.forEach(m -> expected.add(m.id().toString()));
      expected.add(after.toString());
      // one key's records keep their order on its partition; across keys, compare as sets
      assertThat(ids).containsExactlyInAnyOrderElementsOf(expected);
      List<String> listingZero =
          records.stream()
              .filter(r -> r.key().equals("listing-0"))
              .map(r -> RecordHeaders.get(r.headers(), RecordHeaders.EVENT_ID).get())
              .toList();
      assertThat(listingZero)
          .containsExactly(
              before.toString(), batch.get(0).id().toString(), batch.get(2).id().toString());
      for (OutboxRows.Row message : batch) {
        ConsumerRecord<String, byte[]> record =
            records.stream()
                .filter(
                    r ->
                        RecordHeaders.get(r.headers(), RecordHeaders.EVENT_ID)
                            .orElseThrow()
                            .equals(message.id().toString()))
                .findFirst()
                .orElseThrow();
        assertThat(KafkaTestClient.text(record)).isEqualTo(message.json());
        assertThat(record.key()).isEqualTo(message.key());
        assertThat(RecordHeaders.get(record.headers(), RecordHeaders.EVENT_TYPE))
            .contains("listing.activated");
      }
      assertThat(db.count("outbox_events")).isZero();
    }
  }

  @Test
  void shouldRefuseARowThatIsNeitherOneMessageNorMany() {
    // two ids, one payload: a message without its payload would be published wrong
    assertThatThrownBy(
            () ->
                db.execute(
                    """
                    INSERT INTO outbox_events
                        (batch_ids, batch_destinations, batch_keys, batch_types, batch_payloads)
                    VALUES (ARRAY[gen_random_uuid(), gen_random_uuid()], ARRAY['PAYMENT_EVENTS',
                            'PAYMENT_EVENTS'], ARRAY['a', 'b'], ARRAY['t', 't'], '{}')
                    """))
        .hasMessageContaining("outbox_events_one_message_or_many");
    // both forms at once
    assertThatThrownBy(
            () ->
                db.execute(
                    """
                    INSERT INTO outbox_events (event_id, destination, message_key, event_type,
                        payload, batch_ids, batch_destinations, batch_keys, batch_types,
                        batch_payloads)
                    VALUES (gen_random_uuid(), 'PAYMENT_EVENTS', 'k', 't', '{}',
                            ARRAY[gen_random_uuid()], ARRAY['PAYMENT_EVENTS'], ARRAY['k'],
                            ARRAY['t'], '{}')
                    """))
        .hasMessageContaining("outbox_events_one_message_or_many");
    assertThat(db.count("outbox_events")).isZero();
  }
}
