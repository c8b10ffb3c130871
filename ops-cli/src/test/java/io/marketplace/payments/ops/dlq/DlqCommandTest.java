package io.marketplace.payments.ops.dlq;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.common.kafka.KafkaConfig;
import io.marketplace.payments.common.kafka.RecordHeaders;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.common.worker.StreamWorker;
import io.marketplace.payments.common.worker.StripeEventRouter;
import io.marketplace.payments.common.worker.WorkerOptions;
import io.marketplace.payments.ops.Cli;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.KafkaTestClient;
import io.marketplace.payments.testsupport.TestDatabase;
import io.marketplace.payments.testsupport.TestInfra;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.jdbi.v3.core.Handle;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * {@code payments dlq} against a real worker loop ({@code StreamWorker}, as every service runs it)
 * whose handler has a bug for one kind of event, then has it fixed.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class) // one worker and one set of topics for all
class DlqCommandTest {

  private static final Duration WAIT = Duration.ofSeconds(20);

  private final Topics topics = TestInfra.freshTopics();
  private final TestDatabase db = TestInfra.freshDatabase();
  private final KafkaTestClient kafka = TestInfra.kafkaClient();
  private final String consumer = TestInfra.uniqueName("dlq_worker_");
  private final Cli cli = new Cli().kafka(topics).database(db);

  /** The bug: events of a featured promotion fail until it is fixed. */
  private final AtomicBoolean bugFixed = new AtomicBoolean();

  private Producer<String, byte[]> dlqProducer;
  private StreamWorker worker;

  @BeforeAll
  void startWorker() {
    KafkaConfig config = TestInfra.kafkaConfig(topics);
    dlqProducer = new KafkaProducer<>(config.producer("dlq-test"));
    StripeEventRouter handler =
        StripeEventRouter.of(
            Map.of(
                "payment_intent.succeeded",
                (tx, event) -> {
                  if (!bugFixed.get()
                      && event.metadata("payment_type").orElse("").equals("promotion_featured")) {
                    throw new IllegalStateException("no handler for featured promotions yet");
                  }
                  tx.createUpdate(
                          """
                          INSERT INTO webhook_events (event_id, event_type, payload, status)
                          VALUES (:id, :type, CAST('{}' AS jsonb), 'processed')
                          """)
                      .bind("id", event.id())
                      .bind("type", event.type())
                      .execute();
                }));
    worker = startWorker(consumer, handler);
  }

  /** A worker as every service runs one, on this test's Stripe events, assigned when it returns. */
  private StreamWorker startWorker(String group, StripeEventRouter handler) {
    StreamWorker started =
        new StreamWorker(
                WorkerOptions.of(group, topics.stripeEvents())
                    .withRetries(2, Duration.ofMillis(10), Duration.ofMillis(50)),
                TestInfra.kafkaConfig(topics),
                db.jdbi(),
                handler,
                dlqProducer,
                new SimpleMeterRegistry(),
                Clock.systemUTC())
            .start();
    Await.until(WAIT, group + " to be assigned", started::isAssigned);
    return started;
  }

  @AfterAll
  void stopWorker() {
    worker.close();
    dlqProducer.close();
    kafka.close();
  }

  @Test
  @Order(1)
  void shouldListPoisonEventAndApplyItOnceWhenRedrivenAfterFix() {
    // Given a good event and a poison one, which the worker dead-letters
    deliver("evt_good_1", "pi_good_1", "posting_fee");
    deliver("evt_poison_1", "pi_poison_1", "promotion_featured");
    Await.until(WAIT, "the good event applied", () -> applied("evt_good_1") == 1);
    kafka.awaitRecords(topics.stripeEvents().dlq(), 1, WAIT);

    // When the operator lists dead letters
    Cli.Result list = cli.run("dlq", "list");

    // Then it shows when, which consumer, why, and the Stripe event id and type
    assertThat(list.exitCode()).as(list.toString()).isZero();
    assertThat(list.out())
        .contains(consumer)
        .contains("evt_poison_1")
        .contains("payment_intent.succeeded")
        .contains("IllegalStateException: no handler for featured promotions yet")
        .contains(topics.stripeEvents().dlq().name() + "/")
        .contains("1 dead letters, 1 not redriven")
        .doesNotContain("evt_good_1");
    assertThat(applied("evt_poison_1")).isZero();

    // When the bug is fixed and the dead letter redriven
    bugFixed.set(true);
    Cli.Result redrive = cli.run("dlq", "redrive", "--event-id", "evt_poison_1");

    // Then the worker applies it, once
    assertThat(redrive.exitCode()).as(redrive.toString()).isZero();
    assertThat(redrive.out())
        .contains("redriven 1 dead letters")
        .contains("check with: ./payments dlq list");
    Await.until(WAIT, "the redriven event applied", () -> applied("evt_poison_1") == 1);
    ConsumerRecord<String, byte[]> resent =
        kafka.awaitRecord(
            topics.stripeEvents(),
            r -> KafkaTestClient.header(r, "redriven-from").isPresent(),
            WAIT);
    assertThat(resent.key()).isEqualTo("pi_poison_1");
    assertThat(KafkaTestClient.headers(resent))
        .containsEntry(RecordHeaders.STRIPE_EVENT_ID, "evt_poison_1")
        .doesNotContainKeys(
            RecordHeaders.ERROR_CLASS, RecordHeaders.ERROR_MESSAGE, RecordHeaders.CONSUMER);

    // And it is not redriven a second time
    Cli.Result again = cli.run("dlq", "redrive", "--event-id", "evt_poison_1");
    assertThat(again.exitCode()).as(again.toString()).isEqualTo(1);
    assertThat(again.err()).contains("redriven before");
    assertThat(cli.run("dlq", "redrive", "--all").out())
        .contains("no dead letters waiting to be redriven");
    assertThat(cli.run("dlq", "list").out()).contains("1 dead letters, 0 not redriven");
    assertThat(applied("evt_poison_1")).isEqualTo(1);
    assertThat(applied("evt_good_1")).isEqualTo(1);
  }

  @Test
  @Order(2)
  void shouldSendNothingWhenDryRun() {
    // Given a dead letter of its own (the bug is back for this test's event)
    bugFixed.set(false);
    deliver("evt_poison_dry", "pi_poison_dry", "promotion_featured");
    kafka.awaitRecord(topics.stripeEvents().dlq(), r -> "pi_poison_dry".equals(r.key()), WAIT);

    // When
    Cli.Result result =
        cli.run(
            "dlq",
            "redrive",
            "--event-id",
            "evt_poison_dry",
            "--dry-run",
            "--topic",
            "stripe.events.v1");

    // Then
    assertThat(result.exitCode()).as(result.toString()).isZero();
    assertThat(result.out()).contains("would redrive").contains("dry run: nothing sent");
    assertThat(db.count("dlq_redrives WHERE event_id = ?", "evt_poison_dry")).isZero();
    assertThat(
            kafka.readAll(topics.stripeEvents()).stream()
                .filter(r -> KafkaTestClient.header(r, "redriven-from").isPresent())
                .filter(r -> "pi_poison_dry".equals(r.key())))
        .isEmpty();
  }

  @Test
  @Order(3)
  void shouldNameTheDeadLetterTopicsWhenTopicUnknown() {
    // When
    Cli.Result result = cli.run("dlq", "list", "--topic", "nope.v1");

    // Then
    assertThat(result.exitCode()).isEqualTo(1);
    assertThat(result.err()).contains(topics.moderation().dlq().name());
  }

  @Test
  @Order(4)
  void shouldNotGiveAnAllClearItCannotBackUp() {
    // When the operator lists with a topic prefix the workers do not use
    Cli.Result wrongPrefix =
        new Cli()
            .kafka(topics)
            .database(db)
            .set("KAFKA_TOPIC_PREFIX", "not-ours.")
            .run("dlq", "list");
    // or asks which letters wait while the database cannot tell
    Cli.Result noDatabase =
        new Cli()
            .kafka(topics)
            .set("DATABASE_URL", "jdbc:postgresql://127.0.0.1:1/payments")
            .set("DATABASE_USER", "payments")
            .set("DATABASE_PASSWORD", UUID.randomUUID().toString())
            .run("dlq", "list", "--waiting");

    // Then neither says "no dead letters": each fails, naming why
    assertThat(wrongPrefix.exitCode()).as(wrongPrefix.toString()).isEqualTo(1);
    assertThat(wrongPrefix.err())
        .contains("the cluster has no topic not-ours.stripe.events.v1.dlq")
        .contains("KAFKA_TOPIC_PREFIX is \"not-ours.\", is that the workers' prefix?");
    assertThat(wrongPrefix.out()).doesNotContain("no dead letters");
    assertThat(noDatabase.exitCode()).as(noDatabase.toString()).isEqualTo(1);
    assertThat(noDatabase.err()).contains("cannot tell which dead letters wait");
    assertThat(noDatabase.out()).doesNotContain("no dead letters");
  }

  @Test
  @Order(5)
  void shouldRedriveANewDeadLetterWhenTheDeadLetterTopicWasRecreatedUnderAnOldOnesPosition() {
    // Given an empty dead-letter topic, a poison event dead-lettered to it, and redriven after a
    // fix
    TestInfra.recreateTopic(topics.stripeEvents().dlq());
    bugFixed.set(false);
    deliver("evt_before_wipe", "pi_wiped_topic", "promotion_featured");
    ConsumerRecord<String, byte[]> first =
        kafka.awaitRecord(topics.stripeEvents().dlq(), r -> "pi_wiped_topic".equals(r.key()), WAIT);
    bugFixed.set(true);
    Cli.Result redriven = cli.run("dlq", "redrive", "--event-id", "evt_before_wipe");
    assertThat(redriven.exitCode()).as(redriven.toString()).isZero();
    Await.until(WAIT, "the redriven event applied", () -> applied("evt_before_wipe") == 1);

    // And the dead-letter topic deleted and created again (a purge, a failover, a wiped broker
    // with the database kept), then another event of the same PaymentIntent dead-lettered: its
    // offsets restart, so it sits where the redriven one sat
    TestInfra.recreateTopic(topics.stripeEvents().dlq());
    bugFixed.set(false);
    deliver("evt_after_wipe", "pi_wiped_topic", "promotion_featured");
    ConsumerRecord<String, byte[]> second =
        kafka.awaitRecord(topics.stripeEvents().dlq(), r -> "pi_wiped_topic".equals(r.key()), WAIT);
    assertThat(second.partition()).isEqualTo(first.partition());
    assertThat(second.offset()).isEqualTo(first.offset());

    // When the operator lists the waiting dead letters, fixes the bug and redrives them all
    Cli.Result waiting = cli.run("dlq", "list", "--waiting");
    bugFixed.set(true);
    Cli.Result redrive = cli.run("dlq", "redrive", "--all");

    // Then the new dead letter waits and is redriven, not taken for the old one
    assertThat(waiting.exitCode()).as(waiting.toString()).isZero();
    assertThat(waiting.out()).contains("evt_after_wipe").contains("1 not redriven");
    assertThat(redrive.exitCode()).as(redrive.toString()).isZero();
    assertThat(redrive.out()).contains("redriven 1 dead letters").contains("evt_after_wipe");
    Await.until(WAIT, "the new dead letter applied", () -> applied("evt_after_wipe") == 1);
    assertThat(cli.run("dlq", "list", "--waiting").out()).contains("0 not redriven");
    assertThat(applied("evt_before_wipe")).isEqualTo(1);
  }

  @Test
  @Order(6)
  void shouldNotRedriveAgainWhenRedrivenBeforeItsFailureTimeWasRecorded() {
    // Given a dead letter, and its redrive as the release before recorded it: by its position and
    // event id, without when it failed
    bugFixed.set(false);
    deliver("evt_redriven_by_older_release", "pi_older_release", "promotion_featured");
    ConsumerRecord<String, byte[]> letter =
        kafka.awaitRecord(
            topics.stripeEvents().dlq(), r -> "pi_older_release".equals(r.key()), WAIT);
    db.execute(
        """
        INSERT INTO dlq_redrives
          (dlq_topic, dlq_partition, dlq_offset, source_topic, event_id, consumer, redriven_by)
        VALUES (?, ?, ?, ?, 'evt_redriven_by_older_release', ?, 'an operator')
        """,
        letter.topic(),
        letter.partition(),
        letter.offset(),
        topics.stripeEvents().name(),
        consumer);

    // When the operator lists the waiting ones and redrives this event
    Cli.Result waiting = cli.run("dlq", "list", "--waiting");
    Cli.Result redrive = cli.run("dlq", "redrive", "--event-id", "evt_redriven_by_older_release");

    // Then it reads as redriven, and is not sent a second time
    assertThat(waiting.out()).doesNotContain("evt_redriven_by_older_release");
    assertThat(redrive.exitCode()).as(redrive.toString()).isEqualTo(1);
    assertThat(redrive.err()).contains("redriven before");
    assertThat(db.count("dlq_redrives WHERE event_id = ?", "evt_redriven_by_older_release"))
        .isOne();
  }

  @Test
  @Order(7)
  void shouldRedriveOnlyTheDeadLettersOfTheNamedConsumerWhenConsumerGiven() {
    // Given a second worker reading the same Stripe events (as the refund worker does beside the
    // payment processor), with a bug of its own
    String refunds = TestInfra.uniqueName("dlq_refunds_");
    StripeEventRouter failingRefunds =
        StripeEventRouter.of(
            Map.of(
                "charge.refunded",
                (tx, event) -> {
                  throw new IllegalStateException("refund worker bug");
                }));
    try (StreamWorker refundWorker = startWorker(refunds, failingRefunds)) {
      // And a dead letter of each worker on the same dead-letter topic
      bugFixed.set(false);
      deliver(
          "evt_processor_bug",
          "payment_intent.succeeded",
          "pi_processor_bug",
          "promotion_featured");
      deliver("evt_refund_bug", "charge.refunded", "pi_refund_bug", "posting_fee");
      kafka.awaitRecord(topics.stripeEvents().dlq(), r -> "pi_processor_bug".equals(r.key()), WAIT);
      kafka.awaitRecord(topics.stripeEvents().dlq(), r -> "pi_refund_bug".equals(r.key()), WAIT);

      // When the processor's bug is fixed and the operator redrives that consumer's dead letters,
      // lists the refund worker's, and mistypes a consumer
      bugFixed.set(true);
      Cli.Result redrive = cli.run("dlq", "redrive", "--all", "--consumer", consumer);
      Cli.Result list = cli.run("dlq", "list", "--waiting", "--consumer", refunds);
      Cli.Result typo = cli.run("dlq", "redrive", "--all", "--consumer", "payment-processer");

      // Then only the processor's dead letter is sent, and the refund worker's still waits
      assertThat(redrive.exitCode()).as(redrive.toString()).isZero();
      assertThat(redrive.out())
          .contains("redriven 1 dead letters")
          .contains("evt_processor_bug")
          .contains("1 of other consumers left waiting");
      Await.until(
          WAIT, "the processor's dead letter applied", () -> applied("evt_processor_bug") == 1);
      assertThat(db.count("dlq_redrives WHERE event_id = ?", "evt_refund_bug")).isZero();
      assertThat(list.exitCode()).as(list.toString()).isZero();
      assertThat(list.out()).contains("evt_refund_bug").doesNotContain("evt_processor_bug");
      // And a consumer no dead letter names and the cluster does not know is refused, naming those
      // it knows
      assertThat(typo.exitCode()).as(typo.toString()).isEqualTo(1);
      assertThat(typo.err()).contains("payment-processer").contains(consumer).contains(refunds);
      assertThat(typo.out()).doesNotContain("redriven");
    }
  }

  /**
   * Both workers read the Stripe events: a record redriven for one consumer is read by the other
   * too. Had the other dead-lettered the same event, it would apply it (or dead-letter it again) on
   * a redrive the operator meant for the first one only.
   */
  @Test
  @Order(13)
  void shouldLeaveTheOtherConsumersDeadLetterOfTheSameEventWaitingWhenConsumerGiven() {
    // Given a second worker reading the same Stripe events, which failed the same event as the
    // processor did
    String refunds = TestInfra.uniqueName("dlq_refunds_");
    AtomicBoolean refundsFixed = new AtomicBoolean();
    StripeEventRouter refundsHandler =
        StripeEventRouter.of(
            Map.of(
                "payment_intent.succeeded",
                (tx, event) -> {
                  if (!refundsFixed.get()
                      && event.metadata("payment_type").orElse("").equals("promotion_featured")) {
                    throw new IllegalStateException("refund worker bug");
                  }
                  tx.createUpdate(
                          """
                          INSERT INTO webhook_events (event_id, event_type, payload, status)
                          VALUES (:id, :type, CAST('{}' AS jsonb), 'processed')
                          """)
                      .bind("id", refunds + ":" + event.id())
                      .bind("type", event.type())
                      .execute();
                }));
    try (StreamWorker refundWorker = startWorker(refunds, refundsHandler)) {
      bugFixed.set(false);
      deliver("evt_both_failed", "pi_both_failed", "promotion_featured");
      kafka.awaitRecord(
          topics.stripeEvents().dlq(),
          r -> "pi_both_failed".equals(r.key()) && refunds.equals(consumerOf(r)),
          WAIT);
      kafka.awaitRecord(
          topics.stripeEvents().dlq(),
          r -> "pi_both_failed".equals(r.key()) && consumer.equals(consumerOf(r)),
          WAIT);

      // When both are fixed, and the operator redrives the processor's dead letters only
      bugFixed.set(true);
      refundsFixed.set(true);
      Cli.Result redrive =
          cli.run("dlq", "redrive", "--event-id", "evt_both_failed", "--consumer", consumer);
      assertThat(redrive.exitCode()).as(redrive.toString()).isZero();
      Await.until(WAIT, "the processor applied it", () -> applied("evt_both_failed") == 1);
      // (a record behind it on the same partition, applied by the refund worker: it has read the
      // redriven one by then)
      deliver("evt_behind_redrive", "pi_both_failed", "posting_fee");
      Await.until(
          WAIT,
          "the refund worker read past the redriven record",
          () -> applied(refunds + ":evt_behind_redrive") == 1);

      // Then the refund worker did not apply it: its dead letter still waits, alone
      assertThat(applied(refunds + ":evt_both_failed")).isZero();
      Cli.Result waiting = cli.run("dlq", "list", "--waiting", "--consumer", refunds);
      assertThat(waiting.exitCode()).as(waiting.toString()).isZero();
      assertThat(waiting.out().lines().filter(line -> line.contains("evt_both_failed"))).hasSize(1);

      // And its own redrive applies it, once
      Cli.Result own =
          cli.run("dlq", "redrive", "--event-id", "evt_both_failed", "--consumer", refunds);
      assertThat(own.exitCode()).as(own.toString()).isZero();
      Await.until(
          WAIT, "the refund worker applied it", () -> applied(refunds + ":evt_both_failed") == 1);
      assertThat(applied("evt_both_failed")).isOne();
    }
  }

  private static String consumerOf(ConsumerRecord<String, byte[]> record) {
    return RecordHeaders.get(record.headers(), RecordHeaders.CONSUMER).orElse(null);
  }

  @Test
  @Order(14)
  void shouldExitTwoAndSendNothingWhenTheConsumerIsEmpty() {
    // Given a dead letter waiting
    bugFixed.set(false);
    deliver("evt_empty_consumer", "pi_empty_consumer", "promotion_featured");
    kafka.awaitRecord(topics.stripeEvents().dlq(), r -> "pi_empty_consumer".equals(r.key()), WAIT);

    // When the consumer name is empty (an unset shell variable: --consumer "$GROUP")
    Cli.Result redrive = cli.run("dlq", "redrive", "--all", "--consumer", "");
    Cli.Result list = cli.run("dlq", "list", "--consumer", "");

    // Then both are told as wrong usage, and nothing is sent
    for (Cli.Result result : new Cli.Result[] {redrive, list}) {
      assertThat(result.exitCode()).as(result.toString()).isEqualTo(2);
      assertThat(result.err()).contains("--consumer is empty");
    }
    assertThat(db.count("dlq_redrives WHERE event_id = ?", "evt_empty_consumer")).isZero();
  }

  @Test
  @Order(8)
  void shouldRedriveTheOthersAndNameTheOneRefusedWhenADeadLetterNamesAnotherSource() {
    // Given a record on the Stripe events' dead-letter topic that names the moderation topic as its
    // source (anyone who reaches Kafka can write one), then a real dead letter behind it
    bugFixed.set(false);
    RecordMetadata foreign =
        kafka.send(
            topics.stripeEvents().dlq(),
            "pi_beside_foreign",
            "{\"decision\":\"approved\"}",
            Map.of(
                RecordHeaders.SOURCE_TOPIC,
                topics.moderation().name(),
                RecordHeaders.CONSUMER,
                consumer,
                RecordHeaders.EVENT_ID,
                "evt_foreign_letter"));
    deliver("evt_beside_foreign", "pi_beside_foreign", "promotion_featured");
    ConsumerRecord<String, byte[]> letter =
        kafka.awaitRecord(
            topics.stripeEvents().dlq(),
            r -> "pi_beside_foreign".equals(r.key()) && r.offset() != foreign.offset(),
            WAIT);
    assertThat(letter.partition()).isEqualTo(foreign.partition());
    assertThat(letter.offset()).isGreaterThan(foreign.offset());
    String foreignAt = foreign.topic() + "/" + foreign.partition() + "/" + foreign.offset();

    // When the bug is fixed and the operator redrives every dead letter of the worker, after a
    // dry run
    bugFixed.set(true);
    Cli.Result dryRun = cli.run("dlq", "redrive", "--all", "--consumer", consumer, "--dry-run");
    Cli.Result redrive = cli.run("dlq", "redrive", "--all", "--consumer", consumer);

    // Then the real dead letter is sent and applied, and the foreign one is named and not sent
    for (Cli.Result result : new Cli.Result[] {dryRun, redrive}) {
      assertThat(result.exitCode()).as(result.toString()).isEqualTo(1);
      assertThat(result.err())
          .contains("refused: " + foreignAt + " names " + topics.moderation().name());
    }
    assertThat(dryRun.out()).contains("would redrive").contains("evt_beside_foreign");
    assertThat(redrive.out())
        .contains("redriven 1 dead letters")
        .contains("evt_beside_foreign")
        .contains("1 refused");
    Await.until(WAIT, "the real dead letter applied", () -> applied("evt_beside_foreign") == 1);
    assertThat(db.count("dlq_redrives WHERE event_id = ?", "evt_foreign_letter")).isZero();
    assertThat(kafka.readAll(topics.moderation())).isEmpty();
    assertThat(cli.run("dlq", "list", "--waiting").out()).contains("evt_foreign_letter");
  }

  @Test
  @Order(9)
  void shouldNameTheMissingSourceTopicAndSendNothingWhenTheSourceTopicWasDeleted() {
    // Given a dead letter whose source topic an operator deleted since (the dead-letter topic kept)
    Topics deleted = deadLetterOfADeletedTopic("pi_deleted_source", "evt_deleted_source");

    // When the operator redrives it
    Cli.Result redrive =
        new Cli()
            .kafka(deleted)
            .database(db)
            .set("KAFKA_COMMAND_TIMEOUT", "5s")
            .run("dlq", "redrive", "--all");

    // Then the command names the missing topic, not Kafka's silence, and sends and claims nothing
    assertThat(redrive.exitCode()).as(redrive.toString()).isEqualTo(1);
    assertThat(redrive.err())
        .contains("the cluster has no topic " + deleted.stripeEvents().name())
        .contains("nothing redriven")
        .doesNotContain("did not answer");
    assertThat(db.count("dlq_redrives WHERE event_id = ?", "evt_deleted_source")).isZero();
    assertThat(new Cli().kafka(deleted).database(db).run("dlq", "list", "--waiting").out())
        .contains("evt_deleted_source");
  }

  @Test
  @Order(10)
  void shouldSendTheOthersAndNameTheBusyOneWhenAnotherRedriveIsSendingIt() {
    // Given two dead letters, one of which another operator's redrive has claimed and is still
    // sending (its claim's transaction open, as it stays until Kafka acknowledges)
    bugFixed.set(false);
    deliver("evt_in_other_hands", "pi_in_other_hands", "promotion_featured");
    deliver("evt_free_to_send", "pi_free_to_send", "promotion_featured");
    ConsumerRecord<String, byte[]> held =
        kafka.awaitRecord(
            topics.stripeEvents().dlq(), r -> "pi_in_other_hands".equals(r.key()), WAIT);
    kafka.awaitRecord(topics.stripeEvents().dlq(), r -> "pi_free_to_send".equals(r.key()), WAIT);
    bugFixed.set(true);
    Cli.Result redrive;
    try (Handle other = db.jdbi().open()) {
      other.begin();
      assertThat(Redrives.claim(other, DeadLetter.of(held), "another operator")).isTrue();

      // When this operator redrives everything waiting, with Kafka's timeout shorter than the
      // database's statement timeout
      redrive =
          new Cli()
              .kafka(topics)
              .database(db)
              .set("KAFKA_COMMAND_TIMEOUT", "2s")
              .run("dlq", "redrive", "--all");
      other.rollback();
    }

    // Then the free one is sent and applied, and the busy one is named, not sent, and left waiting
    // for a run after the other one ended: no stack trace, and an exit code that says so
    assertThat(redrive.exitCode()).as(redrive.toString()).isEqualTo(1);
    assertThat(redrive.err())
        .contains("evt_in_other_hands")
        .contains("another redrive is sending it")
        .doesNotContain("Exception")
        .doesNotContain("\tat ");
    assertThat(redrive.out())
        .contains("(evt_free_to_send)")
        .contains("1 being sent by another redrive");
    Await.until(WAIT, "the free one applied", () -> applied("evt_free_to_send") == 1);
    assertThat(applied("evt_in_other_hands")).isZero();
    assertThat(cli.run("dlq", "list", "--waiting").out()).contains("evt_in_other_hands");

    // And once the other run ended without sending it, a redrive sends it
    Cli.Result again = cli.run("dlq", "redrive", "--event-id", "evt_in_other_hands");
    assertThat(again.exitCode()).as(again.toString()).isZero();
    Await.until(WAIT, "the once busy one applied", () -> applied("evt_in_other_hands") == 1);
  }

  @Test
  @Order(11)
  void shouldRefuseInADryRunAsTheRedriveWouldWhenTheSourceTopicWasDeleted() {
    // Given a dead letter whose source topic an operator deleted since (the dead-letter topic kept)
    Topics deleted = deadLetterOfADeletedTopic("pi_deleted_source_dry", "evt_deleted_source_dry");
    Cli deployment = new Cli().kafka(deleted).database(db).set("KAFKA_COMMAND_TIMEOUT", "5s");

    // When the operator previews the redrive, then runs it
    Cli.Result dryRun = deployment.run("dlq", "redrive", "--all", "--dry-run");
    Cli.Result redrive = deployment.run("dlq", "redrive", "--all");

    // Then the preview fails as the redrive does, naming the missing topic, rather than promise
    // a redrive the real run refuses
    assertThat(redrive.exitCode()).as(redrive.toString()).isEqualTo(1);
    assertThat(dryRun.exitCode()).as(dryRun.toString()).isEqualTo(1);
    assertThat(dryRun.err())
        .contains("the cluster has no topic " + deleted.stripeEvents().name())
        .doesNotContain("did not answer");
    assertThat(dryRun.out()).doesNotContain("would redrive");
    assertThat(db.count("dlq_redrives WHERE event_id = ?", "evt_deleted_source_dry")).isZero();
  }

  /**
   * The database fails once the record is back on its topic, before the redrive is recorded: the
   * operator must learn that it was sent (the worker applies it), not read a bare failure and apply
   * the event by hand.
   */
  @Test
  @Order(12)
  void shouldSayTheRecordWasSentWhenTheDatabaseFailsToRecordItsRedrive() {
    // Given a dead letter, and a database that fails to record where a redrive was sent
    bugFixed.set(false);
    deliver("evt_sent_unrecorded", "pi_sent_unrecorded", "promotion_featured");
    kafka.awaitRecord(topics.stripeEvents().dlq(), r -> "pi_sent_unrecorded".equals(r.key()), WAIT);
    bugFixed.set(true);
    db.execute(
        """
        CREATE FUNCTION fail_redrive_record() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'could not extend file: No space left on device'; END $$
        """);
    db.execute(
        "CREATE TRIGGER fail_redrive_record BEFORE UPDATE ON dlq_redrives"
            + " FOR EACH ROW EXECUTE FUNCTION fail_redrive_record()");
    Cli.Result redrive;
    try {
      // When the operator redrives it
      redrive = cli.run("dlq", "redrive", "--event-id", "evt_sent_unrecorded");
    } finally {
      db.execute("DROP TRIGGER fail_redrive_record ON dlq_redrives");
      db.execute("DROP FUNCTION fail_redrive_record()");
    }

    // Then it fails in one line that says the record was sent and what to do, and the worker
    // applies the event once
    assertThat(redrive.exitCode()).as(redrive.toString()).isEqualTo(1);
    assertThat(redrive.err())
        .contains("(evt_sent_unrecorded) was sent to " + topics.stripeEvents().name())
        .contains("No space left on device")
        .doesNotContain("\tat ");
    Await.until(WAIT, "the redriven event applied", () -> applied("evt_sent_unrecorded") == 1);

    // And redriving it again, as the message allows, applies nothing twice
    Cli.Result again = cli.run("dlq", "redrive", "--event-id", "evt_sent_unrecorded");
    assertThat(again.exitCode()).as(again.toString()).isZero();
    java.util.regex.Matcher sent =
        java.util.regex.Pattern.compile(
                java.util.regex.Pattern.quote(topics.stripeEvents().name()) + "/(\\d+)/(\\d+)")
            .matcher(again.out());
    assertThat(sent.find()).as(again.toString()).isTrue();
    org.apache.kafka.common.TopicPartition partition =
        new org.apache.kafka.common.TopicPartition(
            topics.stripeEvents().name(), Integer.parseInt(sent.group(1)));
    long offset = Long.parseLong(sent.group(2));
    Await.until(WAIT, "the second copy read", () -> committed(partition) > offset);
    assertThat(applied("evt_sent_unrecorded")).isEqualTo(1);
    assertThat(
            kafka.readAll(topics.stripeEvents().dlq()).stream()
                .filter(r -> "pi_sent_unrecorded".equals(r.key())))
        .hasSize(1);
  }

  private long committed(org.apache.kafka.common.TopicPartition partition) {
    try (org.apache.kafka.clients.admin.Admin admin =
        org.apache.kafka.clients.admin.Admin.create(
            Map.of(
                org.apache.kafka.clients.admin.AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                TestInfra.kafka().bootstrapServers()))) {
      var offset =
          admin
              .listConsumerGroupOffsets(consumer)
              .partitionsToOffsetAndMetadata()
              .get(30, java.util.concurrent.TimeUnit.SECONDS)
              .get(partition);
      return offset == null ? -1 : offset.offset();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private void deliver(String eventId, String paymentIntentId, String paymentType) {
    deliver(eventId, "payment_intent.succeeded", paymentIntentId, paymentType);
  }

  private void deliver(String eventId, String type, String paymentIntentId, String paymentType) {
    String body =
        """
        {"id":"%s","object":"event","type":"%s","created":1772445600,
         "data":{"object":{"id":"%s","object":"payment_intent","amount":500,"currency":"usd",
         "status":"succeeded","metadata":{"payment_type":"%s"}}}}
        """
            .formatted(eventId, type, paymentIntentId, paymentType);
    kafka.send(
        topics.stripeEvents(),
        paymentIntentId,
        body,
        Map.of(
            RecordHeaders.STRIPE_EVENT_ID, eventId,
            RecordHeaders.STRIPE_EVENT_TYPE, type,
            RecordHeaders.RECEIVED_AT, "2026-03-02T10:00:00Z"));
  }

  private long applied(String eventId) {
    return db.count("webhook_events WHERE event_id = ?", eventId);
  }

  /**
   * Topics of their own whose {@code stripe.events.v1} was deleted after one of its events became a
   * dead letter (the dead-letter topic kept), as an operator may leave them.
   */
  private Topics deadLetterOfADeletedTopic(String key, String eventId) {
    Topics deleted = TestInfra.freshTopics();
    kafka.send(
        deleted.stripeEvents().dlq(),
        key,
        "{\"id\":\"" + eventId + "\"}",
        Map.of(
            RecordHeaders.SOURCE_TOPIC,
            deleted.stripeEvents().name(),
            RecordHeaders.CONSUMER,
            consumer,
            RecordHeaders.STRIPE_EVENT_ID,
            eventId));
    TestInfra.deleteTopic(deleted.stripeEvents());
    return deleted;
  }
}
