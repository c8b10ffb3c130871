package io.marketplace.payments.risk;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.marketplace.payments.common.config.Env;
import io.marketplace.payments.common.db.DbConfig;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.kafka.KafkaConfig;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.risk.RiskConfig.RiskRules;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How long the risk topology remembers whose payment a PaymentIntent is ({@code
 * RISK_PAYMENT_INTENT_RETENTION}, 180 days): a dispute carries no metadata and finds its user
 * there. On a test driver, whose wall clock each test moves with the Stripe events' time.
 */
class RiskPaymentIntentRetentionTest {

  private static final Instant T0 = Instant.parse("2026-12-01T10:00:00Z");
  private static final Topics TOPICS = Topics.standard();
  private static final AtomicInteger SEQ = new AtomicInteger();

  /** The users' store's changelog, as Kafka Streams names it. */
  private static final String USERS_CHANGELOG =
      RiskService.APPLICATION_ID + "-" + StripeObservations.PAYMENT_INTENT_USERS + "-changelog";

  @TempDir Path stateDir;

  private TopologyTestDriver driver;
  private TestInputTopic<String, byte[]> stripe;
  private TestOutputTopic<String, byte[]> signals;
  private Instant wallClock = T0;
  private final String user = UUID.randomUUID().toString();

  private final RiskRules rules = RiskRules.fromEnv(Env.of(Map.of()));
  private final RiskConfig config =
      new RiskConfig(
          new KafkaConfig("localhost:9", TOPICS),
          0,
          Path.of("unused"),
          0,
          rules,
          new DbConfig("jdbc:postgresql://localhost:9/none", "none", "", 1),
          Duration.ofHours(1));

  @BeforeEach
  void start() {
    driver =
        new TopologyTestDriver(
            RiskTopology.build(TOPICS, rules),
            RiskService.properties(config.withStateDir(stateDir)),
            T0);
    stripe =
        driver.createInputTopic(
            TOPICS.stripeEvents().name(), new StringSerializer(), new ByteArraySerializer());
    signals =
        driver.createOutputTopic(
            TOPICS.riskSignals().name(), new StringDeserializer(), new ByteArrayDeserializer());
  }

  @AfterEach
  void stop() {
    driver.close();
  }

  @Test
  void shouldForgetWhosePaymentItIsWhenNoEventOfThePaymentIntentCameForTheRetention() {
    // Given a payment of the user 181 days ago, one 81 days ago, and one today
    Instant today = T0.plus(Duration.ofDays(181));
    String old = newPi();
    String recent = newPi();
    String fresh = newPi();
    deliver(paid(old, user, T0));
    deliver(paid(recent, user, T0.plus(Duration.ofDays(100))));
    deliver(paid(fresh, user, today));
    // And the risk service's sweeps meanwhile (a sweep looks every 10 seconds)
    sweepAt(today);

    // When the first two are disputed today (two disputes are a chargeback spike)
    deliver(RiskEvents.dispute(old, "needs_response", today.plus(Duration.ofHours(1))));
    deliver(RiskEvents.dispute(recent, "needs_response", today.plus(Duration.ofHours(2))));

    // Then no signal: the PaymentIntent paid 181 days ago is forgotten (180 days), its dispute is
    // one of a PaymentIntent nobody knows: parked for a payment_intent.* event to name its user
    // (which never comes), not counted
    assertThat(signals.isEmpty()).isTrue();
    // And its entry left the changelog too (a tombstone), so a restore does not bring it back
    List<TestRecord<String, String>> logged =
        driver
            .createOutputTopic(USERS_CHANGELOG, new StringDeserializer(), new StringDeserializer())
            .readRecordsToList();
    assertThat(logged)
        .filteredOn(r -> r.key().equals(old))
        .extracting(TestRecord::value)
        .containsExactly(user, null);

    // When today's payment is disputed as well
    deliver(RiskEvents.dispute(fresh, "needs_response", today.plus(Duration.ofHours(3))));

    // Then a chargeback spike of the user counting two: the payment of 81 days ago was still known
    List<TestRecord<String, byte[]>> out = signals.readRecordsToList();
    assertThat(out).hasSize(1);
    assertThat(out.getFirst().key()).isEqualTo(user);
    JsonNode data = RiskTopologyTest.json(out.getFirst()).path("data");
    assertThat(data.path("signal").asText()).isEqualTo("chargeback_spike");
    assertThat(data.path("count").asLong()).isEqualTo(2);
  }

  @Test
  void shouldRememberWhosePaymentItIsFromItsLastEventWhenItIsDisputedLongAfterThePayment() {
    // Given a payment of the user 290 days ago, disputed as an inquiry 170 days later
    Instant paidAt = T0;
    Instant inquiredAt = T0.plus(Duration.ofDays(170));
    Instant today = T0.plus(Duration.ofDays(290));
    String pi = newPi();
    deliver(paid(pi, user, paidAt));
    sweepAt(inquiredAt);
    Map<String, Object> inquiry = RiskEvents.dispute(pi, "warning_needs_response", inquiredAt);
    deliver(inquiry);
    // And another payment of the user today, disputed
    String other = newPi();
    deliver(paid(other, user, today));
    sweepAt(today);
    deliver(RiskEvents.dispute(other, "needs_response", today.plus(Duration.ofMinutes(1))));
    assertThat(signals.isEmpty()).isTrue();

    // When the inquiry escalates to a chargeback today, 120 days after its last event
    deliver(
        RiskEvents.disputeLater(
            inquiry,
            "charge.dispute.funds_withdrawn",
            "needs_response",
            null,
            today.plus(Duration.ofMinutes(2))));

    // Then it counts toward the user: the inquiry kept the PaymentIntent's user remembered
    List<TestRecord<String, byte[]>> out = signals.readRecordsToList();
    assertThat(out).hasSize(1);
    assertThat(out.getFirst().key()).isEqualTo(user);
    assertThat(RiskTopologyTest.json(out.getFirst()).path("data").path("count").asLong())
        .isEqualTo(2);
  }

  /** Moves the driver's wall clock to {@code at}, which runs the sweep once. */
  private void sweepAt(Instant at) {
    driver.advanceWallClockTime(Duration.between(wallClock, at));
    wallClock = at;
  }

  private void deliver(Map<String, Object> event) {
    stripe.pipeInput(RiskEvents.key(event), Json.bytes(event), RiskEvents.arrival(event));
  }

  private static String newPi() {
    return "pi_3Pkeep" + SEQ.incrementAndGet();
  }

  private static Map<String, Object> paid(String pi, String user, Instant created) {
    return RiskEvents.event(
        "payment_intent.succeeded",
        created,
        Map.of(
            "id",
            pi,
            "object",
            "payment_intent",
            "status",
            "succeeded",
            "metadata",
            Map.of("user_id", user, "category_id", "7")));
  }
}
