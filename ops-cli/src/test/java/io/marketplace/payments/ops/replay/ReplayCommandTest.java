package io.marketplace.payments.ops.replay;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.embedded.KafkaTopics;
import io.marketplace.payments.ops.Cli;
import io.marketplace.payments.ops.acl.KafkaAcls;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.KafkaTestClient;
import io.marketplace.payments.testsupport.TestInfra;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@code payments replay} against the real broker, with consumer groups that have read and
 * committed like a worker does.
 */
class ReplayCommandTest {

  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final Instant OLD = Instant.parse("2026-03-01T08:00:00Z");
  private static final Instant NEW = Instant.parse("2026-03-01T12:00:00Z");

  // only the topic these tests read: creating all seven per test would dominate the run
  private final String prefix = TestInfra.uniqueName("r") + ".";
  private final Topics topics = Topics.withPrefix(prefix);

  {
    // kept for ever: the records are dated months back, and the broker's time retention (7 days)
    // would delete them whenever its check comes round in a long run, moving the earliest offset
    KafkaTopics.createTopics(
        TestInfra.kafka().bootstrapServers(),
        Map.of(topics.stripeEvents().name(), topics.stripeEvents().partitions()),
        Map.of("retention.ms", "-1"));
  }

  private final String topic = topics.stripeEvents().name();
  private final String group = TestInfra.uniqueName("replay_test_");
  private final Cli cli = new Cli().kafka(topics);
  private final KafkaTestClient kafka = TestInfra.kafkaClient();

  @AfterEach
  void closeClient() {
    kafka.close();
  }

  @Test
  void shouldRefuseAndNameTheMemberWhenConsumerGroupHasLiveMemberButShowADryRun() {
    // Given a group that has consumed everything and is still running
    produce(0, OLD, 3);
    consumeAndCommit(group, 3);
    try (KafkaConsumer<String, byte[]> live = new KafkaConsumer<>(kafka.consumerConfig(group))) {
      live.subscribe(List.of(topic));
      Await.until(
          WAIT,
          "the live member to be assigned",
          () -> {
            live.poll(Duration.ofMillis(100));
            return !live.assignment().isEmpty();
          });

      // When
      Cli.Result result = cli.run("replay", "--consumer", group, "--to-earliest");
      Cli.Result dryRun = cli.run("replay", "--consumer", group, "--to-earliest", "--dry-run");

      // Then the replay is refused, naming the member; a dry run shows the plan and says to stop it
      assertThat(result.exitCode()).as(result.toString()).isEqualTo(1);
      assertThat(result.err()).contains("1 live member").contains("stop " + group);
      assertThat(dryRun.exitCode()).as(dryRun.toString()).isZero();
      assertThat(dryRun.out())
          .contains("has 1 live member")
          .containsPattern(topic + "\\s+0\\s+3\\s+0\\s+3")
          .contains("dry run: nothing changed");
      assertThat(committed()).containsEntry(new TopicPartition(topic, 0), 3L);
    }
  }

  @Test
  void shouldShowPlanAndChangeNothingWhenDryRun() {
    // Given
    produce(0, OLD, 3);
    produce(1, OLD, 2);
    consumeAndCommit(group, 5);

    // When
    Cli.Result result = cli.run("replay", "--consumer", group, "--to-earliest", "--dry-run");

    // Then
    assertThat(result.exitCode()).as(result.toString()).isZero();
    assertThat(result.out())
        .contains("TOPIC", "PARTITION", "CURRENT", "TARGET", "TO RE-READ")
        .containsPattern(topic + "\\s+0\\s+3\\s+0\\s+3")
        .containsPattern(topic + "\\s+1\\s+2\\s+0\\s+2")
        .contains("total: 5 records to re-read on 6 partitions")
        .contains("dry run: nothing changed");
    assertThat(committed())
        .containsEntry(new TopicPartition(topic, 0), 3L)
        .containsEntry(new TopicPartition(topic, 1), 2L);
  }

  @Test
  void shouldRewindEveryPartitionToItsFirstRecordWhenToEarliest() {
    // Given
    produce(0, OLD, 3);
    produce(4, OLD, 4);
    consumeAndCommit(group, 7);

    // When
    Cli.Result result = cli.run("replay", "--consumer", group, "--to-earliest");

    // Then the group resumes at the start and re-reads exactly what the plan said
    assertThat(result.exitCode()).as(result.toString()).isZero();
    assertThat(result.out()).contains("total: 7 records to re-read").contains("rewound " + group);
    // and how to follow the re-reading, as the operator types it
    assertThat(result.out())
        .contains("follow it with: ./payments lag --consumer " + group + " --wait");
    assertThat(committed())
        .containsEntry(new TopicPartition(topic, 0), 0L)
        .containsEntry(new TopicPartition(topic, 4), 0L);
    assertThat(consumeAndCommit(group, 7)).isEqualTo(7);
  }

  @Test
  void shouldRewindToFirstRecordAtOrAfterTimeWhenToDatetime() {
    // Given two old and three new records on partition 2, one old on partition 3
    produce(2, OLD, 2);
    produce(2, NEW, 3);
    produce(3, OLD, 1);
    consumeAndCommit(group, 6);

    // When
    Cli.Result result =
        cli.run("replay", "--consumer", group, "--to-datetime", "2026-03-01T10:00:00Z");

    // Then only the new records are re-read; partition 3 has none after the time
    assertThat(result.exitCode()).as(result.toString()).isZero();
    assertThat(result.out())
        .containsPattern(topic + "\\s+2\\s+5\\s+2\\s+3")
        .containsPattern(topic + "\\s+3\\s+1\\s+1\\s+0")
        .contains("total: 3 records to re-read");
    assertThat(committed())
        .containsEntry(new TopicPartition(topic, 2), 2L)
        .containsEntry(new TopicPartition(topic, 3), 1L);
  }

  /**
   * A time before what retention left: the replay re-reads from the first record each partition
   * still holds, and says which partitions lost records that may have been written at or after the
   * time, rather than let the operator take the rewind for a re-reading of everything since then.
   */
  @Test
  void shouldSayWhichRecordsSinceTheTimeRetentionDeletedWhenToDatetime() throws Exception {
    // Given five new records on partition 2, the first two deleted by retention, and one old
    // record on partition 3, all read by the group
    produce(2, NEW, 5);
    produce(3, OLD, 1);
    consumeAndCommit(group, 6);
    deleteRecordsBefore(new TopicPartition(topic, 2), 2);

    // When the operator replays from a time before all of them
    Cli.Result result =
        cli.run(
            "replay", "--consumer", group, "--to-datetime", "2026-03-01T10:00:00Z", "--dry-run");

    // Then the plan re-reads what is left, and names the partition whose records are gone
    assertThat(result.exitCode()).as(result.toString()).isZero();
    assertThat(result.out())
        .containsPattern(topic + "\\s+2\\s+5\\s+2\\s+3")
        .contains(topic + "-2: its records before offset 2 were deleted")
        .doesNotContain(topic + "-3:")
        .contains("./payments reconcile --since 2026-03-01T10:00:00Z");
    assertThat(committed()).containsEntry(new TopicPartition(topic, 2), 5L);
  }

  @Test
  void shouldRefuseAndCommitNothingWhenTimeIsInTheFuture() {
    // Given a group that has read the three records of partition 0
    produce(0, OLD, 3);
    consumeAndCommit(group, 3);
    Map<TopicPartition, Long> before = committed();
    String tomorrow = Instant.now().plus(Duration.ofDays(1)).toString();

    // When the operator types a time in the future (a wrong year, a day too far)
    Cli.Result result = cli.run("replay", "--consumer", group, "--to-datetime", tomorrow);

    // Then it says so, and the group's offsets are as they were
    assertThat(result.exitCode()).as(result.toString()).isEqualTo(1);
    assertThat(result.err()).contains(tomorrow).contains("in the future");
    assertThat(result.out()).doesNotContain("rewound");
    assertThat(committed()).isEqualTo(before).containsEntry(new TopicPartition(topic, 0), 3L);
  }

  /**
   * A time without a zone is a wall-clock time of some zone: read as UTC, an operator east of UTC
   * rewinds to hours after the deploy they meant, and the records between are never re-read.
   */
  @Test
  void shouldRefuseAndCommitNothingWhenTimeHasNoZone() {
    // Given a group that has read the three records of partition 0
    produce(0, OLD, 3);
    consumeAndCommit(group, 3);
    Map<TopicPartition, Long> before = committed();

    // When the operator types the deploy time as the wall clock showed it
    Cli.Result result =
        cli.run("replay", "--consumer", group, "--to-datetime", "2026-03-01T07:30:00");

    // Then it is wrong usage, saying how to write the zone, and the group's offsets are as they
    // were
    assertThat(result.exitCode()).as(result.toString()).isEqualTo(2);
    assertThat(result.err())
        .contains("'2026-03-01T07:30:00' has no zone")
        .contains("2026-03-01T07:30:00Z");
    assertThat(result.out()).doesNotContain("rewound");
    assertThat(committed()).isEqualTo(before).containsEntry(new TopicPartition(topic, 0), 3L);
  }

  /**
   * A time after every record the group has read (a day too late, say) re-reads nothing: the
   * operator is told so, not that the group was rewound.
   */
  @Test
  void shouldSayNothingWasRewoundWhenNothingIsToBeReRead() {
    // Given a group that has read three old records of partition 0
    produce(0, OLD, 3);
    consumeAndCommit(group, 3);
    Map<TopicPartition, Long> before = committed();

    // When the operator replays from a time after all of them
    Cli.Result result =
        cli.run("replay", "--consumer", group, "--to-datetime", "2026-03-01T10:00:00Z");

    // Then it says that nothing is to be re-read and nothing changed, and the offsets are as they
    // were
    assertThat(result.exitCode()).as(result.toString()).isZero();
    assertThat(result.out())
        .contains("total: 0 records to re-read")
        .contains("nothing to re-read: " + group + " already resumes at or before")
        .contains("nothing changed")
        .doesNotContain("rewound");
    assertThat(committed()).isEqualTo(before);
  }

  /**
   * A committed offset past the end of the log (records lost in an unclean leader election, or the
   * topic truncated or recreated): the workers do not resume there but at the earliest record, and
   * the plan counts from there.
   */
  @Test
  void shouldSayWhereTheWorkerResumesWhenTheCommittedOffsetIsPastTheLogEnd() throws Exception {
    // Given a group that has read three records of partition 0 and two of partition 1, and whose
    // offset on partition 0 is past the three records the log now holds
    produce(0, OLD, 3);
    produce(1, OLD, 2);
    consumeAndCommit(group, 5);
    commitOffset(new TopicPartition(topic, 0), 10);

    // When the operator looks at the plan of a replay to the earliest records
    Cli.Result plan = cli.run("replay", "--consumer", group, "--to-earliest", "--dry-run");

    // Then it says so for that partition, and counts from where the group would resume, the
    // earliest record, not from the offset past the end
    assertThat(plan.exitCode()).as(plan.toString()).isZero();
    assertThat(plan.out())
        .containsPattern(topic + "\\s+0\\s+0 \\(committed 10, past the log end 3\\)\\s+0\\s+0")
        .containsPattern(topic + "\\s+1\\s+2\\s+0\\s+2")
        .contains(
            topic
                + "-0: committed offset 10 is past the log end 3"
                + " (records lost in an unclean leader election, or the topic truncated or"
                + " recreated): the workers resume at its earliest"
                + " record, 0, and read its 3 records whether rewound or not")
        .contains("total: 2 records to re-read on 6 partitions");
    assertThat(committed()).containsEntry(new TopicPartition(topic, 0), 10L);

    // When it replays
    Cli.Result replay = cli.run("replay", "--consumer", group, "--to-earliest");

    // Then the offset past the end is replaced by where the workers would resume
    assertThat(replay.exitCode()).as(replay.toString()).isZero();
    assertThat(committed())
        .containsEntry(new TopicPartition(topic, 0), 0L)
        .containsEntry(new TopicPartition(topic, 1), 0L);
  }

  @Test
  void shouldRewindOnlyNamedPartitionsWhenToOffset() {
    // Given
    produce(0, OLD, 5);
    produce(1, OLD, 5);
    consumeAndCommit(group, 10);

    // When
    Cli.Result result = cli.run("replay", "--consumer", group, "--to-offset", "0:3");

    // Then
    assertThat(result.exitCode()).as(result.toString()).isZero();
    assertThat(result.out()).contains("total: 2 records to re-read");
    assertThat(committed())
        .containsEntry(new TopicPartition(topic, 0), 3L)
        .containsEntry(new TopicPartition(topic, 1), 5L);
  }

  @Test
  void shouldRefuseToMoveForwardWhenOffsetIsAfterCommitted() {
    // Given a group that has applied 2 of 5 records
    produce(0, OLD, 5);
    consumeAndCommit(group, 5);
    cli.run("replay", "--consumer", group, "--to-offset", topic + ":0:2");

    // When
    Cli.Result result = cli.run("replay", "--consumer", group, "--to-offset", "0:4");

    // Then
    assertThat(result.exitCode()).as(result.toString()).isEqualTo(1);
    assertThat(result.err()).contains("replay only rewinds");
    assertThat(committed()).containsEntry(new TopicPartition(topic, 0), 2L);
  }

  @Test
  void shouldRefuseAndCommitNothingWhenTheGroupIsAKafkaStreamsApplication() throws Exception {
    // Given a group that, as the risk service's Kafka Streams application does, also reads its
    // own repartition topic, and has committed offsets on both
    produce(0, OLD, 3);
    consumeAndCommit(group, 3);
    String repartition = group + "-observations-by-user-repartition";
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
    try (Admin admin = Admin.create(props)) {
      admin
          .createTopics(
              List.of(new org.apache.kafka.clients.admin.NewTopic(repartition, 1, (short) 1)))
          .all()
          .get(30, TimeUnit.SECONDS);
      // the group coordinator learns of a new topic a moment after its creation is answered
      Await.until(
          Duration.ofSeconds(30),
          "the coordinator takes an offset on " + repartition,
          () -> {
            try {
              admin
                  .alterConsumerGroupOffsets(
                      group,
                      Map.of(
                          new TopicPartition(repartition, 0),
                          new org.apache.kafka.clients.consumer.OffsetAndMetadata(0)))
                  .all()
                  .get(30, TimeUnit.SECONDS);
              return true;
            } catch (ExecutionException e) {
              if (e.getCause() instanceof UnknownTopicOrPartitionException) {
                return false;
              }
              throw new IllegalStateException(e);
            } catch (InterruptedException | TimeoutException e) {
              throw new IllegalStateException(e);
            }
          });
    }
    Map<TopicPartition, Long> before = committed();

    // When an operator asks to replay it
    Cli.Result result = cli.run("replay", "--consumer", group, "--to-earliest");

    // Then it is refused, naming the repartition topic and what to use instead, and nothing moved
    assertThat(result.exitCode()).as(result.toString()).isEqualTo(1);
    assertThat(result.err())
        .contains("Kafka Streams application", repartition, "streams application reset tool");
    assertThat(committed()).isEqualTo(before).containsEntry(new TopicPartition(topic, 0), 3L);
  }

  /**
   * A group that reads a topic no worker of the deployment reads (a downstream service's, on the
   * payment events the system announces) does not skip what it applied before: a rewind would make
   * it act again, whatever the plan promised.
   */
  @Test
  void shouldRefuseAndCommitNothingWhenTheGroupReadsATopicNoWorkerReads() {
    // Given a downstream service's group that has read the payment events
    String paymentEvents = topics.paymentEvents().name();
    KafkaTopics.createTopics(
        TestInfra.kafka().bootstrapServers(),
        Map.of(paymentEvents, 1),
        Map.of("retention.ms", "-1"));
    produce(paymentEvents, 0, OLD, 2);
    consumeAndCommit(group, paymentEvents, 2);
    Map<TopicPartition, Long> before = committed();

    // When an operator names it, taking it for a worker's
    Cli.Result dryRun = cli.run("replay", "--consumer", group, "--to-earliest", "--dry-run");
    Cli.Result result = cli.run("replay", "--consumer", group, "--to-earliest");

    // Then both refuse, naming the topic and the prefix in use, and its offsets are as they were
    assertThat(result.exitCode()).as(result.toString()).isEqualTo(1);
    assertThat(result.err())
        .contains(paymentEvents)
        .contains("no worker")
        .contains("KAFKA_TOPIC_PREFIX is \"" + prefix + "\", is that the workers' prefix?");
    assertThat(result.out()).doesNotContain("rewound");
    assertThat(dryRun.exitCode()).as(dryRun.toString()).isEqualTo(1);
    assertThat(committed())
        .isEqualTo(before)
        .containsEntry(new TopicPartition(paymentEvents, 0), 2L);
  }

  /**
   * A running worker that has not applied its first record has committed nothing: it already reads
   * from the earliest record, so there is nothing to rewind. Calling it unknown, in a message that
   * lists it among the known groups, sent the operator looking for a typo.
   */
  @Test
  void shouldSayARunningGroupThatHasCommittedNothingHasNothingToRewind() {
    // Given two records, and a running worker's group that has applied neither
    produce(0, OLD, 2);
    try (KafkaConsumer<String, byte[]> live = new KafkaConsumer<>(kafka.consumerConfig(group))) {
      live.subscribe(List.of(topic));
      Await.until(
          WAIT,
          "the live member to be assigned",
          () -> {
            live.poll(Duration.ofMillis(100));
            return !live.assignment().isEmpty();
          });

      // When the operator plans a replay of it
      Cli.Result dryRun = cli.run("replay", "--consumer", group, "--to-earliest", "--dry-run");

      // Then it is told that the group has committed nothing yet, not that it is unknown
      assertThat(dryRun.exitCode()).as(dryRun.toString()).isEqualTo(1);
      assertThat(dryRun.err())
          .as(dryRun.toString())
          .contains(group + " has committed no offset yet")
          .contains("nothing to rewind")
          .contains("lag --consumer " + group)
          .doesNotContain("unknown");
    }
  }

  @Test
  void shouldListKnownGroupsWhenConsumerGroupUnknown() {
    // Given
    produce(0, OLD, 1);
    consumeAndCommit(group, 1);

    // When
    Cli.Result result = cli.run("replay", "--consumer", "no-such-worker", "--to-earliest");

    // Then
    assertThat(result.exitCode()).as(result.toString()).isEqualTo(1);
    assertThat(result.err())
        .contains("no-such-worker")
        .contains("Known consumer groups")
        .contains(group);
  }

  @Test
  void shouldExitTwoAndCommitNothingWhenAPartitionOrOffsetIsNegative() {
    // Given a group that has applied 5 records of partition 0
    produce(0, OLD, 5);
    consumeAndCommit(group, 5);

    // When the operator types a negative partition, or a negative offset
    Cli.Result partition = cli.run("replay", "--consumer", group, "--to-offset", "-1:2");
    Cli.Result offset = cli.run("replay", "--consumer", group, "--to-offset", topic + ":0:-2");

    // Then both are told as wrong usage, saying what to type, and nothing is rewound
    assertThat(partition.exitCode()).as(partition.toString()).isEqualTo(2);
    assertThat(partition.err()).contains("'-1:2'").contains("partition -1 is negative");
    assertThat(offset.exitCode()).as(offset.toString()).isEqualTo(2);
    assertThat(offset.err()).contains("offset -2 is negative");
    assertThat(committed()).containsEntry(new TopicPartition(topic, 0), 5L);
  }

  @Test
  void shouldExitTwoAndCommitNothingWhenTheConsumerIsEmpty() {
    // Given
    produce(0, OLD, 5);
    consumeAndCommit(group, 5);

    // When the consumer name is empty (an unset shell variable: --consumer "$GROUP")
    Cli.Result empty = cli.run("replay", "--consumer", "", "--to-earliest");
    Cli.Result blank = cli.run("replay", "--consumer", " ", "--to-earliest");

    // Then it is told as wrong usage, and nothing is rewound
    for (Cli.Result result : List.of(empty, blank)) {
      assertThat(result.exitCode()).as(result.toString()).isEqualTo(2);
      assertThat(result.err()).contains("--consumer is empty");
    }
    assertThat(committed()).containsEntry(new TopicPartition(topic, 0), 5L);
  }

  @Test
  void shouldExitTwoWhenNoTargetGiven() {
    // When
    Cli.Result result = cli.run("replay", "--consumer", group);

    // Then
    assertThat(result.exitCode()).isEqualTo(2);
    assertThat(result.err()).contains("--to-datetime");
  }

  // ---- helpers

  @Test
  void shouldRefuseTheRiskServicesGroupWhenOnlyItsStripeEventsOffsetsAreSeen() {
    // Given the risk service's group (its application id under the topic prefix) as an operator
    // sees it under the operators' ACLs: the broker leaves out the offsets of the topics the
    // operator may not describe (its repartition topics, payments.events.v1), so it looks like a
    // group that reads stripe.events.v1 alone
    String risk = prefix + KafkaAcls.RISK_APPLICATION_ID;
    produce(0, OLD, 3);
    consumeAndCommit(risk, 3);

    // When an operator asks to replay it
    Cli.Result result = cli.run("replay", "--consumer", risk, "--to-earliest");

    // Then it is refused as the Kafka Streams application it is, and nothing moved
    assertThat(result.exitCode()).as(result.toString()).isEqualTo(1);
    assertThat(result.err())
        .contains("Kafka Streams application", "streams application reset tool");
    assertThat(committed(risk)).containsEntry(new TopicPartition(topic, 0), 3L);
  }

  private void produce(int partition, Instant timestamp, int count) {
    produce(topic, partition, timestamp, count);
  }

  private void produce(String topic, int partition, Instant timestamp, int count) {
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
    props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
    props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(props)) {
      for (int i = 0; i < count; i++) {
        producer
            .send(
                new ProducerRecord<>(
                    topic,
                    partition,
                    timestamp.toEpochMilli() + i,
                    "key-" + i,
                    ("record " + i).getBytes(StandardCharsets.UTF_8)))
            .get(30, TimeUnit.SECONDS);
      }
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** Reads as the group until {@code expected} records came, commits, leaves; returns the count. */
  private int consumeAndCommit(String groupId, int expected) {
    return consumeAndCommit(groupId, topic, expected);
  }

  private int consumeAndCommit(String groupId, String topic, int expected) {
    try (KafkaConsumer<String, byte[]> consumer =
        new KafkaConsumer<>(kafka.consumerConfig(groupId))) {
      consumer.subscribe(List.of(topic));
      int[] read = {0};
      Await.until(
          WAIT,
          expected + " records read by " + groupId,
          () -> {
            read[0] += consumer.poll(Duration.ofMillis(100)).count();
            return read[0] >= expected;
          });
      consumer.commitSync();
      return read[0];
    }
  }

  /** Deletes the records of {@code partition} before {@code offset}, as retention would. */
  private void deleteRecordsBefore(TopicPartition partition, long offset) throws Exception {
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
    try (Admin admin = Admin.create(props)) {
      admin
          .deleteRecords(Map.of(partition, RecordsToDelete.beforeOffset(offset)))
          .all()
          .get(30, TimeUnit.SECONDS);
    }
  }

  /** Commits {@code offset} as the group's on {@code partition}: Kafka takes any offset. */
  private void commitOffset(TopicPartition partition, long offset) throws Exception {
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
    try (Admin admin = Admin.create(props)) {
      admin
          .alterConsumerGroupOffsets(
              group,
              Map.of(partition, new org.apache.kafka.clients.consumer.OffsetAndMetadata(offset)))
          .all()
          .get(30, TimeUnit.SECONDS);
    }
  }

  private Map<TopicPartition, Long> committed() {
    return committed(group);
  }

  private Map<TopicPartition, Long> committed(String groupId) {
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
    try (Admin admin = Admin.create(props)) {
      Map<TopicPartition, Long> offsets = new HashMap<>();
      admin
          .listConsumerGroupOffsets(groupId)
          .partitionsToOffsetAndMetadata()
          .get(30, TimeUnit.SECONDS)
          .forEach((p, o) -> offsets.put(p, o.offset()));
      return offsets;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
