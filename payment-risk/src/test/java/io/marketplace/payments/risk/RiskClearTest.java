package io.marketplace.payments.risk;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.common.events.PaymentEvent;
import io.marketplace.payments.common.events.PaymentEventType;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.risk.RiskConfig.RiskRules;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.KafkaTestClient;
import io.marketplace.payments.testsupport.TestDatabase;
import io.marketplace.payments.testsupport.TestInfra;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An admin's clear of a user's risk flag on the real broker and database: counting restarts from
 * the clear, so a user who goes on past the threshold in the same window is flagged again, once.
 */
class RiskClearTest {

  private static final Duration WAIT = Duration.ofSeconds(90);

  @TempDir Path stateDir;

  @Test
  void shouldFlagAgainInTheSameWindowWhenTheDeclinesGoOnPastTheThresholdAfterAClear()
      throws Exception {
    // Given the risk service on its own topics and database, ready
    TestDatabase db = TestInfra.freshDatabase();
    Topics topics = TestInfra.freshTopics();
    KafkaTestClient kafka = TestInfra.kafkaClient();
    RiskConfig config = config(topics, db);
    try (RiskService service = RiskService.start(config, Clock.systemUTC())) {
      HttpClient http = HttpClient.newHttpClient();
      URI ready = URI.create("http://localhost:" + service.adminPort() + "/health/ready");
      Await.until(WAIT, "the service is ready", () -> RiskEvents.status(http, ready) == 200);

      // And a card tester flagged for five declines
      String user = UUID.randomUUID().toString();
      Instant start =
          RiskEvents.inOneWindow(Instant.now().minusSeconds(60), config.rules().declines(), 35);
      List<Map.Entry<String, String>> before = declines(user, start, "a");
      before.forEach(d -> kafka.send(topics.stripeEvents(), d.getKey(), d.getValue()));
      Await.until(
          WAIT,
          "the user is flagged",
          () -> db.count("user_risk_flags WHERE user_id = ?::uuid", user) == 1);

      // When a super_admin clears the flag by mistake (as the API does: the rows, then
      // user.risk_cleared on payments.events.v1, keyed by the user)
      Instant clearedAt = start.plusSeconds(10);
      UUID admin = UUID.randomUUID();
      db.execute(
          "UPDATE user_risk_flags SET cleared_at = ?, cleared_by = ?::uuid, clear_reason = ?"
              + " WHERE user_id = ?::uuid AND cleared_at IS NULL",
          java.sql.Timestamp.from(clearedAt),
          admin.toString(),
          "looked like a family sharing a card",
          user);
      String cleared = riskCleared(user, admin, clearedAt);
      kafka.send(topics.paymentEvents(), user, cleared);

      // And the user goes on: five more declines after the clear, in the same window
      List<Map.Entry<String, String>> after = declines(user, start.plusSeconds(20), "b");
      after.forEach(d -> kafka.send(topics.stripeEvents(), d.getKey(), d.getValue()));

      // Then a second signal, with an id of its own, is published for the user
      List<ConsumerRecord<String, byte[]>> signals =
          awaitRecords(kafka, topics.riskSignals().name(), r -> user.equals(r.key()), 2);
      assertThat(signalIds(signals)).hasSize(2);
      // And the user is flagged again: an active, uncleared flag holds them
      Await.until(
          WAIT,
          "the user is flagged again",
          () ->
              db.count(
                      "user_risk_flags WHERE user_id = ?::uuid AND cleared_at IS NULL"
                          + " AND flagged_until > now()",
                      user)
                  == 1);
      assertThat(db.count("user_risk_flags WHERE user_id = ?::uuid", user)).isEqualTo(2);
      awaitRecords(
          kafka,
          topics.paymentEvents().name(),
          r ->
              user.equals(r.key())
                  && "user.flagged".equals(KafkaTestClient.header(r, "event-type").orElse("")),
          2);

      // When an operator replays it all: the clear and both bursts again
      kafka.send(topics.paymentEvents(), user, cleared);
      before.forEach(d -> kafka.send(topics.stripeEvents(), d.getKey(), d.getValue()));
      after.forEach(d -> kafka.send(topics.stripeEvents(), d.getKey(), d.getValue()));

      // Then no signal of a new id, and no new flag
      Await.never(
          Duration.ofSeconds(10),
          "a third signal id for the user",
          () ->
              signalIds(
                          kafka.readAll(topics.riskSignals()).stream()
                              .filter(r -> user.equals(r.key()))
                              .toList())
                      .size()
                  > 2);
      assertThat(db.count("user_risk_flags WHERE user_id = ?::uuid", user)).isEqualTo(2);
    }
  }

  @Test
  void shouldCountFromAClearMadeJustBeforeTheServiceFirstReadsTheClears() throws Exception {
    // Given a user with four declines, then a super_admin's clear of the user, both published
    // before the risk service first reads payments.events.v1 (the upgrade that brings the clears,
    // rolled out moments after the admin's decision)
    TestDatabase db = TestInfra.freshDatabase();
    Topics topics = TestInfra.freshTopics();
    KafkaTestClient kafka = TestInfra.kafkaClient();
    RiskConfig config = config(topics, db);
    String user = UUID.randomUUID().toString();
    Instant start =
        RiskEvents.inOneWindow(Instant.now().minusSeconds(60), config.rules().declines(), 35);
    declines(user, start, "a").stream()
        .limit(4)
        .forEach(d -> kafka.send(topics.stripeEvents(), d.getKey(), d.getValue()));
    Instant clearedAt = start.plusSeconds(10);
    kafka.send(topics.paymentEvents(), user, riskCleared(user, UUID.randomUUID(), clearedAt));

    try (RiskService service = RiskService.start(config, Clock.systemUTC())) {
      HttpClient http = HttpClient.newHttpClient();
      URI ready = URI.create("http://localhost:" + service.adminPort() + "/health/ready");
      Await.until(WAIT, "the service is ready", () -> RiskEvents.status(http, ready) == 200);

      // When the user goes on: five declines after the clear, in the same window
      declines(user, start.plusSeconds(20), "b")
          .forEach(d -> kafka.send(topics.stripeEvents(), d.getKey(), d.getValue()));

      // Then a signal counts from the clear (its id names it): the four declines the admin
      // reviewed count toward nothing, so the user crosses the threshold at the fifth after it.
      // The clear and the declines come from different partitions, read by different tasks: when
      // the clear reaches the counts after the first decline that follows it, a signal counted
      // across it comes first (the flag worker records that one as cleared), then this one
      Instant windowStart =
          Instant.ofEpochSecond(
              Math.floorDiv(start.getEpochSecond(), config.rules().declines().window().toSeconds())
                  * config.rules().declines().window().toSeconds());
      String fromTheClear =
          RiskSignal.idFor(user, Signal.CARD_TESTING_DECLINES, windowStart, clearedAt).toString();
      ConsumerRecord<String, byte[]> signal =
          awaitRecords(
                  kafka,
                  topics.riskSignals().name(),
                  r ->
                      user.equals(r.key())
                          && fromTheClear.equals(json(r.value()).path("id").asText()),
                  1)
              .get(0);
      assertThat(Instant.parse(json(signal.value()).path("occurredAt").asText()))
          .isEqualTo(Instant.ofEpochSecond(start.getEpochSecond() + 24));
    }
  }

  /** The risk service with the default rules on {@code topics} and {@code db}. */
  private RiskConfig config(Topics topics, TestDatabase db) {
    return new RiskConfig(
        TestInfra.kafkaConfig(topics),
        0,
        stateDir,
        0,
        RiskRules.defaults(),
        db.dbConfig(),
        Duration.ofHours(1));
  }

  /** Five declines of distinct PaymentIntents of {@code user}, a second apart from {@code at}. */
  private static List<Map.Entry<String, String>> declines(String user, Instant at, String tag) {
    List<Map.Entry<String, String>> out = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      String pi = "pi_3Pclear" + tag + i + user.replace("-", "");
      out.add(
          Map.entry(
              pi,
              RiskEvents.declined(
                  "evt_3Pclear" + tag + i + user.substring(0, 8), pi, user, at.plusSeconds(i))));
    }
    return out;
  }

  private static List<ConsumerRecord<String, byte[]>> awaitRecords(
      KafkaTestClient kafka,
      String topic,
      java.util.function.Predicate<ConsumerRecord<String, byte[]>> match,
      int count) {
    List<ConsumerRecord<String, byte[]>> matching =
        kafka.readAll(topic, read -> read.stream().filter(match).count() >= count, WAIT).stream()
            .filter(match)
            .toList();
    assertThat(matching).as("records on " + topic).hasSizeGreaterThanOrEqualTo(count);
    return matching;
  }

  private static Set<String> signalIds(List<ConsumerRecord<String, byte[]>> records) {
    return records.stream()
        .map(r -> json(r.value()).path("id").asText())
        .collect(Collectors.toSet());
  }

  private static com.fasterxml.jackson.databind.JsonNode json(byte[] value) {
    try {
      return Json.mapper().readTree(value);
    } catch (java.io.IOException e) {
      throw new AssertionError(e);
    }
  }

  /** {@code user.risk_cleared} as the API announces it. */
  private static String riskCleared(String user, UUID admin, Instant at) {
    Map<String, Object> data = new LinkedHashMap<>();
    data.put("userId", user);
    data.put("clearedBy", admin);
    data.put("reason", "looked like a family sharing a card");
    data.put("clearedAt", at);
    return Json.write(
        PaymentEvent.of(PaymentEventType.USER_RISK_CLEARED, user + ":" + at, at, data));
  }
}
