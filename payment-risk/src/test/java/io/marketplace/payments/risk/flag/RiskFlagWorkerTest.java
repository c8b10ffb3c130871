package io.marketplace.payments.risk.flag;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.InputFormat;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SchemaRegistryConfig;
import com.networknt.schema.SpecificationVersion;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.risk.RiskSignal;
import io.marketplace.payments.risk.Signal;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.KafkaTestClient;
import io.marketplace.payments.testsupport.TestDatabase;
import io.marketplace.payments.testsupport.TestInfra;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/** The flag worker on the real broker and database. */
class RiskFlagWorkerTest {

  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final Instant NOW = Instant.parse("2026-12-01T10:08:30Z");

  // each test its own database, topics and meters (JUnit makes an instance per test)
  private final TestDatabase db = TestInfra.freshDatabase();
  private final Topics topics = TestInfra.freshTopics();
  private final KafkaTestClient kafka = TestInfra.kafkaClient();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

  /** The worker on this test's topics and database, its clock at {@link #NOW}, cool-down 1 h. */
  private RiskFlagWorker startWorker() {
    return RiskFlagWorker.start(
        db.dbConfig(),
        TestInfra.kafkaConfig(topics),
        Duration.ofHours(1),
        Clock.fixed(NOW, ZoneOffset.UTC),
        registry);
  }

  @Test
  void shouldFlagTheUserOnceAndAnnounceItWhenASignalArrivesTwice() throws IOException {
    try (RiskFlagWorker worker = startWorker()) {
      // Given a card-testing signal of a user
      String user = UUID.randomUUID().toString();
      Instant windowStart = Instant.parse("2026-12-01T10:00:00Z");
      RiskSignal signal =
          atThreshold(
              user,
              Signal.CARD_TESTING_DECLINES,
              5,
              windowStart,
              Instant.parse("2026-12-01T10:08:00Z"));
      String json = Json.write(signal);

      // When it is delivered twice (a replay)
      kafka.send(topics.riskSignals(), user, json);
      kafka.send(topics.riskSignals(), user, json);
      Await.until(
          WAIT,
          "both deliveries consumed",
          () ->
              registry.find("payments.worker.records").tag("outcome", "applied").counters().stream()
                          .mapToDouble(c -> c.count())
                          .sum()
                      + registry
                          .find("payments.worker.records")
                          .tag("outcome", "duplicate")
                          .counters()
                          .stream()
                          .mapToDouble(c -> c.count())
                          .sum()
                  >= 2);

      // Then the user is flagged once, until one hour after the activity that raised the signal
      List<Map<String, Object>> rows =
          db.rows(
              "SELECT signal, signal_count, flagged_until, cleared_at FROM user_risk_flags"
                  + " WHERE user_id = ?::uuid",
              user);
      assertThat(rows).hasSize(1);
      assertThat(rows.getFirst().get("signal")).isEqualTo("card_testing_declines");
      assertThat(rows.getFirst().get("signal_count")).isEqualTo(5);
      assertThat(rows.getFirst().get("cleared_at")).isNull();
      assertThat(rows.getFirst().get("flagged_until"))
          .isEqualTo(Instant.parse("2026-12-01T11:08:00Z"));

      // And one user.flagged, keyed by the user, conforming to its schema, is published
      db.awaitOutboxPublished(WAIT);
      ConsumerRecord<String, byte[]> event =
          kafka.awaitRecord(
              topics.paymentEvents(),
              r -> "user.flagged".equals(KafkaTestClient.header(r, "event-type").orElse("")),
              WAIT);
      assertThat(event.key()).isEqualTo(user);
      JsonNode body = Json.mapper().readTree(event.value());
      assertThat(body.path("data").path("signalId").asText()).isEqualTo(signal.id().toString());
      assertThat(body.path("data").path("flaggedUntil").asText()).isEqualTo("2026-12-01T11:08:00Z");
      assertThat(schemaViolations("user.flagged", KafkaTestClient.text(event))).isEmpty();
      assertThat(
              kafka.readAll(topics.paymentEvents()).stream()
                  .filter(r -> user.equals(r.key()))
                  .count())
          .isEqualTo(1);
    }
  }

  @Test
  void shouldCountAFlagOnceWhenItsBatchIsRolledBackAndAppliedAgain() {
    // Given a user's signal and, behind it in the same poll, one the worker cannot apply (a userId
    // that is not a UUID): their batch's transaction fails and is rolled back, and each is then
    // applied alone
    String user = UUID.randomUUID().toString();
    Instant windowStart = Instant.parse("2026-12-01T10:00:00Z");
    Instant raisedAt = Instant.parse("2026-12-01T10:08:00Z");
    kafka.send(
        topics.riskSignals(),
        user,
        Json.write(atThreshold(user, Signal.CARD_TESTING_DECLINES, 5, windowStart, raisedAt)));
    kafka.send(
        topics.riskSignals(),
        user,
        Json.write(
            atThreshold("not-a-uuid", Signal.CARD_TESTING_DECLINES, 5, windowStart, raisedAt)));

    // When the worker starts and reads both
    try (RiskFlagWorker worker = startWorker()) {
      Await.until(
          WAIT,
          "the signal applied and the other dead-lettered",
          () ->
              applied(registry) >= 1
                  && registry
                          .find("payments.worker.records")
                          .tag("outcome", "dead_lettered")
                          .counters()
                          .stream()
                          .mapToDouble(c -> c.count())
                          .sum()
                      >= 1);

      // Then the user is flagged once, and the flags metric counts one: the rolled-back try
      // counts nothing
      assertThat(db.count("user_risk_flags WHERE user_id = ?::uuid", user)).isEqualTo(1);
      assertThat(
              registry
                  .find("payments.risk.flags")
                  .tag("signal", "card_testing_declines")
                  .counter()
                  .count())
          .isEqualTo(1.0);
    }
  }

  @Test
  void shouldApplyACategorySignalWithoutFlaggingAnybodyWhenItArrives() {
    try (RiskFlagWorker worker = startWorker()) {
      // Given a chargeback spike of marketplace category 42 (no user), as one build published it
      // on the topic, delivered twice
      Instant day = Instant.parse("2026-12-01T00:00:00Z");
      RiskSignal category =
          RiskSignal.ofCategory(
              "42", Signal.CHARGEBACK_SPIKE, 10, 10, day, day.plus(Duration.ofDays(1)), NOW);
      String key = RiskSignal.categoryKey("42");
      kafka.send(topics.riskSignals(), key, Json.write(category));
      kafka.send(topics.riskSignals(), key, Json.write(category));

      // When all deliveries are consumed
      Await.until(WAIT, "both deliveries consumed", () -> outcomes(registry) >= 2);

      // Then nobody is flagged, nothing is announced, nothing is dead-lettered
      assertThat(db.count("user_risk_flags")).isZero();
      assertThat(
              registry
                  .find("payments.worker.records")
                  .tag("outcome", "dead_lettered")
                  .counters()
                  .stream()
                  .mapToDouble(c -> c.count())
                  .sum())
          .isZero();
      assertThat(kafka.readAll(topics.paymentEvents())).isEmpty();
      // And operators see it once, by signal and category
      assertThat(
              registry
                  .get("payments.risk.category.signals")
                  .tag("signal", "chargeback_spike")
                  .tag("category", "42")
                  .counter()
                  .count())
          .isEqualTo(1);
    }
  }

  @Test
  void shouldNotHoldTheUserWhenASignalIsAppliedAfterItsCoolDownEnded() {
    String user = UUID.randomUUID().toString();
    try (RiskFlagWorker worker = startWorker()) {
      // When a card-testing signal raised at 07:05, three hours ago, is applied only now (the
      // worker was down, or its dead letter was redriven): its one-hour cool-down is over
      Instant windowStart = Instant.parse("2026-12-01T07:00:00Z");
      RiskSignal late =
          atThreshold(
              user,
              Signal.CARD_TESTING_DECLINES,
              5,
              windowStart,
              Instant.parse("2026-12-01T07:05:00Z"));
      kafka.send(topics.riskSignals(), user, Json.write(late));
      Await.until(WAIT, "the signal applied", () -> applied(registry) >= 1);

      // Then it is recorded, ended when its cool-down ended, and the user is not held now
      assertThat(
              db.rows(
                  "SELECT flagged_until, cleared_at FROM user_risk_flags WHERE user_id = ?::uuid",
                  user))
          .singleElement()
          .satisfies(
              row -> {
                assertThat(row.get("flagged_until"))
                    .isEqualTo(Instant.parse("2026-12-01T08:05:00Z"));
                assertThat(row.get("cleared_at")).isNull();
              });
      // And it is counted for the dashboard, and no user.flagged announces a hold already over
      assertThat(
              registry
                  .find("payments.risk.signals.stale")
                  .tag("signal", "card_testing_declines")
                  .counter()
                  .count())
          .isEqualTo(1);
      db.awaitOutboxPublished(WAIT);
      assertThat(
              kafka.readAll(topics.paymentEvents()).stream()
                  .filter(r -> user.equals(r.key()))
                  .count())
          .isZero();
    }
  }

  @Test
  void shouldNotFlagTheUserAgainWhenASignalRaisedBeforeAnAdminsClearIsAppliedAfterIt() {
    String user = UUID.randomUUID().toString();
    Instant windowStart = Instant.parse("2026-12-01T10:00:00Z");
    Instant clearedAt = Instant.parse("2026-12-01T10:08:20Z");
    // Given a user flagged for card testing (declines of the window [10:00, 10:10)), whom a
    // super_admin cleared at 10:08:20 after a review
    RiskSignal declines =
        atThreshold(
            user,
            Signal.CARD_TESTING_DECLINES,
            5,
            windowStart,
            Instant.parse("2026-12-01T10:05:00Z"));
    db.execute(
        """
        INSERT INTO user_risk_flags (signal_id, user_id, signal, signal_count, threshold,
            window_start, window_end, flagged_at, flagged_until, cleared_at, cleared_by,
            clear_reason)
        VALUES (?, ?::uuid, 'card_testing_declines', 5, 5, ?, ?, ?, ?, ?, ?, 'verified by phone')
        """,
        declines.id(),
        user,
        java.sql.Timestamp.from(windowStart),
        java.sql.Timestamp.from(windowStart.plusSeconds(600)),
        java.sql.Timestamp.from(Instant.parse("2026-12-01T10:05:01Z")),
        java.sql.Timestamp.from(Instant.parse("2026-12-01T11:05:01Z")),
        java.sql.Timestamp.from(clearedAt),
        UUID.randomUUID());
    try (RiskFlagWorker worker = startWorker()) {
      // When a signal of the same burst, raised at 10:07 (before the clear), reaches the worker
      // only after the clear (the risk service was behind)
      RiskSignal cards =
          atThreshold(
              user,
              Signal.CARD_TESTING_FINGERPRINTS,
              4,
              windowStart,
              Instant.parse("2026-12-01T10:07:00Z"));
      kafka.send(topics.riskSignals(), user, Json.write(cards));
      Await.until(WAIT, "the signal consumed", () -> outcomes(registry) >= 1);

      // Then the signal is applied (not dead-lettered) and recorded as covered by that clear
      assertThat(applied(registry)).isEqualTo(1);
      // And the user stays cleared: what the signal saw happened before the admin's review
      assertCoveredByTheClear(cards, clearedAt);
      // And no user.flagged announces a hold that does not exist
      db.awaitOutboxPublished(WAIT);
      assertThat(
              kafka.readAll(topics.paymentEvents()).stream()
                  .filter(r -> user.equals(r.key()))
                  .count())
          .isZero();
    }
  }

  @Test
  void shouldNotFlagTheUserWhenASignalRaisedBeforeAClearThatFoundNoFlagIsAppliedAfterIt() {
    String user = UUID.randomUUID().toString();
    Instant windowStart = Instant.parse("2026-12-01T10:00:00Z");
    Instant clearedAt = Instant.parse("2026-12-01T10:07:30Z");
    // Given a user a super_admin cleared at 10:07:30, when no flag of theirs was active yet (the
    // signal of their burst was still on its way): the clear is recorded as the API records it
    db.execute(
        """
        INSERT INTO user_risk_clears (event_id, user_id, cleared_at, cleared_by, clear_reason,
            cleared_flags)
        VALUES (?, ?::uuid, ?, ?, 'verified by phone', 0)
        """,
        UUID.randomUUID(),
        user,
        java.sql.Timestamp.from(clearedAt),
        UUID.randomUUID());
    try (RiskFlagWorker worker = startWorker()) {
      // When the signal of that burst, raised at 10:07, reaches the worker after the clear
      RiskSignal beforeClear =
          atThreshold(
              user,
              Signal.CARD_TESTING_DECLINES,
              5,
              windowStart,
              Instant.parse("2026-12-01T10:07:00Z"));
      kafka.send(topics.riskSignals(), user, Json.write(beforeClear));
      Await.until(WAIT, "the signal consumed", () -> outcomes(registry) >= 1);

      // Then it is recorded as covered by that clear, and the user is not held
      assertThat(applied(registry)).isEqualTo(1);
      assertCoveredByTheClear(beforeClear, clearedAt);

      // When the user goes on and the risk service, counting from the clear, raises a signal
      RiskSignal afterClear =
          RiskSignal.of(
              user,
              Signal.CARD_TESTING_DECLINES,
              5,
              5,
              windowStart,
              windowStart.plusSeconds(600),
              Instant.parse("2026-12-01T10:08:00Z"),
              clearedAt);
      kafka.send(topics.riskSignals(), user, Json.write(afterClear));
      Await.until(WAIT, "the second signal consumed", () -> outcomes(registry) >= 2);

      // Then that one flags the user, and only it is announced
      assertThat(
              db.count(
                  "user_risk_flags WHERE signal_id = ? AND cleared_at IS NULL", afterClear.id()))
          .isEqualTo(1);
      db.awaitOutboxPublished(WAIT);
      assertThat(
              kafka.readAll(topics.paymentEvents()).stream()
                  .filter(r -> user.equals(r.key()))
                  .map(r -> KafkaTestClient.header(r, "event-type").orElse(""))
                  .toList())
          .containsExactly("user.flagged");
    }
  }

  @Test
  void shouldFlagOnlyBySignalsCountedFromTheClearWhenAnAdminClearedTheUserWithinTheWindow() {
    String user = UUID.randomUUID().toString();
    Instant windowStart = Instant.parse("2026-12-01T10:00:00Z");
    Instant clearedAt = Instant.parse("2026-12-01T10:03:00Z");
    // Given a user flagged in the window before [10:00, 10:10), whom a super_admin cleared at 10:03
    db.execute(
        """
        INSERT INTO user_risk_flags (signal_id, user_id, signal, signal_count, threshold,
            window_start, window_end, flagged_at, flagged_until, cleared_at, cleared_by,
            clear_reason)
        VALUES (?, ?::uuid, 'card_testing_declines', 5, 5, ?, ?, ?, ?, ?, ?, 'verified by phone')
        """,
        UUID.randomUUID(),
        user,
        java.sql.Timestamp.from(windowStart.minusSeconds(600)),
        java.sql.Timestamp.from(windowStart),
        java.sql.Timestamp.from(Instant.parse("2026-12-01T09:58:00Z")),
        java.sql.Timestamp.from(Instant.parse("2026-12-01T10:58:00Z")),
        java.sql.Timestamp.from(clearedAt),
        UUID.randomUUID());
    try (RiskFlagWorker worker = startWorker()) {
      // When a signal of [10:00, 10:10) raised at 10:07, counted from the window's start (the risk
      // service had not yet seen the clear: it was behind, or re-read its input in another order),
      // reaches the worker
      RiskSignal fromWindowStart =
          atThreshold(
              user,
              Signal.CARD_TESTING_DECLINES,
              5,
              windowStart,
              Instant.parse("2026-12-01T10:07:00Z"));
      kafka.send(topics.riskSignals(), user, Json.write(fromWindowStart));
      Await.until(WAIT, "the signal consumed", () -> outcomes(registry) >= 1);

      // Then it is recorded as covered by the clear: it counted what the admin had reviewed
      assertThat(
              db.count(
                  "user_risk_flags WHERE signal_id = ? AND cleared_at = ?",
                  fromWindowStart.id(),
                  java.sql.Timestamp.from(clearedAt)))
          .isEqualTo(1);
      assertThat(
              db.count(
                  "user_risk_flags WHERE user_id = ?::uuid AND cleared_at IS NULL"
                      + " AND flagged_until > ?",
                  user,
                  java.sql.Timestamp.from(NOW)))
          .isZero();

      // When the signal the risk service raises once it counts from the clear arrives
      RiskSignal fromClear =
          RiskSignal.of(
              user,
              Signal.CARD_TESTING_DECLINES,
              5,
              5,
              windowStart,
              windowStart.plusSeconds(600),
              Instant.parse("2026-12-01T10:08:00Z"),
              clearedAt);
      kafka.send(topics.riskSignals(), user, Json.write(fromClear));
      Await.until(WAIT, "the second signal consumed", () -> outcomes(registry) >= 2);

      // Then that one flags the user, and user.flagged announces it, once
      assertThat(
              db.count(
                  "user_risk_flags WHERE signal_id = ? AND cleared_at IS NULL"
                      + " AND flagged_until > ?",
                  fromClear.id(),
                  java.sql.Timestamp.from(NOW)))
          .isEqualTo(1);
      db.awaitOutboxPublished(WAIT);
      assertThat(
              kafka.readAll(topics.paymentEvents()).stream()
                  .filter(r -> user.equals(r.key()))
                  .map(r -> KafkaTestClient.header(r, "event-type").orElse(""))
                  .toList())
          .containsExactly("user.flagged");
    }
  }

  @Test
  void shouldNotFlagTheUserWhenASignalCountedFromAnEarlierClearIsRaisedAfterALaterOne() {
    String user = UUID.randomUUID().toString();
    Instant windowStart = Instant.parse("2026-12-01T10:00:00Z");
    Instant firstClear = Instant.parse("2026-12-01T10:01:00Z");
    Instant secondClear = Instant.parse("2026-12-01T10:05:30Z");
    // Given a user a super_admin cleared at 10:01 and, after reviewing the declines that followed,
    // again at 10:05:30
    for (Instant clearedAt : List.of(firstClear, secondClear)) {
      db.execute(
          """
          INSERT INTO user_risk_clears (event_id, user_id, cleared_at, cleared_by, clear_reason,
              cleared_flags)
          VALUES (?, ?::uuid, ?, ?, 'verified by phone', 0)
          """,
          UUID.randomUUID(),
          user,
          java.sql.Timestamp.from(clearedAt),
          UUID.randomUUID());
    }
    try (RiskFlagWorker worker = startWorker()) {
      // When the risk service, which had not yet seen the second clear, counts from the first one
      // and reaches the threshold at 10:06 with the declines of 10:02 to 10:05 the admin reviewed
      RiskSignal fromFirstClear =
          RiskSignal.of(
              user,
              Signal.CARD_TESTING_DECLINES,
              5,
              5,
              windowStart,
              windowStart.plusSeconds(600),
              Instant.parse("2026-12-01T10:06:00Z"),
              firstClear);
      kafka.send(topics.riskSignals(), user, Json.write(fromFirstClear));
      Await.until(WAIT, "the signal consumed", () -> outcomes(registry) >= 1);

      // Then it is recorded as covered by the second clear, and the user is not held
      assertThat(applied(registry)).isEqualTo(1);
      assertCoveredByTheClear(fromFirstClear, secondClear);

      // When the user goes on and the risk service, counting from the second clear, raises a
      // signal
      RiskSignal fromSecondClear =
          RiskSignal.of(
              user,
              Signal.CARD_TESTING_DECLINES,
              5,
              5,
              windowStart,
              windowStart.plusSeconds(600),
              Instant.parse("2026-12-01T10:08:00Z"),
              secondClear);
      kafka.send(topics.riskSignals(), user, Json.write(fromSecondClear));
      Await.until(WAIT, "the second signal consumed", () -> outcomes(registry) >= 2);

      // Then that one flags the user, and only it is announced
      assertThat(
              db.count(
                  "user_risk_flags WHERE signal_id = ? AND cleared_at IS NULL",
                  fromSecondClear.id()))
          .isEqualTo(1);
      db.awaitOutboxPublished(WAIT);
      assertThat(
              kafka.readAll(topics.paymentEvents()).stream()
                  .filter(r -> user.equals(r.key()))
                  .map(r -> KafkaTestClient.header(r, "event-type").orElse(""))
                  .toList())
          .containsExactly("user.flagged");
    }
  }

  /**
   * A signal of {@code user} whose {@code count} reached the threshold in the ten minutes from
   * {@code windowStart}, raised (crossed) at {@code raisedAt}.
   */
  private static RiskSignal atThreshold(
      String user, Signal signal, int count, Instant windowStart, Instant raisedAt) {
    return RiskSignal.of(
        user, signal, count, count, windowStart, windowStart.plusSeconds(600), raisedAt);
  }

  private static double applied(SimpleMeterRegistry registry) {
    return registry.find("payments.worker.records").tag("outcome", "applied").counters().stream()
        .mapToDouble(c -> c.count())
        .sum();
  }

  private static double outcomes(SimpleMeterRegistry registry) {
    return registry.find("payments.worker.records").counters().stream()
        .mapToDouble(c -> c.count())
        .sum();
  }

  private static List<String> schemaViolations(String type, String json) throws IOException {
    try (InputStream in =
        RiskFlagWorkerTest.class.getResourceAsStream("/schemas/" + type + ".json")) {
      assertThat(in).as("schema of %s", type).isNotNull();
      return SchemaRegistry.withDefaultDialect(
              SpecificationVersion.DRAFT_2020_12,
              builder ->
                  builder.schemaRegistryConfig(
                      SchemaRegistryConfig.builder().formatAssertionsEnabled(true).build()))
          .getSchema(new String(in.readAllBytes(), StandardCharsets.UTF_8))
          .validate(json, InputFormat.JSON)
          .stream()
          .map(Object::toString)
          .toList();
    }
  }

  /**
   * The signal is recorded as covered by the clear made at {@code clearedAt} ("verified by phone"),
   * and its user holds no active flag.
   */
  private void assertCoveredByTheClear(RiskSignal signal, Instant clearedAt) {
    assertThat(
            db.count(
                "user_risk_flags WHERE signal_id = ? AND cleared_at = ?"
                    + " AND clear_reason LIKE '%before the clear of%: verified by phone'",
                signal.id(), java.sql.Timestamp.from(clearedAt)))
        .isEqualTo(1);
    assertThat(
            db.count(
                "user_risk_flags WHERE user_id = ?::uuid AND cleared_at IS NULL"
                    + " AND flagged_until > ?",
                signal.data().userId(),
                java.sql.Timestamp.from(NOW)))
        .isZero();
  }
}
