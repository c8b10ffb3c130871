package io.marketplace.payments.risk;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.marketplace.payments.common.db.DbConfig;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.kafka.KafkaConfig;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.risk.RiskConfig.RiskRules;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
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

/** The risk topology on a test driver: event time is the Stripe events' own, set by each test. */
class RiskTopologyTest {

  private static final Instant T0 = Instant.parse("2026-12-01T10:00:00Z");
  private static final Topics TOPICS = Topics.standard();
  private static final AtomicInteger SEQ = new AtomicInteger();

  @TempDir Path stateDir;

  private TopologyTestDriver driver;
  private TestInputTopic<String, byte[]> stripe;
  private TestInputTopic<String, byte[]> payments;
  private TestOutputTopic<String, byte[]> signals;
  private final String user = UUID.randomUUID().toString();

  @BeforeEach
  void start() {
    driver = driver(RiskRules.defaults());
  }

  @AfterEach
  void stop() {
    driver.close();
  }

  private TopologyTestDriver driver(RiskRules rules) {
    RiskConfig config =
        new RiskConfig(
            new KafkaConfig("localhost:9", TOPICS),
            0,
            stateDir,
            0,
            rules,
            new DbConfig("jdbc:postgresql://localhost:9/none", "none", "", 1),
            Duration.ofHours(1));
    TopologyTestDriver created =
        new TopologyTestDriver(
            RiskTopology.build(TOPICS, rules), RiskService.properties(config), T0);
    stripe =
        created.createInputTopic(
            TOPICS.stripeEvents().name(), new StringSerializer(), new ByteArraySerializer());
    payments =
        created.createInputTopic(
            TOPICS.paymentEvents().name(), new StringSerializer(), new ByteArraySerializer());
    signals =
        created.createOutputTopic(
            TOPICS.riskSignals().name(), new StringDeserializer(), new ByteArrayDeserializer());
    return created;
  }

  @Test
  void shouldEmitOneCardTestingSignalWhenDeclinesReachTheThresholdInAWindow() {
    // Given four declines of one user within ten minutes, out of order
    for (int minute : List.of(7, 1, 4, 2)) {
      deliver(declined(newPi(), user, T0.plusSeconds(60L * minute), null));
    }
    assertThat(signals.isEmpty()).isTrue();

    // When a fifth arrives, and then three more in the same window
    deliver(declined(newPi(), user, T0.plusSeconds(60L * 8), null));
    for (int minute : List.of(3, 9, 5)) {
      deliver(declined(newPi(), user, T0.plusSeconds(60L * minute), null));
    }

    // Then exactly one signal is published, keyed by the user, for the window [10:00, 10:10)
    List<TestRecord<String, byte[]>> out = signals.readRecordsToList();
    assertThat(out).hasSize(1);
    assertThat(out.getFirst().key()).isEqualTo(user);
    JsonNode signal = json(out.getFirst());
    assertThat(signal.path("type").asText()).isEqualTo("risk.signal");
    assertThat(signal.path("version").asInt()).isEqualTo(1);
    assertThat(signal.path("occurredAt").asText()).isEqualTo("2026-12-01T10:08:00Z");
    JsonNode data = signal.path("data");
    assertThat(data.path("userId").asText()).isEqualTo(user);
    assertThat(data.path("signal").asText()).isEqualTo("card_testing_declines");
    assertThat(data.path("count").asLong()).isEqualTo(5);
    assertThat(data.path("threshold").asInt()).isEqualTo(5);
    assertThat(data.path("windowStart").asText()).isEqualTo("2026-12-01T10:00:00Z");
    assertThat(data.path("windowEnd").asText()).isEqualTo("2026-12-01T10:10:00Z");
    assertThat(signal.path("id").asText())
        .isEqualTo(RiskSignal.idFor(user, Signal.CARD_TESTING_DECLINES, T0).toString());
  }

  @Test
  void shouldCountATwinEventOnceWhenStripeDeliversTheSameEventIdAgain() {
    // Given four declines, each delivered twice (Stripe's retries)
    for (int minute = 0; minute < 4; minute++) {
      Map<String, Object> event = declined(newPi(), user, T0.plusSeconds(60L * minute), null);
      deliver(event);
      deliver(event);
    }

    // Then no signal: four distinct events are under the threshold of five
    assertThat(signals.isEmpty()).isTrue();

    // When a fifth distinct decline arrives
    deliver(declined(newPi(), user, T0.plusSeconds(300), null));

    // Then one signal counting five
    List<TestRecord<String, byte[]>> out = signals.readRecordsToList();
    assertThat(out).hasSize(1);
    assertThat(json(out.getFirst()).path("data").path("count").asLong()).isEqualTo(5);
  }

  @Test
  void shouldCountADeclineOnceWhenStripeReportsItInTwoEvents() {
    // Given four declined attempts, each reported in two events with different ids (one charge)
    for (int minute = 0; minute < 4; minute++) {
      String pi = newPi();
      String charge = "ch_" + pi;
      deliver(declined(pi, user, T0.plusSeconds(60L * minute), null, charge));
      deliver(declined(pi, user, T0.plusSeconds(60L * minute + 1), null, charge));
    }

    // Then no signal: four attempts are under the threshold of five
    assertThat(signals.isEmpty()).isTrue();

    // When a fifth attempt is declined
    String pi = newPi();
    deliver(declined(pi, user, T0.plusSeconds(300), null, "ch_" + pi));

    // Then one signal counting five
    List<TestRecord<String, byte[]>> out = signals.readRecordsToList();
    assertThat(out).hasSize(1);
    assertThat(json(out.getFirst()).path("data").path("count").asLong()).isEqualTo(5);
  }

  @Test
  void shouldCountADeclineInOneWindowWhenStripeReportsItInTwoEventsEitherSideOfTheBoundary() {
    // Given four declined attempts in the window [10:00, 10:10)
    for (int second : List.of(300, 360, 420, 480)) {
      deliver(declined(newPi(), user, T0.plusSeconds(second), null));
    }
    // And a fifth, reported at 10:09:59 and again, under another event id, at 10:10:01
    String pi = newPi();
    deliver(declined(pi, user, T0.plusSeconds(599), null, "ch_" + pi));
    deliver(declined(pi, user, T0.plusSeconds(601), null, "ch_" + pi));

    // When four more attempts are declined in [10:10, 10:20)
    for (int second : List.of(660, 720, 780, 840)) {
      deliver(declined(newPi(), user, T0.plusSeconds(second), null));
    }

    // Then one signal, of the first window: the attempt counted there is not one more of the next
    List<TestRecord<String, byte[]>> out = signals.readRecordsToList();
    assertThat(out).hasSize(1);
    assertThat(json(out.getFirst()).path("data").path("windowStart").asText())
        .isEqualTo("2026-12-01T10:00:00Z");
  }

  @Test
  void shouldNotSignalWhenDeclinesAreSpreadOverTwoWindows() {
    // Given three declines in the window [10:00, 10:10) and three in [10:10, 10:20)
    for (int minute : List.of(6, 8, 9, 10, 11, 13)) {
      deliver(declined(newPi(), user, T0.plusSeconds(60L * minute), null));
    }

    // Then no window reached five
    assertThat(signals.isEmpty()).isTrue();
  }

  @Test
  void shouldCountALateDeclineWhenItArrivesWithinTheGracePeriod() {
    // Given four declines in [10:00, 10:10), then stream time moves to 10:13 (grace is 5 minutes)
    for (int minute : List.of(1, 2, 3, 4)) {
      deliver(declined(newPi(), user, T0.plusSeconds(60L * minute), null));
    }
    deliver(declined(newPi(), UUID.randomUUID().toString(), T0.plusSeconds(60L * 13), null));

    // When a decline stamped 10:05 arrives late
    deliver(declined(newPi(), user, T0.plusSeconds(60L * 5), null));

    // Then it counts toward its own window, which reaches the threshold
    List<TestRecord<String, byte[]>> out = signals.readRecordsToList();
    assertThat(out).hasSize(1);
    assertThat(json(out.getFirst()).path("data").path("windowStart").asText())
        .isEqualTo("2026-12-01T10:00:00Z");
  }

  @Test
  void shouldDropALateDeclineWhenItsWindowHasClosed() {
    // Given four declines in [10:00, 10:10), then stream time moves past 10:15 (end plus grace)
    for (int minute : List.of(1, 2, 3, 4)) {
      deliver(declined(newPi(), user, T0.plusSeconds(60L * minute), null));
    }
    deliver(declined(newPi(), UUID.randomUUID().toString(), T0.plusSeconds(60L * 16), null));

    assertThat(droppedAsLate()).isZero();

    // When a decline stamped 10:05 arrives after its window closed
    deliver(declined(newPi(), user, T0.plusSeconds(60L * 5), null));

    // Then it is not counted: no signal; it shows in the dropped records the alert
    // RiskEventsDroppedAsLate watches (kafka_stream_task_dropped_records_total)
    assertThat(signals.isEmpty()).isTrue();
    assertThat(droppedAsLate()).isEqualTo(1.0);
  }

  @Test
  void shouldCountOnTimeDeclinesWhenAnEventArrivedDatedHoursAhead() {
    // Given a decline of another user that arrives at 10:00 dated 13:00 (its sender's clock ahead)
    Map<String, Object> ahead =
        declined(newPi(), UUID.randomUUID().toString(), T0.plus(Duration.ofHours(3)), null);
    stripe.pipeInput(RiskEvents.key(ahead), Json.bytes(ahead), T0);

    // When five declines of the user arrive on time, a minute apart
    for (int minute = 1; minute <= 5; minute++) {
      deliver(declined(newPi(), user, T0.plusSeconds(60L * minute), null));
    }

    // Then they count: the event dated ahead did not close their window; none was dropped
    List<TestRecord<String, byte[]>> out = signals.readRecordsToList();
    assertThat(out).extracting(TestRecord::key).containsExactly(user);
    assertThat(droppedAsLate()).isZero();
  }

  /** Kafka Streams' count of records its tasks dropped, here those of closed windows. */
  private double droppedAsLate() {
    return driver.metrics().entrySet().stream()
        .filter(e -> e.getKey().group().equals("stream-task-metrics"))
        .filter(e -> e.getKey().name().equals("dropped-records-total"))
        .mapToDouble(e -> ((Number) e.getValue().metricValue()).doubleValue())
        .sum();
  }

  @Test
  void shouldSignalCardTestingWhenDistinctCardFingerprintsReachTheThreshold() {
    // Given a user paying with three distinct cards, one of them twice, within ten minutes
    // (declines under their own threshold)
    deliver(declined(newPi(), user, T0.plusSeconds(10), "fp_A"));
    deliver(succeeded(newPi(), user, T0.plusSeconds(20), "fp_A"));
    deliver(declined(newPi(), user, T0.plusSeconds(30), "fp_B"));
    deliver(succeeded(newPi(), user, T0.plusSeconds(40), "fp_C"));
    assertThat(signals.isEmpty()).isTrue();

    // When a fourth distinct card is tried, and then a fifth
    deliver(succeeded(newPi(), user, T0.plusSeconds(50), "fp_D"));
    deliver(succeeded(newPi(), user, T0.plusSeconds(60), "fp_E"));

    // Then one fingerprint signal counting four
    List<TestRecord<String, byte[]>> out = signals.readRecordsToList();
    assertThat(out).hasSize(1);
    JsonNode data = json(out.getFirst()).path("data");
    assertThat(data.path("signal").asText()).isEqualTo("card_testing_fingerprints");
    assertThat(data.path("count").asLong()).isEqualTo(4);
    assertThat(data.path("threshold").asInt()).isEqualTo(4);
  }

  @Test
  void shouldSignalAChargebackSpikeWhenDisputesOfAUsersPaymentsReachTheThreshold() {
    // Given three paid PaymentIntents of one user (their events carry metadata[user_id])
    String pi1 = newPi();
    String pi2 = newPi();
    String pi3 = newPi();
    for (String pi : List.of(pi1, pi2, pi3)) {
      deliver(succeeded(pi, user, T0, null));
    }

    // When an inquiry, a dispute Stripe's prevention resolved before it was a chargeback, and a
    // dispute are opened (disputes carry no metadata), and the dispute created event is delivered
    // twice
    deliver(RiskEvents.dispute(pi1, "warning_needs_response", T0.plusSeconds(3600)));
    deliver(RiskEvents.dispute(pi1, "prevented", T0.plusSeconds(3700)));
    Map<String, Object> first = RiskEvents.dispute(pi2, "needs_response", T0.plusSeconds(7200));
    deliver(first);
    deliver(first);

    // Then no signal: an inquiry and a prevented dispute do not count, and a twin is one dispute
    assertThat(signals.isEmpty()).isTrue();

    // When a second dispute is opened within the day
    deliver(RiskEvents.dispute(pi3, "needs_response", T0.plusSeconds(3 * 3600)));

    // Then one chargeback-spike signal for the user
    List<TestRecord<String, byte[]>> out = signals.readRecordsToList();
    assertThat(out).hasSize(1);
    assertThat(out.getFirst().key()).isEqualTo(user);
    JsonNode data = json(out.getFirst()).path("data");
    assertThat(data.path("signal").asText()).isEqualTo("chargeback_spike");
    assertThat(data.path("count").asLong()).isEqualTo(2);
    assertThat(data.path("windowStart").asText()).isEqualTo("2026-12-01T00:00:00Z");
    assertThat(data.path("windowEnd").asText()).isEqualTo("2026-12-02T00:00:00Z");
  }

  @Test
  void shouldCountADisputeWhenItArrivesBeforeItsPaymentIntentsEvents() {
    // Given a PaymentIntent of the user paid at 23:50, whose dispute, opened after midnight, is
    // delivered before any payment_intent.* event of it (Stripe does not guarantee the order), and
    // delivered twice
    String early = newPi();
    Instant midnight = Instant.parse("2026-12-02T00:00:00Z");
    Map<String, Object> dispute =
        RiskEvents.dispute(early, "needs_response", midnight.plusSeconds(10 * 60));
    deliver(dispute);
    deliver(dispute);

    // When the PaymentIntent's events arrive: the payment, and the same fact again under another
    // event id (as a reconciliation publishes it)
    deliver(succeeded(early, user, midnight.minusSeconds(10 * 60), null));
    deliver(succeeded(early, user, midnight.minusSeconds(10 * 60), null));

    // Then no signal yet: one dispute
    assertThat(signals.isEmpty()).isTrue();

    // When a second dispute of the user's payments is opened that day
    String later = newPi();
    deliver(succeeded(later, user, midnight.plusSeconds(3600), null));
    deliver(RiskEvents.dispute(later, "needs_response", midnight.plusSeconds(2 * 3600)));

    // Then one chargeback-spike signal counting both, in the day of the disputes (the early one
    // counted in its own window, not in the day of the payment that made its user known)
    List<TestRecord<String, byte[]>> out = signals.readRecordsToList();
    assertThat(out).hasSize(1);
    assertThat(out.getFirst().key()).isEqualTo(user);
    JsonNode data = json(out.getFirst()).path("data");
    assertThat(data.path("signal").asText()).isEqualTo("chargeback_spike");
    assertThat(data.path("count").asLong()).isEqualTo(2);
    assertThat(data.path("windowStart").asText()).isEqualTo("2026-12-02T00:00:00Z");
  }

  @Test
  void shouldLetAParkedDisputeExpireUncountedWhenItsPaymentIntentsEventsComeAfterTheRetention() {
    // Given a dispute delivered 30 days ago before any payment_intent.* event of its
    // PaymentIntent (parked), and the payments and disputes of other users since
    String early = newPi();
    deliver(RiskEvents.dispute(early, "needs_response", T0.minus(Duration.ofDays(30))));
    deliver(succeeded(newPi(), UUID.randomUUID().toString(), T0.minus(Duration.ofDays(15)), null));
    String others = newPi();
    deliver(succeeded(others, UUID.randomUUID().toString(), T0, null));
    deliver(RiskEvents.dispute(others, "needs_response", T0.plusSeconds(30)));

    // When a payment_intent.* event of its PaymentIntent names its user today, longer than the 7
    // days a parked dispute is kept after it
    deliver(succeeded(early, user, T0.plusSeconds(60), null));
    // and a dispute of another payment of the user comes today
    String today = newPi();
    deliver(succeeded(today, user, T0.plusSeconds(120), null));
    deliver(RiskEvents.dispute(today, "needs_response", T0.plusSeconds(180)));

    // Then the parked dispute had expired: not counted, and not dropped as late either (which
    // would have fired RiskEventsDroppedAsLate for a dispute nobody was waiting for)
    assertThat(signals.isEmpty()).isTrue();
    assertThat(droppedAsLate()).isZero();
  }

  @Test
  void shouldCountAnInquiryOnceWhenItEscalatesToAChargeback() {
    // Given two paid PaymentIntents of one user
    String pi1 = newPi();
    String pi2 = newPi();
    deliver(succeeded(pi1, user, T0, null));
    deliver(succeeded(pi2, user, T0, null));

    // When an inquiry on the first is opened, then escalated to a chargeback (Stripe tells the
    // escalation twice: the update from the inquiry's status, and the funds withdrawn), then
    // answered with evidence and lost (later events of the same chargeback)
    Map<String, Object> inquiry =
        RiskEvents.dispute(pi1, "warning_needs_response", T0.plusSeconds(600));
    deliver(inquiry);
    deliver(
        RiskEvents.disputeLater(
            inquiry,
            "charge.dispute.updated",
            "needs_response",
            "warning_needs_response",
            T0.plusSeconds(3600)));
    deliver(
        RiskEvents.disputeLater(
            inquiry,
            "charge.dispute.funds_withdrawn",
            "needs_response",
            null,
            T0.plusSeconds(3601)));
    deliver(
        RiskEvents.disputeLater(
            inquiry,
            "charge.dispute.updated",
            "under_review",
            "needs_response",
            T0.plusSeconds(7200)));
    deliver(
        RiskEvents.disputeLater(
            inquiry, "charge.dispute.closed", "lost", null, T0.plusSeconds(7300)));

    // Then no signal: one chargeback, however many of its events
    assertThat(signals.isEmpty()).isTrue();

    // When a second inquiry of the user's payments escalates that day, told only by its funds
    // withdrawn
    Map<String, Object> second =
        RiskEvents.dispute(pi2, "warning_under_review", T0.plusSeconds(8000));
    deliver(second);
    deliver(
        RiskEvents.disputeLater(
            second,
            "charge.dispute.funds_withdrawn",
            "needs_response",
            null,
            T0.plusSeconds(9000)));

    // Then one chargeback-spike signal counting the two escalated inquiries
    List<TestRecord<String, byte[]>> out = signals.readRecordsToList();
    assertThat(out).hasSize(1);
    JsonNode data = json(out.getFirst()).path("data");
    assertThat(data.path("signal").asText()).isEqualTo("chargeback_spike");
    assertThat(data.path("count").asLong()).isEqualTo(2);
  }

  @Test
  void shouldNotCountTheCardsOfOldPaymentsWhenTheyAreRefunded() {
    // Given a user who paid four listings with four cards over the past weeks
    List<String> paid = new java.util.ArrayList<>();
    for (int week = 1; week <= 4; week++) {
      String pi = newPi();
      paid.add(pi);
      deliver(succeeded(pi, user, T0.minus(Duration.ofDays(7L * week)), "fp_" + week));
    }

    // When the four payments are refunded within minutes (a moderation sweep): each
    // charge.refunded shows the card the payment was made with
    for (int i = 0; i < paid.size(); i++) {
      Map<String, Object> charge = new LinkedHashMap<>();
      charge.put("id", "ch_" + paid.get(i));
      charge.put("object", "charge");
      charge.put("payment_intent", paid.get(i));
      charge.put(
          "payment_method_details",
          Map.of("type", "card", "card", Map.of("fingerprint", "fp_" + (i + 1))));
      charge.put("refunds", Map.of("data", List.of(Map.of("id", "re_" + paid.get(i)))));
      deliver(RiskEvents.event("charge.refunded", T0.plusSeconds(60L * i), charge));
    }

    // Then no card-testing signal: no card was tried
    assertThat(signals.readRecordsToList()).isEmpty();
  }

  @Test
  void shouldDateASignalByItsLatestEventWhenALateOneArrivesLast() {
    // Given four declines at 10:06 to 10:09
    for (int minute : List.of(6, 7, 8, 9)) {
      deliver(declined(newPi(), user, T0.plusSeconds(60L * minute), null));
    }

    // When a decline of 10:01, delivered late, arrives fifth
    deliver(declined(newPi(), user, T0.plusSeconds(60), null));

    // Then the signal is dated when the window held five declines, 10:09, not by the late one
    // (an admin's clear at 10:05 must not cover the four that came after it)
    assertThat(json(signals.readRecord()).path("occurredAt").asText())
        .isEqualTo("2026-12-01T10:09:00Z");
  }

  @Test
  void shouldPublishTheSameSignalIdWhenTheSameEventsAreProcessedAgain() {
    // Given the events of a burst of declines
    List<Map<String, Object>> burst =
        List.of(
            declined(newPi(), user, T0.plusSeconds(1), null),
            declined(newPi(), user, T0.plusSeconds(2), null),
            declined(newPi(), user, T0.plusSeconds(3), null),
            declined(newPi(), user, T0.plusSeconds(4), null),
            declined(newPi(), user, T0.plusSeconds(5), null));
    burst.forEach(this::deliver);
    String firstId = json(signals.readRecord()).path("id").asText();

    // When they are processed again from scratch (a replay into fresh state)
    driver.close();
    driver = driver(RiskRules.defaults());
    burst.forEach(this::deliver);

    // Then the signal has the same id
    assertThat(json(signals.readRecord()).path("id").asText()).isEqualTo(firstId);
  }

  @Test
  void shouldIgnoreARecordWhenItIsNotAStripeEvent() {
    // Given a record that is not a Stripe event, then five declines
    stripe.pipeInput("pi_x", "{not json".getBytes(), T0);
    for (int i = 0; i < 5; i++) {
      deliver(declined(newPi(), user, T0.plusSeconds(i), null));
    }

    // Then the service goes on and signals
    assertThat(signals.readRecordsToList()).hasSize(1);
  }

  // --- Stripe-shaped events, with only the fields the risk service reads and some it does not

  @Test
  void shouldCountFromAnAdminsClearWhateverOrderItAndTheDeclinesArriveIn() {
    // Given a user flagged for five declines in [10:00, 10:10)
    for (int minute = 0; minute < 5; minute++) {
      deliver(declined(newPi(), user, T0.plusSeconds(60L * minute), null));
    }
    assertThat(signals.readRecordsToList()).hasSize(1);

    // When two declines after the admin's clear of 10:05 arrive before the clear does
    deliver(declined(newPi(), user, T0.plusSeconds(60L * 6), null));
    deliver(declined(newPi(), user, T0.plusSeconds(60L * 7), null));
    Instant clearedAt = T0.plusSeconds(60L * 5);
    byte[] clear = riskCleared(user, clearedAt);
    payments.pipeInput(user, clear, clearedAt.plusMillis(200));
    // And one from before the clear arrives late, after it
    deliver(declined(newPi(), user, T0.plusSeconds(60L * 4 + 30), null));
    assertThat(signals.isEmpty()).isTrue();

    // And two more after it: four since the clear
    deliver(declined(newPi(), user, T0.plusSeconds(60L * 8), null));
    deliver(declined(newPi(), user, T0.plusSeconds(60L * 9), null));
    assertThat(signals.isEmpty()).isTrue();

    // When a fifth since the clear comes
    deliver(declined(newPi(), user, T0.plusSeconds(60L * 9 + 30), null));

    // Then one more signal for the window, with an id of its own, dated by the fifth
    List<TestRecord<String, byte[]>> out = signals.readRecordsToList();
    assertThat(out).hasSize(1);
    JsonNode signal = json(out.getFirst());
    assertThat(signal.path("id").asText())
        .isEqualTo(RiskSignal.idFor(user, Signal.CARD_TESTING_DECLINES, T0, clearedAt).toString())
        .isNotEqualTo(RiskSignal.idFor(user, Signal.CARD_TESTING_DECLINES, T0).toString());
    assertThat(signal.path("occurredAt").asText()).isEqualTo("2026-12-01T10:09:30Z");
    assertThat(signal.path("data").path("count").asLong()).isEqualTo(5);
    assertThat(signal.path("data").path("windowStart").asText()).isEqualTo("2026-12-01T10:00:00Z");

    // When the same clear is delivered again, and more declines come
    payments.pipeInput(user, clear, clearedAt.plusMillis(300));
    deliver(declined(newPi(), user, T0.plusSeconds(60L * 9 + 40), null));

    // Then nothing more is published: the count restarts once per clear
    assertThat(signals.isEmpty()).isTrue();
  }

  @Test
  void shouldCountACardTriedAgainAfterTheClearWhenItsRetryArrivedBeforeTheClearDid() {
    // Given a user flagged for four cards in [10:00, 10:10)
    List<String> cards = List.of("fp_a", "fp_b", "fp_c", "fp_d");
    for (int minute = 0; minute < 4; minute++) {
      deliver(declined(newPi(), user, T0.plusSeconds(60L * minute), cards.get(minute)));
    }
    assertThat(fingerprintSignals(signals.readRecordsToList())).hasSize(1);

    // When the first card is tried again at 10:06, after an admin's clear of 10:05 that reaches
    // the service only after that attempt
    deliver(declined(newPi(), user, T0.plusSeconds(60L * 6), "fp_a"));
    Instant clearedAt = T0.plusSeconds(60L * 5);
    payments.pipeInput(user, riskCleared(user, clearedAt), clearedAt.plusMillis(200));
    // And the three other cards are tried again after the clear
    for (int minute = 7; minute < 10; minute++) {
      deliver(declined(newPi(), user, T0.plusSeconds(60L * minute), cards.get(minute - 6)));
    }

    // Then four cards were tried since the clear: the user is flagged again, once
    List<JsonNode> again = fingerprintSignals(signals.readRecordsToList());
    assertThat(again).hasSize(1);
    assertThat(again.getFirst().path("id").asText())
        .isEqualTo(
            RiskSignal.idFor(user, Signal.CARD_TESTING_FINGERPRINTS, T0, clearedAt).toString());
  }

  private List<JsonNode> fingerprintSignals(List<TestRecord<String, byte[]>> records) {
    return records.stream()
        .map(RiskTopologyTest::json)
        .filter(s -> s.path("data").path("signal").asText().equals("card_testing_fingerprints"))
        .toList();
  }

  @Test
  void shouldPassOverTheOtherEventsOfPaymentEvents() {
    // Given four declines of a user
    for (int minute = 0; minute < 4; minute++) {
      deliver(declined(newPi(), user, T0.plusSeconds(60L * minute), null));
    }
    // When payments.events.v1 carries other events of the user, and a record that is not JSON
    payments.pipeInput(
        user,
        Json.bytes(
            io.marketplace.payments.common.events.PaymentEvent.of(
                io.marketplace.payments.common.events.PaymentEventType.USER_UNBANNED,
                user,
                T0.plusSeconds(90),
                Map.of("userId", user))),
        T0.plusSeconds(90));
    payments.pipeInput(user, "not json".getBytes(), T0.plusSeconds(91));

    // Then the count goes on: a fifth decline flags the user
    deliver(declined(newPi(), user, T0.plusSeconds(60L * 4), null));
    assertThat(signals.readRecordsToList()).hasSize(1);
  }

  private static byte[] riskCleared(String user, Instant at) {
    Map<String, Object> data = new LinkedHashMap<>();
    data.put("userId", user);
    data.put("clearedBy", UUID.randomUUID());
    data.put("reason", "cleared by mistake");
    data.put("clearedAt", at);
    return Json.bytes(
        io.marketplace.payments.common.events.PaymentEvent.of(
            io.marketplace.payments.common.events.PaymentEventType.USER_RISK_CLEARED,
            user + ":" + at,
            at,
            data));
  }

  private void deliver(Map<String, Object> event) {
    stripe.pipeInput(RiskEvents.key(event), Json.bytes(event), RiskEvents.arrival(event));
  }

  private static String newPi() {
    return "pi_3Prisk" + SEQ.incrementAndGet();
  }

  private static Map<String, Object> declined(
      String pi, String user, Instant created, String fingerprint) {
    return declined(pi, user, created, fingerprint, null);
  }

  /** A decline; {@code charge} the charge of the attempt, or null when Stripe names none. */
  private static Map<String, Object> declined(
      String pi, String user, Instant created, String fingerprint, String charge) {
    Map<String, Object> pi0 = paymentIntent(pi, user, "requires_payment_method");
    Map<String, Object> card = new LinkedHashMap<>(Map.of("brand", "visa", "last4", "0002"));
    if (fingerprint != null) {
      card.put("fingerprint", fingerprint);
    }
    Map<String, Object> error = new LinkedHashMap<>();
    error.put("code", "card_declined");
    error.put("payment_method", Map.of("id", "pm_x", "object", "payment_method", "card", card));
    if (charge != null) {
      error.put("charge", charge);
    }
    pi0.put("last_payment_error", error);
    return RiskEvents.event("payment_intent.payment_failed", created, pi0);
  }

  private static Map<String, Object> succeeded(
      String pi, String user, Instant created, String fingerprint) {
    Map<String, Object> pi0 = paymentIntent(pi, user, "succeeded");
    if (fingerprint != null) {
      pi0.put(
          "latest_charge",
          Map.of(
              "id",
              "ch_" + pi,
              "object",
              "charge",
              "payment_method_details",
              Map.of("type", "card", "card", Map.of("fingerprint", fingerprint))));
    }
    return RiskEvents.event("payment_intent.succeeded", created, pi0);
  }

  private static Map<String, Object> paymentIntent(String pi, String user, String status) {
    Map<String, Object> object = new LinkedHashMap<>();
    object.put("id", pi);
    object.put("object", "payment_intent");
    object.put("amount", 500);
    object.put("currency", "usd");
    object.put("status", status);
    object.put("some_future_field", Map.of("nested", true));
    object.put(
        "metadata",
        Map.of("user_id", user, "listing_id", UUID.randomUUID().toString(), "payment_type", "x"));
    return object;
  }

  static JsonNode json(TestRecord<String, byte[]> record) {
    try {
      return Json.mapper().readTree(record.value());
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }
}
