package io.marketplace.payments.processor;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.common.kafka.Topic;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.common.worker.RecordHandler;
import io.marketplace.payments.common.worker.StreamWorker;
import io.marketplace.payments.common.worker.WorkerOptions;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.KafkaTestClient;
import io.marketplace.payments.testsupport.TestDatabase;
import io.marketplace.payments.testsupport.TestInfra;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.GroupState;
import org.apache.kafka.common.TopicPartition;
import org.jdbi.v3.core.Handle;
import org.junit.jupiter.api.Test;

/**
 * A worker retrying a poll's records loses one of their partitions to another member, which does
 * not apply them either, and gets the partition back before the rest of the poll is applied. The
 * records of that partition were given up, not applied: the worker must not commit an offset past
 * them when the rest is applied, or a stop before it reads them again loses them for good.
 */
class PartitionBackDuringRetryTest {

  private static final Duration WAIT = Duration.ofSeconds(30);

  @Test
  void shouldNotCommitPastRecordsGivenUpToARevocationWhenThePartitionComesBack() throws Exception {
    TestDatabase db = TestInfra.freshDatabase();
    db.execute("CREATE TABLE applied_records (record_key text PRIMARY KEY)");
    Topics topics = TestInfra.freshTopics();
    Topic topic = topics.stripeEvents();
    int first = 0;
    int last = topic.partitions() - 1;
    WorkerOptions options =
        WorkerOptions.of(TestInfra.uniqueName("partition_back"), topic)
            .withRetries(5, Duration.ofMillis(500), Duration.ofSeconds(2));
    String group = options.consumer();
    // Given a record on the first partition and one on the last, there before any worker reads
    try (KafkaProducer<String, byte[]> producer =
        new KafkaProducer<>(TestInfra.kafkaConfig(topics).producer("partition-back-test"))) {
      send(producer, topic, first, "q");
      send(producer, topic, last, "p");
    }
    // And a first worker, alone in its group, that fails both for now (a lock held on their rows)
    Recording a = new Recording(Set.of("q", "p"), true);
    try (Admin admin =
            Admin.create(Map.of("bootstrap.servers", TestInfra.kafka().bootstrapServers()));
        KafkaProducer<String, byte[]> dlq =
            new KafkaProducer<>(TestInfra.kafkaConfig(topics).producer("partition-back-dlq"));
        StreamWorker workerA = worker(options, topics, db, a, dlq)) {
      assertThat(a.entered.await(WAIT.toSeconds(), TimeUnit.SECONDS))
          .as("the first worker applying its first poll")
          .isTrue();
      assertThat(a.firstPoll)
          .as("the first worker's first poll")
          .containsExactlyInAnyOrder("q", "p");

      // When a second member joins while the first holds that poll, and is given the last
      // partition (the range assignor gives the later member the upper partitions), whose record
      // it cannot apply either
      Recording b = new Recording(Set.of("q", "p"), false);
      try (StreamWorker workerB = worker(options, topics, db, b, dlq)) {
        Await.until(
            WAIT,
            "the second member joining",
            () -> describe(admin, group).groupState() == GroupState.PREPARING_REBALANCE);
        a.release.countDown();
        Await.until(
            WAIT,
            "the second worker trying the record of the last partition",
            () -> b.attempts("p") > 0);
      }
      // And the second member leaves before applying it, so the partition goes back to the first
      Await.until(
          WAIT,
          "the first worker given back the last partition",
          () -> {
            ConsumerGroupDescription g = describe(admin, group);
            return g.groupState() == GroupState.STABLE
                && g.members().size() == 1
                && g.members()
                    .iterator()
                    .next()
                    .assignment()
                    .topicPartitions()
                    .contains(new TopicPartition(topic.name(), last));
          });
      // And the first worker then applies the rest of its poll, reads the last partition's record
      // again and still cannot apply it
      int triedBefore = a.attempts("p");
      a.held.remove("q");
      Await.until(WAIT, "the first partition's record applied", () -> applied(db, "q"));
      Await.until(
          WAIT, "the first worker trying the record again", () -> a.attempts("p") > triedBefore);
    }
    // And the first worker is stopped (a rolling restart) before it could apply it

    // Then a worker started afterwards still reads the record, and applies it
    Recording c = new Recording(Set.of(), false);
    try (KafkaProducer<String, byte[]> dlq =
            new KafkaProducer<>(TestInfra.kafkaConfig(topics).producer("partition-back-dlq-c"));
        StreamWorker workerC = worker(options, topics, db, c, dlq)) {
      Await.until(
          Duration.ofSeconds(20),
          "the last partition's record applied after the restart",
          () -> applied(db, "p"));
    }
  }

  /**
   * A rebalance (another replica starting) revokes every partition and gives the worker back the
   * one it was retrying a record of, all within one of its waits. The records in hand of that
   * partition are read again from its last commit, so dead-lettering the record then as well sent
   * it to the dead-letter topic twice: two letters, and two redrives, for one event.
   */
  @Test
  void shouldDeadLetterARecordOnceWhenItsPartitionIsRevokedAndGivenBackWhileItIsRetried()
      throws Exception {
    TestDatabase db = TestInfra.freshDatabase();
    db.execute("CREATE TABLE applied_records (record_key text PRIMARY KEY)");
    Topics topics = TestInfra.freshTopics();
    Topic topic = topics.stripeEvents();
    TopicPartition first = new TopicPartition(topic.name(), 0);
    WorkerOptions options =
        WorkerOptions.of(TestInfra.uniqueName("partition_back_dlq"), topic)
            .withRetries(3, Duration.ofMillis(200), Duration.ofMillis(500));
    String group = options.consumer();
    // Given a record that cannot be applied, and one behind it, on the first partition
    try (KafkaProducer<String, byte[]> producer =
        new KafkaProducer<>(TestInfra.kafkaConfig(topics).producer("partition-back-dlq-test"))) {
      send(producer, topic, 0, "poison");
      send(producer, topic, 0, "after");
    }
    // And a worker, alone in its group, retrying it (its failure waited out for now)
    Recording a = new Recording(Set.of("poison"), false);
    Recording b = new Recording(Set.of(), false);
    try (Admin admin =
            Admin.create(Map.of("bootstrap.servers", TestInfra.kafka().bootstrapServers()));
        KafkaProducer<String, byte[]> dlq =
            new KafkaProducer<>(TestInfra.kafkaConfig(topics).producer("partition-back-dlq-2"));
        KafkaTestClient client = TestInfra.kafkaClient();
        StreamWorker workerA = worker(options, topics, db, a, dlq)) {
      Await.until(WAIT, "the worker retrying the record", () -> a.attempts("poison") > 0);

      // When a second member joins, which revokes every partition of the first and gives it back
      // the first partition (the range assignor gives the later member the upper partitions)
      try (StreamWorker workerB = worker(options, topics, db, b, dlq)) {
        Await.until(
            WAIT,
            "the group settled with the first partition back with the first worker",
            () -> {
              ConsumerGroupDescription g = describe(admin, group);
              return g.groupState() == GroupState.STABLE
                  && g.members().size() == 2
                  && g.members().stream()
                      .anyMatch(
                          m ->
                              m.clientId().endsWith("-0")
                                  && m.assignment().topicPartitions().contains(first));
            });
        // And the record then fails for good
        a.poisoned.add("poison");

        // Then it is dead-lettered, the record behind it applied, and the partition committed past
        // both
        Await.until(WAIT, "the record behind it applied", () -> applied(db, "after"));
        Await.until(
            WAIT, "the partition committed past both", () -> committed(admin, group, first) == 2);
      }
      // And it was sent to the dead-letter topic once
      assertThat(
              client.readAll(topic.dlq()).stream()
                  .filter(r -> "poison".equals(r.key()))
                  .map(r -> r.partition() + "/" + r.offset())
                  .toList())
          .as("dead letters of the record")
          .hasSize(1);
    }
  }

  private static void send(
      KafkaProducer<String, byte[]> producer, Topic topic, int partition, String key)
      throws Exception {
    producer
        .send(
            new ProducerRecord<>(
                topic.name(), partition, key, ("evt_" + key).getBytes(StandardCharsets.UTF_8)))
        .get(20, TimeUnit.SECONDS);
  }

  private static StreamWorker worker(
      WorkerOptions options,
      Topics topics,
      TestDatabase db,
      RecordHandler handler,
      KafkaProducer<String, byte[]> dlq) {
    return new StreamWorker(
            options,
            TestInfra.kafkaConfig(topics),
            db.jdbi(),
            handler,
            dlq,
            new SimpleMeterRegistry(),
            Clock.systemUTC())
        .start();
  }

  private static boolean applied(TestDatabase db, String key) {
    return db.jdbi()
        .withHandle(
            h ->
                h.createQuery("SELECT count(*) FROM applied_records WHERE record_key = :key")
                        .bind("key", key)
                        .mapTo(Long.class)
                        .one()
                    > 0);
  }

  /** The offset {@code group} committed on {@code partition}; -1 when none. */
  private static long committed(Admin admin, String group, TopicPartition partition) {
    try {
      var offset =
          admin
              .listConsumerGroupOffsets(group)
              .partitionsToOffsetAndMetadata()
              .get(5, TimeUnit.SECONDS)
              .get(partition);
      return offset == null ? -1 : offset.offset();
    } catch (Exception e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      throw new IllegalStateException(e);
    }
  }

  private static ConsumerGroupDescription describe(Admin admin, String group) {
    try {
      return admin.describeConsumerGroups(List.of(group)).all().get(5, TimeUnit.SECONDS).get(group);
    } catch (Exception e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      throw new IllegalStateException(e);
    }
  }

  /**
   * Applies a record by writing its key; a key in {@code held} fails as a lock wait that timed out
   * does (transient: waited out, never dead-lettered). Optionally holds its first transaction until
   * released, and notes the keys of the poll before it.
   */
  private static final class Recording implements RecordHandler {
    final Set<String> held = ConcurrentHashMap.newKeySet();
    final Set<String> poisoned = ConcurrentHashMap.newKeySet();
    final Set<String> firstPoll = ConcurrentHashMap.newKeySet();
    final Map<String, AtomicInteger> attempts = new ConcurrentHashMap<>();
    final CountDownLatch entered = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);
    private final boolean holdFirst;
    private final AtomicBoolean applying = new AtomicBoolean();

    Recording(Set<String> held, boolean holdFirst) {
      this.held.addAll(held);
      this.holdFirst = holdFirst;
    }

    int attempts(String key) {
      AtomicInteger n = attempts.get(key);
      return n == null ? 0 : n.get();
    }

    @Override
    public boolean handles(ConsumerRecord<String, byte[]> record) {
      if (!applying.get()) {
        firstPoll.add(record.key());
      }
      return true;
    }

    @Override
    public String dedupeKey(ConsumerRecord<String, byte[]> record) {
      return new String(record.value(), StandardCharsets.UTF_8);
    }

    @Override
    public void apply(Handle tx, ConsumerRecord<String, byte[]> record) throws Exception {
      if (!applying.getAndSet(true) && holdFirst) {
        entered.countDown();
        if (!release.await(WAIT.toSeconds(), TimeUnit.SECONDS)) {
          throw new IllegalStateException("never released");
        }
      }
      attempts.computeIfAbsent(record.key(), k -> new AtomicInteger()).incrementAndGet();
      if (poisoned.contains(record.key())) {
        throw new IllegalArgumentException("not an event this worker can apply");
      }
      if (held.contains(record.key())) {
        throw new SQLException("canceling statement due to lock timeout", "55P03");
      }
      tx.execute("INSERT INTO applied_records VALUES (?)", record.key());
    }
  }
}
