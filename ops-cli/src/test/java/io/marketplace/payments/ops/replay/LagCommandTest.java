package io.marketplace.payments.ops.replay;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.embedded.KafkaTopics;
import io.marketplace.payments.ops.Cli;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.KafkaTestClient;
import io.marketplace.payments.testsupport.TestDatabase;
import io.marketplace.payments.testsupport.TestInfra;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@code payments lag} in the replay workflow: after {@code payments replay}, the operator is told
 * to follow the re-reading with {@code payments lag --consumer NAME --wait}, which returns once the
 * lag is 0.
 */
class LagCommandTest {

  private final Topics topics = Topics.withPrefix(TestInfra.uniqueName("lag") + ".");

  {
    KafkaTopics.createTopics(
        TestInfra.kafka().bootstrapServers(),
        Map.of(topics.stripeEvents().name(), topics.stripeEvents().partitions()));
  }

  private final Cli cli = new Cli().kafka(topics);
  private final KafkaTestClient kafka = TestInfra.kafkaClient();

  @AfterEach
  void closeClient() {
    kafka.close();
  }

  /**
   * A mistyped group name (or a worker that never started) has no committed offsets: "lag 0" would
   * tell the operator the replay was re-read in full. It is refused, as {@code replay} refuses it.
   */
  @Test
  void shouldRefuseUnknownConsumerGroupInsteadOfReportingLagZero() {
    // Given records the worker has yet to read
    for (int i = 0; i < 3; i++) {
      kafka.send(topics.stripeEvents(), "pi_" + i, "{}");
    }

    // When the operator follows a replay with a mistyped group name
    Cli.Result result =
        cli.run("lag", "--consumer", "payment-procesor", "--wait", "--timeout", "5s");

    // Then it is refused, naming the group
    assertThat(result.exitCode()).as(result.toString()).isEqualTo(1);
    assertThat(result.err()).as(result.toString()).contains("payment-procesor");
  }

  /**
   * A --timeout that is no duration is wrong usage, told as such before anything is asked of Kafka,
   * as every command tells a value it cannot read: not after a lookup, whose failure (an unknown
   * group, Kafka down) would hide it.
   */
  @Test
  void shouldExitTwoWhenTheConsumerIsEmpty() {
    // When the consumer name is empty (an unset shell variable: --consumer "$GROUP")
    Cli.Result lag = cli.run("lag", "--consumer", "");

    // Then it is told as wrong usage
    assertThat(lag.exitCode()).as(lag.toString()).isEqualTo(2);
    assertThat(lag.err()).contains("--consumer is empty");
  }

  @Test
  void shouldRefuseATimeoutThatIsNoDurationBeforeAskingKafka() {
    // When the operator types a timeout without its unit, against a Kafka that does not answer
    Cli.Result result =
        new Cli()
            .set("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:" + Cli.closedPort())
            .set("KAFKA_COMMAND_TIMEOUT", "2s")
            .run("lag", "--consumer", "payment-processor", "--wait", "--timeout", "30");

    // Then it is wrong usage, naming the value
    assertThat(result.exitCode()).as(result.toString()).isEqualTo(2);
    assertThat(result.err()).as(result.toString()).contains("'30' is not a duration");
  }

  /**
   * A topic written in transactions (risk.signals.v1, by the risk service's exactly_once_v2) holds
   * a commit marker after each transaction's records. A worker commits the offset after the last
   * record it applied, which is the marker's: the partition's end lies one past it for good. That
   * is no record to apply: the lag is 0, and {@code --wait} returns, instead of waiting out its
   * timeout on a group that has applied everything.
   */
  @Test
  void shouldNotCountTransactionMarkersAsLag() {
    // Given one record written in a transaction, and a group that applied it
    String topic = topics.riskSignals().name();
    KafkaTopics.createTopics(TestInfra.kafka().bootstrapServers(), Map.of(topic, 1));
    sendInTransaction(topic, "user-1", "{}");
    String group = TestInfra.uniqueName("flags");
    commit(group, new TopicPartition(topic, 0), 1);

    // When the operator looks at its lag, and waits for it to be 0
    Cli.Result lag = cli.run("lag", "--consumer", group);
    Cli.Result await = cli.run("lag", "--consumer", group, "--wait", "--timeout", "5s");

    // Then there is nothing left to apply
    assertThat(lag.exitCode()).as(lag.toString()).isZero();
    assertThat(lag.out()).as(lag.toString()).containsPattern(topic + "\\s+0\\s+1\\s+2\\s+0\\b");
    assertThat(await.exitCode()).as(await.toString()).isZero();
    assertThat(await.out()).as(await.toString()).contains("lag 0");
  }

  /** A record behind the committed offset is lag, markers around it or not. */
  @Test
  void shouldCountARecordWrittenInATransactionAsLag() {
    // Given one record written in a transaction, and a group that has not applied it
    String topic = topics.riskSignals().name();
    KafkaTopics.createTopics(TestInfra.kafka().bootstrapServers(), Map.of(topic, 1));
    sendInTransaction(topic, "user-1", "{}");
    String group = TestInfra.uniqueName("flags");
    commit(group, new TopicPartition(topic, 0), 0);

    // When the operator waits for the lag to be 0
    Cli.Result await = cli.run("lag", "--consumer", group, "--wait", "--timeout", "2s");

    // Then it is not: the record waits
    assertThat(await.exitCode()).as(await.toString()).isEqualTo(1);
    assertThat(await.err()).as(await.toString()).contains("the lag is still 2");
  }

  /**
   * A committed offset past the end of the log (records lost in an unclean leader election, or the
   * topic truncated or recreated) is no place a worker resumes: it finds the offset out of range
   * and starts again at the earliest record. "Lag 0" there would hide the records it is yet to read
   * again; the lag counts from where it resumes, and names both offsets, as {@code replay}'s plan
   * does.
   */
  @Test
  void shouldCountFromWhereTheWorkerResumesWhenTheCommittedOffsetIsPastTheLogEnd() {
    // Given three records on partition 0, and a group whose offset there is past them
    String topic = topics.stripeEvents().name();
    send(topic, 0, 3);
    String group = TestInfra.uniqueName("past_end_");
    commit(group, new TopicPartition(topic, 0), 10);

    // When the operator looks at its lag, and waits for it to be 0
    Cli.Result lag = cli.run("lag", "--consumer", group);
    Cli.Result await = cli.run("lag", "--consumer", group, "--wait", "--timeout", "2s");

    // Then the three records are lag, counted from the earliest record, both offsets named
    assertThat(lag.exitCode()).as(lag.toString()).isZero();
    assertThat(lag.out())
        .as(lag.toString())
        .containsPattern(
            group
                + "\\s+"
                + topic
                + "\\s+0\\s+0 \\(committed 10, past the log end 3\\)\\s+3\\s+3\\b")
        .contains(
            topic
                + "-0: committed offset 10 is past the log end 3"
                + " (records lost in an unclean leader election, or the topic truncated or"
                + " recreated): the workers resume at its earliest"
                + " record, 0, and read its 3 records");
    assertThat(await.exitCode()).as(await.toString()).isEqualTo(1);
    assertThat(await.err()).as(await.toString()).contains("the lag is still 3");
    assertThat(await.out()).as(await.toString()).contains("is past the log end 3", "lag 3");
  }

  /**
   * A worker that has not applied its first record yet (a new deployment whose migration did not
   * run, a new topic's first record failing for a passing reason) has committed nothing, but it is
   * running: a live member assigned its partitions, resuming at the earliest record. Its records
   * wait, and {@code lag} must show them: leaving the group out of the table, or refusing it as
   * unknown, tells the operator there is nothing behind, where the runbook sends them to see how
   * far a stopped worker is behind.
   */
  @Test
  void shouldCountTheRecordsOfARunningGroupThatHasCommittedNothingYet() throws Exception {
    // Given two records, and a running worker's group that has not applied either
    String topic = topics.stripeEvents().name();
    send(topic, 0, 2);
    String group = TestInfra.uniqueName("stuck_first_");
    try (KafkaConsumer<String, byte[]> live = new KafkaConsumer<>(kafka.consumerConfig(group))) {
      live.subscribe(List.of(topic));
      Await.until(
          Duration.ofSeconds(20),
          "the live member to be assigned",
          () -> {
            live.poll(Duration.ofMillis(100));
            return !live.assignment().isEmpty();
          });

      // When the operator looks at every group's lag, at that group's, and waits for it to be 0
      Cli.Result all = cli.run("lag");
      Cli.Result one = cli.run("lag", "--consumer", group);
      Cli.Result await = cli.run("lag", "--consumer", group, "--wait", "--timeout", "2s");

      // Then the two records are its lag, counted from the earliest record where it resumes
      String row = group + "\\s+" + topic + "\\s+0\\s+0\\s+2\\s+2\\b";
      // (every group of the broker is listed, other tests' too: its exit status is theirs as well)
      assertThat(all.out()).as(all.toString()).containsPattern(row);
      assertThat(one.exitCode()).as(one.toString()).isZero();
      assertThat(one.out()).as(one.toString()).containsPattern(row);
      assertThat(await.exitCode()).as(await.toString()).isEqualTo(1);
      assertThat(await.err()).as(await.toString()).contains("the lag is still 2");
    }
  }

  /**
   * A committed offset below the start of the log: retention deleted records the group had not read
   * (its worker down, or behind, for longer than the topic keeps them). They can never be applied;
   * "lag" counting from the log start alone would hide them. The partition names how many were
   * deleted unread, and the command exits 1: money may be missing, and reconcile repairs it.
   */
  @Test
  void shouldSayHowManyRecordsWereDeletedBeforeTheGroupReadThemWhenBelowTheLogStart() {
    // Given five records on partition 0, a group that read the first, and retention that deleted
    // the partition up to offset 4
    String topic = topics.stripeEvents().name();
    send(topic, 0, 5);
    String group = TestInfra.uniqueName("below_start_");
    TopicPartition partition = new TopicPartition(topic, 0);
    commit(group, partition, 1);
    deleteRecords(partition, 4);

    // When the operator looks at its lag, and waits for it to be 0
    Cli.Result lag = cli.run("lag", "--consumer", group);
    Cli.Result await = cli.run("lag", "--consumer", group, "--wait", "--timeout", "2s");

    // Then the partition shows both offsets and says that 3 records were deleted unread
    assertThat(lag.out())
        .as(lag.toString())
        .containsPattern(
            group
                + "\\s+"
                + topic
                + "\\s+0\\s+4 \\(committed 1, below the log start 4: 3 records deleted unread\\)"
                + "\\s+5\\s+1\\b")
        .contains(
            topic
                + "-0: committed offset 1 of "
                + group
                + " is below the log start offset 4: 3 records were deleted (retention) before"
                + " the group read them, and will never be applied");
    // And the command fails, saying why
    assertThat(lag.exitCode()).as(lag.toString()).isEqualTo(1);
    assertThat(lag.err()).as(lag.toString()).contains("3 records", "reconcile");
    assertThat(await.out()).as(await.toString()).contains("3 records were deleted (retention)");
  }

  /**
   * After a replay, the committed offset is behind how far the worker had applied, as it records in
   * {@code worker_positions}: records retention deleted since were applied before the replay, not
   * lost (the worker itself does not count them). Only those it never applied are lost.
   */
  @Test
  void shouldNotCountRecordsAppliedBeforeAReplayAsDeletedUnread() {
    // Given five records on partitions 0 and 1, a worker that had applied four of partition 0 and
    // two of partition 1, a replay that rewound it to offset 1 on both, and retention that deleted
    // both up to offset 4
    TestDatabase db = TestInfra.freshDatabase();
    String topic = topics.stripeEvents().name();
    send(topic, 0, 5);
    send(topic, 1, 5);
    String group = TestInfra.uniqueName("replayed_");
    TopicPartition zero = new TopicPartition(topic, 0);
    TopicPartition one = new TopicPartition(topic, 1);
    db.execute(
        "INSERT INTO worker_positions (consumer, topic, partition, next_offset)"
            + " VALUES (?, ?, 0, 4), (?, ?, 1, 2)",
        group,
        topic,
        group,
        topic);
    commit(group, zero, 1);
    commit(group, one, 1);
    deleteRecords(zero, 4);
    deleteRecords(one, 4);

    // When the operator looks at its lag
    Cli.Result lag = new Cli().kafka(topics).database(db).run("lag", "--consumer", group);

    // Then partition 0 lost nothing: its three deleted records had been applied
    assertThat(lag.out())
        .as(lag.toString())
        .doesNotContain(zero + ": committed offset")
        .contains(
            zero
                + ": 3 records (offsets 1 to 3) were deleted (retention) after "
                + group
                + " had applied or passed over them");
    // And partition 1 lost the two it had not applied, not the one it had
    assertThat(lag.out())
        .as(lag.toString())
        .containsPattern(
            group
                + "\\s+"
                + topic
                + "\\s+1\\s+4 \\(committed 1, below the log start 4: 2 records deleted unread\\)"
                + "\\s+5\\s+1\\b");
    assertThat(lag.exitCode()).as(lag.toString()).isEqualTo(1);
    assertThat(lag.err()).as(lag.toString()).contains("2 records were deleted");
  }

  /** Where nothing was deleted unread, nothing is said of it and the command succeeds. */
  @Test
  void shouldSayNothingOfDeletedRecordsWhenTheGroupReadThemAll() {
    // Given five records on partition 0, a group that read four, and retention that deleted three
    String topic = topics.stripeEvents().name();
    send(topic, 0, 5);
    String group = TestInfra.uniqueName("above_start_");
    TopicPartition partition = new TopicPartition(topic, 0);
    commit(group, partition, 4);
    deleteRecords(partition, 3);

    // When the operator looks at its lag
    Cli.Result lag = cli.run("lag", "--consumer", group);

    // Then it is the one record left to read
    assertThat(lag.exitCode()).as(lag.toString()).isZero();
    assertThat(lag.out())
        .as(lag.toString())
        .containsPattern(group + "\\s+" + topic + "\\s+0\\s+4\\s+5\\s+1\\b")
        .doesNotContain("deleted");
  }

  private static void deleteRecords(TopicPartition partition, long before) {
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, TestInfra.kafka().bootstrapServers());
    try (Admin admin = Admin.create(props)) {
      admin
          .deleteRecords(Map.of(partition, RecordsToDelete.beforeOffset(before)))
          .all()
          .get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static void send(String topic, int partition, int count) {
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, TestInfra.kafka().bootstrapServers());
    props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
    props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(props)) {
      for (int i = 0; i < count; i++) {
        producer.send(new ProducerRecord<>(topic, partition, "pi_" + i, "{}"));
      }
    }
  }

  private static void sendInTransaction(String topic, String key, String value) {
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, TestInfra.kafka().bootstrapServers());
    props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, TestInfra.uniqueName("tx"));
    props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
    props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(props)) {
      producer.initTransactions();
      producer.beginTransaction();
      producer.send(new ProducerRecord<>(topic, key, value));
      producer.commitTransaction();
    }
  }

  private static void commit(String group, TopicPartition partition, long offset) {
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, TestInfra.kafka().bootstrapServers());
    try (Admin admin = Admin.create(props)) {
      admin
          .alterConsumerGroupOffsets(group, Map.of(partition, new OffsetAndMetadata(offset)))
          .all()
          .get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
