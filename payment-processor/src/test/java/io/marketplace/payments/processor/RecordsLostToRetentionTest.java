package io.marketplace.payments.processor;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.marketplace.payments.common.kafka.Topic;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.common.worker.RecordHandler;
import io.marketplace.payments.common.worker.StreamWorker;
import io.marketplace.payments.common.worker.WorkerOptions;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.TestDatabase;
import io.marketplace.payments.testsupport.TestInfra;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.jdbi.v3.core.Handle;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Records deleted from a topic (retention, {@code kafka-delete-records}) before a worker's group
 * applied them are Stripe events never applied. The worker cannot get them back, and must not stall
 * on them (reconcile repairs from Stripe), but it must not pass over them silently either: it says
 * so in an ERROR line naming the group, the partition and both offsets, counts them in {@code
 * payments_worker_records_lost_total} (the RecordsLostToRetention alert), and goes on from the
 * earliest record left.
 */
class RecordsLostToRetentionTest {

  private static final Duration WAIT = Duration.ofSeconds(30);

  private final Logger workerLog = (Logger) LoggerFactory.getLogger(StreamWorker.class);
  private final ListAppender<ILoggingEvent> logged = new ListAppender<>();

  @BeforeEach
  void captureLog() {
    logged.start();
    workerLog.addAppender(logged);
  }

  @AfterEach
  void releaseLog() {
    workerLog.detachAppender(logged);
  }

  @Test
  void shouldReportAndCountRecordsDeletedBeforeTheGroupAppliedThemAndGoOnFromTheLogStart()
      throws Exception {
    TestDatabase db = databaseWithAppliedRecords();
    Topics topics = TestInfra.freshTopics();
    Topic topic = topics.stripeEvents();
    String group = TestInfra.uniqueName("lost_to_retention");
    TopicPartition p0 = new TopicPartition(topic.name(), 0);
    TopicPartition p1 = new TopicPartition(topic.name(), 1);
    // Given five records on partition 0, of which the group applied the first, and one on
    // partition 1, which the group never read (no offset committed there)
    try (KafkaProducer<String, byte[]> producer =
        new KafkaProducer<>(TestInfra.kafkaConfig(topics).producer("lost-test"))) {
      for (int i = 0; i < 5; i++) {
        send(producer, topic, 0, "p0-" + i);
      }
      send(producer, topic, 1, "p1-0");
    }
    commit(group, p0, 1);
    // And retention deleted partition 0 up to offset 4 while the worker was down: offsets 1, 2
    // and 3 were never applied
    deleteBefore(p0, 4);

    // When the worker starts
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    Recording handler = new Recording(Set.of());
    try (StreamWorker worker =
            worker(WorkerOptions.of(group, topic), topics, db, handler, registry);
        Admin admin = admin()) {
      // Then it goes on from the earliest record left, and from the start of the partition it
      // never read, and commits past them
      Await.until(
          WAIT, "the records left applied", () -> applied(db, "p0-4") && applied(db, "p1-0"));
      Await.until(
          WAIT,
          "the offsets committed past them",
          () -> {
            Map<TopicPartition, OffsetAndMetadata> committed = committed(admin, group);
            return committed.get(p0) != null
                && committed.get(p0).offset() == 5
                && committed.get(p1) != null
                && committed.get(p1).offset() == 1;
          });
      assertThat(handler.seen).containsExactlyInAnyOrder("p0-4", "p1-0");
      assertThat(worker.isHealthy()).isTrue();

      // And the three records lost are counted for the alert
      assertThat(lost(registry, group, topic.name())).isEqualTo(3.0);

      // And told in one ERROR line naming the group, the partition, both offsets and the count
      List<String> errors =
          logged.list.stream()
              .filter(e -> e.getLevel() == Level.ERROR)
              .map(ILoggingEvent::getFormattedMessage)
              .toList();
      assertThat(errors)
          .as("the worker's ERROR lines")
          .anySatisfy(
              line ->
                  assertThat(line)
                      .contains(
                          group,
                          topic.name() + "-0",
                          "3 records",
                          "offset 1 (committed",
                          "log start offset 4"));
      assertThat(errors)
          .as("no partition but partition 0 lost anything")
          .noneMatch(line -> line.contains(topic.name() + "-1"));
    }
  }

  /**
   * Kafka forgets a group's committed offsets once the group has been empty for {@code
   * offsets.retention.minutes} (7 days by default): a fleet stopped that long comes back as a new
   * group, with nothing in Kafka to say where it was. The records retention deleted meanwhile are
   * lost all the same, and the worker knows it from the database, where each transaction records
   * how far its group has applied each partition.
   */
  @Test
  void shouldReportRecordsDeletedWhileTheGroupsCommittedOffsetsHadExpired() throws Exception {
    TestDatabase db = databaseWithAppliedRecords();
    Topics topics = TestInfra.freshTopics();
    Topic topic = topics.stripeEvents();
    String group = TestInfra.uniqueName("offsets_expired");
    TopicPartition p0 = new TopicPartition(topic.name(), 0);
    // Given a worker that applied the first two records of partition 0, and stopped
    try (KafkaProducer<String, byte[]> producer =
        new KafkaProducer<>(TestInfra.kafkaConfig(topics).producer("expired-test"))) {
      send(producer, topic, 0, "p0-0");
      send(producer, topic, 0, "p0-1");
      Recording first = new Recording(Set.of());
      try (StreamWorker worker =
              worker(
                  WorkerOptions.of(group, topic),
                  topics,
                  db,
                  first,
                  new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
          Admin admin = admin()) {
        awaitCommitted(admin, group, p0, 2, "the first two records applied and committed");
      }
      // And three more records written while it was down
      for (int i = 2; i < 5; i++) {
        send(producer, topic, 0, "p0-" + i);
      }
    }
    // And the group's committed offsets expired, as Kafka expires those of an empty group, and
    // retention deleted partition 0 up to offset 4: offsets 2 and 3 were never applied
    expireOffsetsAndDeleteBefore(group, p0, 4);

    // When the worker starts again
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    Recording handler = new Recording(Set.of());
    try (StreamWorker worker =
            worker(WorkerOptions.of(group, topic), topics, db, handler, registry);
        Admin admin = admin()) {
      // Then it applies the record left, from the earliest
      awaitCommitted(admin, group, p0, 5, "the record left applied and committed");
      assertThat(handler.seen).containsExactly("p0-4");

      // And the two records lost are counted and told, with where the group had applied up to
      assertThat(lost(registry, group, topic.name())).isEqualTo(2.0);
      assertThat(logged.list)
          .anySatisfy(
              e -> {
                assertThat(e.getLevel()).isEqualTo(Level.ERROR);
                assertThat(e.getFormattedMessage())
                    .contains(
                        group,
                        topic.name() + "-0",
                        "2 records",
                        "no committed offset",
                        "applied up to offset 2",
                        "log start offset 4");
              });
    }
  }

  /**
   * Records a worker passes over without a transaction ({@link RecordHandler#handles}: the refund
   * worker skips every payment event of {@code stripe.events.v1}) are read all the same: their
   * deletion, once the group's offsets expired, loses nothing, and is not told as a loss.
   */
  @Test
  void shouldNotCountRecordsTheGroupPassedOverAsLostOnceItsOffsetsExpired() throws Exception {
    TestDatabase db = databaseWithAppliedRecords();
    Topics topics = TestInfra.freshTopics();
    Topic topic = topics.stripeEvents();
    String group = TestInfra.uniqueName("offsets_expired_skipped");
    TopicPartition p0 = new TopicPartition(topic.name(), 0);
    // Given a worker that applied the first record of partition 0, and then passed over the next
    // three, which came after it
    try (KafkaProducer<String, byte[]> producer =
        new KafkaProducer<>(TestInfra.kafkaConfig(topics).producer("expired-skipped-test"))) {
      send(producer, topic, 0, "p0-0");
      try (StreamWorker worker =
              worker(
                  WorkerOptions.of(group, topic),
                  topics,
                  db,
                  new Recording(Set.of()),
                  new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
          Admin admin = admin()) {
        awaitCommitted(admin, group, p0, 1, "the first applied and committed");
        for (int i = 1; i < 4; i++) {
          send(producer, topic, 0, "skip-" + i);
        }
        awaitCommitted(admin, group, p0, 4, "all four read and committed");
        // (how far it got is recorded within seconds, without a transaction per record passed)
        Await.until(WAIT, "its position recorded past them", () -> position(db, group, p0) == 4);
      }
      send(producer, topic, 0, "p0-4");
    }
    // And its committed offsets expired, and retention deleted the three it passed over
    expireOffsetsAndDeleteBefore(group, p0, 4);

    // When the worker starts again
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    Recording handler = new Recording(Set.of());
    try (StreamWorker worker =
            worker(WorkerOptions.of(group, topic), topics, db, handler, registry);
        Admin admin = admin()) {
      awaitCommitted(admin, group, p0, 5, "the new record applied and committed");

      // Then nothing is counted or told as lost
      assertThat(handler.seen).containsExactly("p0-4");
      assertThat(lost(registry, group, topic.name())).isZero();
      assertThat(logged.list).noneMatch(e -> e.getLevel() == Level.ERROR);
    }
  }

  /** Waits until {@code group} has committed {@code offset} on {@code partition}. */
  private static void awaitCommitted(
      Admin admin, String group, TopicPartition partition, long offset, String what) {
    Await.until(
        WAIT,
        what,
        () -> {
          OffsetAndMetadata committed = committed(admin, group).get(partition);
          return committed != null && committed.offset() == offset;
        });
  }

  /**
   * Deletes {@code group}'s committed offsets, as Kafka expires those of a group empty for {@code
   * offsets.retention.minutes}, and the records of {@code partition} before {@code offset}, as
   * retention does.
   */
  private static void expireOffsetsAndDeleteBefore(
      String group, TopicPartition partition, long offset) throws Exception {
    try (Admin admin = admin()) {
      admin.deleteConsumerGroups(List.of(group)).all().get(20, TimeUnit.SECONDS);
    }
    deleteBefore(partition, offset);
  }

  private static long position(TestDatabase db, String group, TopicPartition partition) {
    return db.jdbi()
        .withHandle(
            h ->
                h.createQuery(
                        "SELECT coalesce(max(next_offset), -1) FROM worker_positions"
                            + " WHERE consumer = :group AND topic = :topic AND partition = :p")
                    .bind("group", group)
                    .bind("topic", partition.topic())
                    .bind("p", partition.partition())
                    .mapTo(Long.class)
                    .one());
  }

  /**
   * A worker far behind while it runs (a backlog, a long outage of PostgreSQL) can see retention
   * delete the records ahead of its position. They are counted and told as when it starts, and
   * every record below the new log start is either applied or counted lost, none twice.
   */
  @Test
  void shouldCountRecordsDeletedAheadOfARunningWorker() throws Exception {
    TestDatabase db = databaseWithAppliedRecords();
    Topics topics = TestInfra.freshTopics();
    Topic topic = topics.stripeEvents();
    String group = TestInfra.uniqueName("lost_while_running");
    TopicPartition p0 = new TopicPartition(topic.name(), 0);
    int total = 400;
    long deletedBefore = 350;
    // Given a backlog on partition 0, many times what one fetch brings in (records of 20 KB that
    // do not compress)
    byte[] padding = new byte[20_000];
    new Random(7).nextBytes(padding);
    try (KafkaProducer<String, byte[]> producer =
        new KafkaProducer<>(TestInfra.kafkaConfig(topics).producer("lost-running-test"))) {
      for (int i = 0; i < total; i++) {
        producer.send(
            new ProducerRecord<>(topic.name(), 0, "p0-" + i, withKey("p0-" + i, padding)));
      }
      producer.flush();
    }
    // And a worker holding its first poll, unable to apply it for now
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    Recording handler = new Recording(Set.of());
    handler.holdFirst.set(true);
    try (StreamWorker worker =
            worker(WorkerOptions.of(group, topic), topics, db, handler, registry);
        Admin admin = admin()) {
      assertThat(handler.entered.await(WAIT.toSeconds(), TimeUnit.SECONDS))
          .as("the worker applying its first poll")
          .isTrue();

      // When retention deletes the partition up to offset 350 meanwhile, and the worker goes on
      deleteBefore(p0, deletedBefore);
      handler.release.countDown();

      // Then it applies the records left, and commits past them
      Await.until(WAIT, "the last record applied", () -> applied(db, "p0-" + (total - 1)));
      awaitCommitted(admin, group, p0, total, "the offset committed past it");

      // And every record below the log start was either applied or counted lost, none both
      long appliedBelow =
          handler.seen.stream()
              .mapToInt(key -> Integer.parseInt(key.substring("p0-".length())))
              .filter(offset -> offset < deletedBefore)
              .count();
      double lost = lost(registry, group, topic.name());
      assertThat(lost).as("records counted lost").isPositive();
      assertThat(appliedBelow + (long) lost).isEqualTo(deletedBefore);
      assertThat(handler.seen).contains("p0-" + deletedBefore);
      assertThat(logged.list)
          .anySatisfy(
              e -> {
                assertThat(e.getLevel()).isEqualTo(Level.ERROR);
                assertThat(e.getFormattedMessage())
                    .contains(
                        group,
                        topic.name() + "-0",
                        (long) lost + " records",
                        "log start offset " + deletedBefore);
              });
    }
  }

  /**
   * A replay rewinds a group in Kafka, not in the database: its committed offset may then sit below
   * records it applied before, and retention may delete those before the worker reads them again (a
   * replay {@code --to-earliest} starts at the very records retention deletes next). They were
   * applied, and reading them again would have changed nothing: only the records the group never
   * reached are lost, and only those are told and counted.
   */
  @Test
  void shouldNotCountRecordsAppliedBeforeAReplayAsLostWhenRetentionDeletesThemFirst()
      throws Exception {
    TestDatabase db = databaseWithAppliedRecords();
    Topics topics = TestInfra.freshTopics();
    Topic topic = topics.stripeEvents();
    String group = TestInfra.uniqueName("replayed_then_deleted");
    TopicPartition p0 = new TopicPartition(topic.name(), 0);
    // Given a worker that applied the first four records of partition 0, and stopped
    try (KafkaProducer<String, byte[]> producer =
        new KafkaProducer<>(TestInfra.kafkaConfig(topics).producer("replayed-test"))) {
      for (int i = 0; i < 4; i++) {
        send(producer, topic, 0, "p0-" + i);
      }
      try (StreamWorker worker =
              worker(
                  WorkerOptions.of(group, topic),
                  topics,
                  db,
                  new Recording(Set.of()),
                  new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
          Admin admin = admin()) {
        awaitCommitted(admin, group, p0, 4, "the four records applied and committed");
      }
      send(producer, topic, 0, "p0-4");
    }
    // And a replay rewound the group to the earliest record, and retention then deleted the
    // partition up to offset 3 before the worker read it again
    commit(group, p0, 0);
    deleteBefore(p0, 3);

    // When the worker starts again
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    Recording handler = new Recording(Set.of());
    try (StreamWorker worker =
            worker(WorkerOptions.of(group, topic), topics, db, handler, registry);
        Admin admin = admin()) {
      // Then it goes on from the log start, applying only the record it had not applied
      awaitCommitted(admin, group, p0, 5, "the new record applied and committed");
      assertThat(handler.seen).containsExactly("p0-4");

      // And nothing is counted or told as lost: every deleted record had been applied
      assertThat(lost(registry, group, topic.name())).as("records counted lost").isZero();
      assertThat(logged.list.stream().filter(e -> e.getLevel() == Level.ERROR))
          .as("the worker's ERROR lines")
          .isEmpty();
      // But the records the replay could not read again are named, for an operator whose replay
      // was meant to re-read them
      assertThat(logged.list)
          .anySatisfy(
              e -> {
                assertThat(e.getLevel()).isEqualTo(Level.WARN);
                assertThat(e.getFormattedMessage())
                    .contains(group, "3 records of " + topic.name() + "-0", "offsets 0 to 2");
              });
    }
  }

  /**
   * A committed offset past the end of the log (an unclean leader election, a truncated or
   * recreated topic) lost nothing this group could have applied: the worker resumes at the earliest
   * record and reads all the partition holds, as before, and counts nothing lost.
   */
  @Test
  void shouldResumeAtTheEarliestRecordWhenTheCommittedOffsetIsPastTheLogEnd() throws Exception {
    TestDatabase db = databaseWithAppliedRecords();
    Topics topics = TestInfra.freshTopics();
    Topic topic = topics.stripeEvents();
    String group = TestInfra.uniqueName("past_the_end");
    TopicPartition p0 = new TopicPartition(topic.name(), 0);
    // Given three records on partition 0, and the group's offset there at 10, past them
    try (KafkaProducer<String, byte[]> producer =
        new KafkaProducer<>(TestInfra.kafkaConfig(topics).producer("past-end-test"))) {
      for (int i = 0; i < 3; i++) {
        send(producer, topic, 0, "p0-" + i);
      }
    }
    commit(group, p0, 10);

    // When the worker starts
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    Recording handler = new Recording(Set.of());
    try (StreamWorker worker =
            worker(WorkerOptions.of(group, topic), topics, db, handler, registry);
        Admin admin = admin()) {
      // Then it applies the three from the earliest record and commits past them
      awaitCommitted(admin, group, p0, 3, "the partition's records applied and committed");
      assertThat(handler.seen).containsExactlyInAnyOrder("p0-0", "p0-1", "p0-2");

      // And nothing is counted or told as lost
      assertThat(lost(registry, group, topic.name())).isZero();
      assertThat(logged.list).noneMatch(e -> e.getLevel() == Level.ERROR);
    }
  }

  private static byte[] withKey(String key, byte[] padding) {
    byte[] k = key.getBytes(StandardCharsets.UTF_8);
    byte[] value = new byte[k.length + 1 + padding.length];
    System.arraycopy(k, 0, value, 0, k.length);
    value[k.length] = '|';
    System.arraycopy(padding, 0, value, k.length + 1, padding.length);
    return value;
  }

  private static double lost(PrometheusMeterRegistry registry, String group, String topic) {
    Matcher m =
        Pattern.compile(
                "(?m)^payments_worker_records_lost_total\\{consumer=\""
                    + Pattern.quote(group)
                    + "\",topic=\""
                    + Pattern.quote(topic)
                    + "\"\\} (\\S+)$")
            .matcher(registry.scrape());
    return m.find() ? Double.parseDouble(m.group(1)) : 0;
  }

  private static void send(
      KafkaProducer<String, byte[]> producer, Topic topic, int partition, String key)
      throws Exception {
    producer
        .send(
            new ProducerRecord<>(
                topic.name(), partition, key, (key + "|").getBytes(StandardCharsets.UTF_8)))
        .get(20, TimeUnit.SECONDS);
  }

  /** A database of its own, with the table the recording handler writes each record's key to. */
  private static TestDatabase databaseWithAppliedRecords() {
    TestDatabase db = TestInfra.freshDatabase();
    db.execute("CREATE TABLE applied_records (record_key text PRIMARY KEY)");
    return db;
  }

  /** Commits {@code offset} as {@code group}'s on {@code partition}, as a worker that stopped. */
  private static void commit(String group, TopicPartition partition, long offset) throws Exception {
    try (Admin admin = admin()) {
      admin
          .alterConsumerGroupOffsets(group, Map.of(partition, new OffsetAndMetadata(offset)))
          .all()
          .get(20, TimeUnit.SECONDS);
    }
  }

  /** What retention does: deletes {@code partition}'s records below {@code offset}. */
  private static void deleteBefore(TopicPartition partition, long offset) throws Exception {
    try (Admin admin = admin()) {
      admin
          .deleteRecords(Map.of(partition, RecordsToDelete.beforeOffset(offset)))
          .all()
          .get(20, TimeUnit.SECONDS);
    }
  }

  private static Admin admin() {
    return Admin.create(Map.of("bootstrap.servers", TestInfra.kafka().bootstrapServers()));
  }

  private static Map<TopicPartition, OffsetAndMetadata> committed(Admin admin, String group) {
    try {
      return admin
          .listConsumerGroupOffsets(group)
          .partitionsToOffsetAndMetadata()
          .get(5, TimeUnit.SECONDS);
    } catch (Exception e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      throw new IllegalStateException(e);
    }
  }

  private static StreamWorker worker(
      WorkerOptions options,
      Topics topics,
      TestDatabase db,
      RecordHandler handler,
      PrometheusMeterRegistry registry) {
    KafkaProducer<String, byte[]> dlq =
        new KafkaProducer<>(TestInfra.kafkaConfig(topics).producer("lost-dlq"));
    return new StreamWorker(
            options,
            TestInfra.kafkaConfig(topics),
            db.jdbi(),
            handler,
            dlq,
            registry,
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

  /** Applies a record by writing its key; optionally holds its first transaction until released. */
  private static final class Recording implements RecordHandler {
    final Set<String> seen = ConcurrentHashMap.newKeySet();
    final AtomicBoolean holdFirst = new AtomicBoolean();
    final CountDownLatch entered = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);

    Recording(Set<String> seen) {
      this.seen.addAll(seen);
    }

    @Override
    public String dedupeKey(ConsumerRecord<String, byte[]> record) {
      return record.key();
    }

    @Override
    public boolean handles(ConsumerRecord<String, byte[]> record) {
      return !record.key().startsWith("skip-");
    }

    @Override
    public void apply(Handle tx, ConsumerRecord<String, byte[]> record) throws Exception {
      if (holdFirst.getAndSet(false)) {
        entered.countDown();
        if (!release.await(WAIT.toSeconds(), TimeUnit.SECONDS)) {
          throw new IllegalStateException("never released");
        }
      }
      seen.add(record.key());
      tx.execute("INSERT INTO applied_records VALUES (?)", record.key());
    }
  }
}
