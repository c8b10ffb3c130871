package io.marketplace.payments.risk;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.core.read.ListAppender;
import io.marketplace.payments.common.config.Env;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.embedded.KafkaTopics;
import io.marketplace.payments.risk.RiskConfig.RiskRules;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.KafkaTestClient;
import io.marketplace.payments.testsupport.TestDatabase;
import io.marketplace.payments.testsupport.TestInfra;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * The risk service stopped cleanly (as SIGTERM stops it, in production and under {@code ./payments
 * up}) and started again on the same state directory: it resumes from its stores as they were,
 * instead of finding every task corrupted and rebuilding each store from its changelog.
 */
class RiskServiceRestartTest {

  private static final Duration WAIT = Duration.ofSeconds(120);

  /** Kafka Streams' line when a changelog is restored: how many of its records were replayed. */
  private static final Pattern RESTORED =
      Pattern.compile(
          "Finished restoring changelog (\\S+) to store \\S+ with a total number of (\\d+) records");

  @TempDir Path stateDir;

  @Test
  void shouldResumeFromItsStoresWhenStartedAgainAfterACleanStop() throws Exception {
    // Given the risk service on its own topics, with a state directory of its own
    TestDatabase db = TestInfra.freshDatabase();
    Topics topics = TestInfra.freshTopics();
    KafkaTestClient kafka = TestInfra.kafkaClient();
    RiskConfig config =
        new RiskConfig(
            TestInfra.kafkaConfig(topics),
            0,
            stateDir,
            0,
            // one decline is a signal: once it is out, the stores behind it hold what it counted
            RiskRules.fromEnv(Env.of(Map.of("RISK_DECLINES_THRESHOLD", "1"))),
            db.dbConfig(),
            Duration.ofHours(1));
    String user = UUID.randomUUID().toString();
    try (RiskService service = RiskService.start(config, Clock.systemUTC())) {
      Await.until(WAIT, "the service runs", () -> isRunning(service));
      // And a declined payment it counted (its event, its PaymentIntent's user and category, the
      // tallies of the user and of the category), then raised a signal of
      String pi = "pi_3Prestart" + UUID.randomUUID().toString().replace("-", "");
      kafka.send(topics.stripeEvents(), pi, declined(pi, user, Instant.now().minusSeconds(30)));
      kafka.awaitRecord(topics.riskSignals(), r -> user.equals(r.key()), WAIT);
    } // When it is stopped cleanly, as its shutdown hook stops it on SIGTERM

    Logger streamsLog = (Logger) LoggerFactory.getLogger("org.apache.kafka.streams");
    Logger restoreLog =
        (Logger)
            LoggerFactory.getLogger(
                "org.apache.kafka.streams.processor.internals.StoreChangelogReader");
    Level restoreLevel = restoreLog.getLevel();
    ListAppender<ILoggingEvent> logged = new ListAppender<>();
    logged.start();
    streamsLog.addAppender(logged);
    restoreLog.setLevel(Level.INFO);
    try {
      // And started again on the same state directory
      try (RiskService service = RiskService.start(config, Clock.systemUTC())) {
        Await.until(WAIT, "the service runs again", () -> isRunning(service));
      }
    } finally {
      streamsLog.detachAppender(logged);
      restoreLog.setLevel(restoreLevel);
    }

    // Then no task was found corrupted (under exactly-once, a store without the changelog offset
    // of its last commit is wiped and rebuilt)
    List<ILoggingEvent> events = List.copyOf(logged.list);
    assertThat(events)
        .as("Kafka Streams' warnings and errors on the second start")
        .filteredOn(e -> e.getLevel().isGreaterOrEqual(Level.WARN))
        .filteredOn(RiskServiceRestartTest::tellsOfCorruption)
        .extracting(ILoggingEvent::getFormattedMessage)
        .isEmpty();
    // And no store replayed a record of its changelog: each resumed where the first run left it
    assertThat(events)
        .extracting(ILoggingEvent::getFormattedMessage)
        .map(RESTORED::matcher)
        .filteredOn(Matcher::find)
        .extracting(m -> m.group(1) + ": " + m.group(2))
        .isNotEmpty()
        .allMatch(restored -> restored.endsWith(": 0"), "restored no record");
  }

  @Test
  void shouldSignalAtTheNextDeclineWhenRestartedWithAThresholdTheWindowHasAlreadyPassed()
      throws Exception {
    // Given the risk service flagging 5 declines in 10 minutes
    TestDatabase db = TestInfra.freshDatabase();
    Topics topics = TestInfra.freshTopics();
    KafkaTestClient kafka = TestInfra.kafkaClient();
    RiskConfig atFive = config(topics, db, "5");
    String user = UUID.randomUUID().toString();
    Duration window = atFive.rules().declines().window();
    Instant windowStart =
        Instant.ofEpochMilli(
            Instant.now().minus(Duration.ofMinutes(5)).toEpochMilli()
                / window.toMillis()
                * window.toMillis());
    try (RiskService service = RiskService.start(atFive, Clock.systemUTC())) {
      Await.until(WAIT, "the service runs", () -> isRunning(service));
      // And four declines of one user in one window: under its threshold
      for (int i = 0; i < 4; i++) {
        String pi = "pi_3Plower" + UUID.randomUUID().toString().replace("-", "");
        kafka.send(topics.stripeEvents(), pi, declined(pi, user, windowStart.plusSeconds(i)));
      }
      awaitCaughtUp(kafka, topics);
      kafka.assertNoRecords(topics.riskSignals(), Duration.ofSeconds(1));
    }

    // When an operator lowers the threshold to 3 (an attack under way) and restarts the service
    try (RiskService service = RiskService.start(config(topics, db, "3"), Clock.systemUTC())) {
      Await.until(WAIT, "the service runs again", () -> isRunning(service));
      // And the user's next decline of the same window arrives
      String pi = "pi_3Plower" + UUID.randomUUID().toString().replace("-", "");
      kafka.send(topics.stripeEvents(), pi, declined(pi, user, windowStart.plusSeconds(10)));

      // Then the user is signalled at once, not only once a later window counts to 3 anew
      var signal = kafka.awaitRecord(topics.riskSignals(), r -> user.equals(r.key()), WAIT);
      var data = Json.mapper().readTree(signal.value()).path("data");
      assertThat(data.path("signal").asText()).isEqualTo("card_testing_declines");
      assertThat(data.path("count").asLong()).isEqualTo(5);
      assertThat(data.path("threshold").asInt()).isEqualTo(3);
      assertThat(Instant.parse(data.path("windowStart").asText())).isEqualTo(windowStart);
    }
  }

  @Test
  void shouldFindAPaymentIntentsUserWhenRestoredFromAChangelogThePreviousVersionWrote()
      throws Exception {
    // Given the changelog of the users' store as the previous version left it (the user id as a
    // plain string, before the store kept when each PaymentIntent was last confirmed), and a new
    // instance with an empty state directory, as a new pod of a rolling upgrade starts
    TestDatabase db = TestInfra.freshDatabase();
    Topics topics = TestInfra.freshTopics();
    KafkaTestClient kafka = TestInfra.kafkaClient();
    String changelog =
        topics.stripeEvents().name().replace("stripe.events.v1", "")
            + RiskService.APPLICATION_ID
            + "-"
            + StripeObservations.PAYMENT_INTENT_USERS
            + "-changelog";
    KafkaTopics.createTopics(
        kafka.bootstrapServers(),
        Map.of(changelog, topics.stripeEvents().partitions()),
        Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT));
    String user = UUID.randomUUID().toString();
    String pi = "pi_3Pbefore" + UUID.randomUUID().toString().replace("-", "");
    // on the partition of the PaymentIntent's events: same key, same partition count
    kafka.send(changelog, pi, user);
    RiskConfig config =
        new RiskConfig(
            TestInfra.kafkaConfig(topics),
            0,
            stateDir,
            0,
            // one dispute is a chargeback spike
            RiskRules.fromEnv(Env.of(Map.of("RISK_DISPUTES_THRESHOLD", "1"))),
            db.dbConfig(),
            Duration.ofHours(1));
    try (RiskService service = RiskService.start(config, Clock.systemUTC())) {
      Await.until(WAIT, "the service runs", () -> isRunning(service));

      // When the PaymentIntent is disputed (a dispute carries no metadata)
      kafka.send(
          topics.stripeEvents(),
          pi,
          Json.write(RiskEvents.dispute(pi, "needs_response", Instant.now().minusSeconds(30))));

      // Then its user is found in the restored store: a chargeback spike of the user
      var signal = kafka.awaitRecord(topics.riskSignals(), r -> user.equals(r.key()), WAIT);
      assertThat(Json.mapper().readTree(signal.value()).path("data").path("signal").asText())
          .isEqualTo("chargeback_spike");
    }
  }

  private RiskConfig config(Topics topics, TestDatabase db, String declinesThreshold) {
    return new RiskConfig(
        TestInfra.kafkaConfig(topics),
        0,
        stateDir,
        0,
        RiskRules.fromEnv(Env.of(Map.of("RISK_DECLINES_THRESHOLD", declinesThreshold))),
        db.dbConfig(),
        Duration.ofHours(1));
  }

  /**
   * Until the service has committed, under exactly-once, every record of its input and of its
   * repartition topics: what was sent is counted in its stores.
   */
  private static void awaitCaughtUp(KafkaTestClient kafka, Topics topics) {
    String group =
        topics.stripeEvents().name().replace("stripe.events.v1", "") + RiskService.APPLICATION_ID;
    try (Admin admin =
        Admin.create(
            Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
      Await.until(
          WAIT,
          "the service committed everything it was sent",
          () -> {
            try {
              Map<TopicPartition, OffsetAndMetadata> committed =
                  admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
              // every partition of the input and of the repartition topic that holds records,
              // whether or not the group committed on it yet
              Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
              String repartition = group + "-observations-by-user-repartition";
              admin
                  .describeTopics(List.of(topics.stripeEvents().name(), repartition))
                  .allTopicNames()
                  .get()
                  .values()
                  .forEach(
                      topic ->
                          topic
                              .partitions()
                              .forEach(
                                  p ->
                                      latest.put(
                                          new TopicPartition(topic.name(), p.partition()),
                                          OffsetSpec.latest())));
              var ends =
                  admin
                      .listOffsets(latest, new ListOffsetsOptions(IsolationLevel.READ_COMMITTED))
                      .all()
                      .get();
              long inputCommitted =
                  committed.entrySet().stream()
                      .filter(e -> e.getKey().topic().equals(topics.stripeEvents().name()))
                      .mapToLong(e -> e.getValue().offset())
                      .sum();
              return inputCommitted >= 4
                  && ends.entrySet().stream()
                      .filter(e -> e.getValue().offset() > 0)
                      .allMatch(
                          e ->
                              committed.containsKey(e.getKey())
                                  && committed.get(e.getKey()).offset() >= e.getValue().offset());
            } catch (Exception e) {
              return false;
            }
          });
    }
  }

  private static boolean isRunning(RiskService service) {
    return service.state() == KafkaStreams.State.RUNNING;
  }

  private static boolean tellsOfCorruption(ILoggingEvent event) {
    if (event.getFormattedMessage().contains("corrupted")
        || event.getFormattedMessage().contains("did not find checkpoint offsets")) {
      return true;
    }
    for (IThrowableProxy t = event.getThrowableProxy(); t != null; t = t.getCause()) {
      if (t.getClassName().endsWith("TaskCorruptedException")) {
        return true;
      }
    }
    return false;
  }

  private static String declined(String pi, String user, Instant created) {
    return Json.write(
        RiskEvents.event(
            "payment_intent.payment_failed",
            created,
            Map.of(
                "id",
                pi,
                "object",
                "payment_intent",
                "status",
                "requires_payment_method",
                "metadata",
                Map.of("user_id", user, "category_id", "3"))));
  }
}
