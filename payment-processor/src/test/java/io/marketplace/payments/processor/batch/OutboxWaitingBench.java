package io.marketplace.payments.processor.batch;

import io.marketplace.payments.common.db.Writes;
import io.marketplace.payments.common.kafka.KafkaConfig;
import io.marketplace.payments.common.kafka.RecordHeaders;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.common.outbox.Destination;
import io.marketplace.payments.common.outbox.OutboxRelay;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.KafkaTestClient;
import io.marketplace.payments.testsupport.TestDatabase;
import io.marketplace.payments.testsupport.TestInfra;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.junit.jupiter.api.Test;

/**
 * What an outbox relay reads while rows wait at the head of its outbox, and how soon it publishes
 * the rows of a healthy topic meanwhile: {@code waiting} rows of a destination this version does
 * not know (a topic refused), then a service committing an event every 20 ms for {@code seconds},
 * waking the relay after each commit as the services do. Prints the rows the passes read per second
 * (the relay's counter and PostgreSQL's tuples fetched from {@code outbox_events}), the CPU time of
 * the PostgreSQL server (Linux), and the events' latency from commit to the broker's timestamp. Not
 * a test: run it on its own, {@code ./mvnw -o -q -pl payment-processor -am verify
 * -Dtest=OutboxWaitingBench -Dsurefire.failIfNoSpecifiedTests=false [-Dbench.waiting=5000
 * -Dbench.seconds=20]}.
 */
class OutboxWaitingBench {

  @Test
  void run() {
    int waiting = Integer.getInteger("bench.waiting", 5_000);
    int seconds = Integer.getInteger("bench.seconds", 20);
    TestDatabase db = TestInfra.freshDatabase();
    Topics topics = TestInfra.freshTopics();
    KafkaConfig kafka = TestInfra.kafkaConfig(topics);
    db.execute(
        "INSERT INTO outbox_events (event_id, destination, message_key, event_type, payload)"
            + " SELECT gen_random_uuid(), 'SETTLEMENTS', 'user-' || g, 'settlement.made', '{}'"
            + " FROM generate_series(1, ?) AS g",
        waiting);
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    Map<String, Long> committedAt = new HashMap<>();
    double rowsRead;
    long fetched;
    double activeMs;
    double blocks;
    long elapsedNanos;
    try (KafkaTestClient client = TestInfra.kafkaClient();
        Producer<String, byte[]> producer =
            new KafkaProducer<>(OutboxRelay.producerSettings(kafka, "outbox-bench"));
        OutboxRelay relay =
            new OutboxRelay(db.jdbi(), producer, topics, Duration.ofMillis(100), registry, "bench")
                .start()) {
      Await.until(
          Duration.ofSeconds(60),
          "every waiting row refused once",
          () ->
              db.count("outbox_events WHERE last_error IS NOT NULL") >= Math.min(waiting, 10_000));
      double readBefore = registry.get("payments.outbox.rows.read").counter().count();
      long fetchedBefore = tuplesFetched(db);
      double[] workBefore = work(db);
      long start = System.nanoTime();
      long next = start;
      int i = 0;
      while (System.nanoTime() - start < Duration.ofSeconds(seconds).toNanos()) {
        OutboxRows.Row row =
            new OutboxRows.Row(
                UUID.randomUUID(),
                Destination.PAYMENT_EVENTS,
                "listing-" + i++,
                "listing.activated",
                "{}");
        db.jdbi()
            .useTransaction(
                tx -> new Writes().add(OutboxRows.insert(List.of(row)).orElseThrow()).execute(tx));
        committedAt.put(row.id().toString(), System.currentTimeMillis());
        relay.wakeUp();
        next += Duration.ofMillis(20).toNanos();
        LockSupport.parkNanos(next - System.nanoTime());
      }
      elapsedNanos = System.nanoTime() - start;
      rowsRead = registry.get("payments.outbox.rows.read").counter().count() - readBefore;
      fetched = tuplesFetched(db) - fetchedBefore;
      double[] workAfter = work(db);
      activeMs = workAfter[0] - workBefore[0];
      blocks = workAfter[1] - workBefore[1];
      Await.until(
          Duration.ofSeconds(60),
          "every event published",
          () -> db.count("outbox_events WHERE destination IS DISTINCT FROM 'SETTLEMENTS'") == 0);
      List<ConsumerRecord<String, byte[]>> records = client.readAll(topics.paymentEvents());
      long[] latencies =
          records.stream()
              .mapToLong(
                  r ->
                      r.timestamp()
                          - committedAt.get(
                              RecordHeaders.get(r.headers(), RecordHeaders.EVENT_ID).orElseThrow()))
              .sorted()
              .toArray();
      double secs = elapsedNanos / 1e9;
      System.out.printf(
          "BENCH waiting=%d events=%d in %.1f s: rows read %.0f/s (relay), outbox tuples fetched"
              + " %.0f/s, PostgreSQL statements %.1f s and %.0f blocks/s; latency ms p50 %d p99 %d max"
              + " %d%n",
          waiting,
          committedAt.size(),
          secs,
          rowsRead / secs,
          fetched / secs,
          activeMs / 1000,
          blocks / secs,
          latencies[latencies.length / 2],
          latencies[(int) (latencies.length * 0.99)],
          latencies[latencies.length - 1]);
    }
  }

  /**
   * What PostgreSQL did for the bench's database: the time its sessions spent running statements
   * (ms) and the blocks they read (shared buffers or not). Other databases of the server (other
   * tests of the machine) do not count.
   */
  private static double[] work(TestDatabase db) {
    return db.row(
            "SELECT active_time AS ms, blks_hit + blks_read AS blocks FROM pg_stat_database"
                + " WHERE datname = current_database()")
        .map(
            r ->
                new double[] {
                  ((Number) r.get("ms")).doubleValue(), ((Number) r.get("blocks")).doubleValue()
                })
        .orElseThrow();
  }

  private static long tuplesFetched(TestDatabase db) {
    return db.row(
            "SELECT coalesce(idx_tup_fetch, 0) + coalesce(seq_tup_read, 0) AS n"
                + " FROM pg_stat_user_tables WHERE relname = 'outbox_events'")
        .map(r -> ((Number) r.get("n")).longValue())
        .orElse(0L);
  }
}
