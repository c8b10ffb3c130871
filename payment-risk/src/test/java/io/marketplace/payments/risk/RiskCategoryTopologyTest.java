package io.marketplace.payments.risk;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.common.config.Env;
import io.marketplace.payments.common.db.DbConfig;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.kafka.KafkaConfig;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.risk.RiskConfig.RiskRules;
import io.marketplace.payments.testsupport.MutableClock;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
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

/**
 * The per-category part of the risk topology on a test driver: the category chargeback spike and
 * the hourly decline and refund rates, on the service's metrics and never on {@code
 * risk.signals.v1} (whose records are a user's, SPEC §4). Event time is the Stripe events' own; the
 * gauges' clock is set by each test.
 */
class RiskCategoryTopologyTest {

  private static final Instant T0 = Instant.parse("2026-12-01T10:00:00Z");
  private static final Topics TOPICS = Topics.standard();
  private static final AtomicInteger SEQ = new AtomicInteger();

  @TempDir Path stateDir;

  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final MutableClock clock = new MutableClock(T0);
  private TopologyTestDriver driver;
  private TestInputTopic<String, byte[]> stripe;
  private TestOutputTopic<String, byte[]> signals;
  private final List<RiskSignal> spikes = new java.util.ArrayList<>();

  @BeforeEach
  void start() {
    RiskRules rules =
        RiskRules.fromEnv(
            Env.of(
                Map.of("RISK_CATEGORY_DISPUTES_THRESHOLD", "3", "RISK_DISPUTES_THRESHOLD", "100")));
    RiskConfig config =
        new RiskConfig(
            new KafkaConfig("localhost:9", TOPICS),
            0,
            stateDir,
            0,
            rules,
            new DbConfig("jdbc:postgresql://localhost:9/none", "none", "", 1),
            Duration.ofHours(1));
    driver =
        new TopologyTestDriver(
            RiskTopology.build(
                TOPICS, rules, new SpikeRecorder(new CategoryMetrics(registry, clock))),
            RiskService.properties(config),
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
  void shouldSignalACategoryChargebackSpikeOncePerWindowWhenDisputesReachTheThreshold() {
    // Given paid PaymentIntents of different users in category 42, and one in category 43
    List<String> pis = List.of(newPi(), newPi(), newPi(), newPi(), newPi(), newPi(), newPi());
    for (String pi : pis) {
      deliver(succeeded(pi, "42", T0));
    }
    String other = newPi();
    deliver(succeeded(other, "43", T0));

    // When an inquiry, a dispute delivered twice, and a dispute in another category are opened
    // (disputes carry no metadata)
    deliver(RiskEvents.dispute(pis.get(0), "warning_needs_response", T0.plusSeconds(3600)));
    Map<String, Object> twin =
        RiskEvents.dispute(pis.get(1), "needs_response", T0.plusSeconds(7200));
    deliver(twin);
    deliver(twin);
    deliver(RiskEvents.dispute(other, "needs_response", T0.plusSeconds(7300)));
    deliver(RiskEvents.dispute(pis.get(2), "under_review", T0.plusSeconds(7400)));

    // Then no signal yet: the inquiry does not count, the twin is one dispute, 43 is another
    assertThat(signals.isEmpty()).isTrue();

    // When a third dispute of category 42 is opened that day, and then a fourth
    deliver(RiskEvents.dispute(pis.get(3), "needs_response", T0.plusSeconds(3 * 3600)));
    deliver(RiskEvents.dispute(pis.get(4), "needs_response", T0.plusSeconds(4 * 3600)));

    // Then one spike of the category, with nobody's user id, counted on the service's metrics
    // and published nowhere (risk.signals.v1 is users' signals)
    assertThat(signals.isEmpty()).isTrue();
    assertThat(spikes).hasSize(1);
    RiskSignal spike = spikes.getFirst();
    RiskSignal.Data data = spike.data();
    assertThat(data.categoryScoped()).isTrue();
    assertThat(data.categoryId()).isEqualTo("42");
    assertThat(data.userId()).isNull();
    assertThat(data.signal()).isEqualTo(Signal.CHARGEBACK_SPIKE);
    assertThat(data.count()).isEqualTo(3);
    assertThat(data.threshold()).isEqualTo(3);
    assertThat(data.windowStart()).isEqualTo(Instant.parse("2026-12-01T00:00:00Z"));
    assertThat(data.windowEnd()).isEqualTo(Instant.parse("2026-12-02T00:00:00Z"));
    assertThat(spike.occurredAt()).isEqualTo(Instant.parse("2026-12-01T13:00:00Z"));
    assertThat(categorySignals("42")).isEqualTo(1.0);

    // When three more disputes of the category are opened the next day
    Instant nextDay = T0.plus(Duration.ofDays(1));
    deliver(RiskEvents.dispute(pis.get(5), "needs_response", nextDay));
    deliver(RiskEvents.dispute(pis.get(6), "needs_response", nextDay.plusSeconds(60)));
    deliver(RiskEvents.dispute(pis.get(0), "needs_response", nextDay.plusSeconds(120)));

    // Then one more spike, of the next day's window
    assertThat(signals.isEmpty()).isTrue();
    assertThat(spikes).hasSize(2);
    assertThat(spikes.get(1).data().windowStart()).isEqualTo(Instant.parse("2026-12-02T00:00:00Z"));
    assertThat(categorySignals("42")).isEqualTo(2.0);
    assertThat(categorySignals("43")).isZero();
  }

  @Test
  void shouldCountDisputesTowardACategorySpikeWhenTheyArriveBeforeTheirPaymentIntentsEvents() {
    // Given three disputes of category 42's payments delivered before any payment_intent.* event
    // of their PaymentIntents (no order is guaranteed), one of them delivered twice
    List<String> pis = List.of(newPi(), newPi(), newPi());
    Map<String, Object> twin = RiskEvents.dispute(pis.get(0), "needs_response", T0.plusSeconds(60));
    deliver(twin);
    deliver(twin);
    deliver(RiskEvents.dispute(pis.get(1), "needs_response", T0.plusSeconds(120)));
    deliver(RiskEvents.dispute(pis.get(2), "needs_response", T0.plusSeconds(180)));
    assertThat(spikes).isEmpty();

    // When the PaymentIntents' events arrive, the first one's twice under two event ids
    deliver(succeeded(pis.get(0), "42", T0));
    deliver(succeeded(pis.get(0), "42", T0));
    deliver(succeeded(pis.get(1), "42", T0));
    assertThat(spikes).isEmpty();
    deliver(succeeded(pis.get(2), "42", T0));

    // Then one spike of the category counting the three disputes, crossed by the third dispute
    assertThat(spikes).hasSize(1);
    RiskSignal.Data data = spikes.getFirst().data();
    assertThat(data.categoryId()).isEqualTo("42");
    assertThat(data.count()).isEqualTo(3);
    assertThat(data.windowStart()).isEqualTo(Instant.parse("2026-12-01T00:00:00Z"));
    assertThat(spikes.getFirst().occurredAt()).isEqualTo(T0.plusSeconds(180));
    assertThat(categorySignals("42")).isEqualTo(1.0);
    assertThat(signals.isEmpty()).isTrue();
  }

  private double categorySignals(String category) {
    var counter =
        registry
            .find("payments.risk.category.signals")
            .tag("category", category)
            .tag("signal", "chargeback_spike")
            .counter();
    return counter == null ? 0 : counter.count();
  }

  /** Keeps each category spike the topology reports, and passes everything on. */
  private final class SpikeRecorder implements RiskTopology.CategoryRatesSink {
    private final CategoryMetrics metrics;

    SpikeRecorder(CategoryMetrics metrics) {
      this.metrics = metrics;
    }

    @Override
    public void update(
        String categoryId, Instant windowStart, Instant windowEnd, CategoryRates rates) {
      metrics.update(categoryId, windowStart, windowEnd, rates);
    }

    @Override
    public void chargebackSpike(RiskSignal spike) {
      spikes.add(spike);
      metrics.chargebackSpike(spike);
    }
  }

  @Test
  void shouldExportDeclineAndRefundRatesPerCategoryWhenPaymentsOfTheHourArrive() {
    // Given the clock within the hour [10:00, 11:00)
    clock.set(T0.plusSeconds(50 * 60));
    // When category 7 has three payments succeed (one event delivered twice) and one declined
    List<String> paid = List.of(newPi(), newPi(), newPi());
    Map<String, Object> twin = succeeded(paid.get(0), "7", T0.plusSeconds(60));
    deliver(twin);
    deliver(twin);
    deliver(succeeded(paid.get(1), "7", T0.plusSeconds(120)));
    deliver(succeeded(paid.get(2), "7", T0.plusSeconds(180)));
    deliver(declined(newPi(), "7", T0.plusSeconds(240)));
    // and two refunds, one reported by both refund.created and charge.refunded, the refund events
    // without the category in their metadata
    deliver(refundCreated("re_1cat7", paid.get(0), T0.plusSeconds(600)));
    deliver(chargeRefunded(paid.get(0), List.of("re_1cat7"), T0.plusSeconds(601)));
    deliver(refundCreated("re_2cat7", paid.get(1), T0.plusSeconds(700)));
    // and category 8 one payment succeeded and one declined
    deliver(succeeded(newPi(), "8", T0.plusSeconds(300)));
    deliver(declined(newPi(), "8", T0.plusSeconds(310)));

    // Then each category's gauges show its own hour
    assertThat(gauge("payments.risk.category.events", "7", "succeeded")).isEqualTo(3);
    assertThat(gauge("payments.risk.category.events", "7", "declined")).isEqualTo(1);
    assertThat(gauge("payments.risk.category.events", "7", "refunded")).isEqualTo(2);
    assertThat(gauge("payments.risk.category.decline.ratio", "7", null)).isEqualTo(0.25);
    assertThat(gauge("payments.risk.category.refund.ratio", "7", null)).isEqualTo(2.0 / 3);
    assertThat(gauge("payments.risk.category.decline.ratio", "8", null)).isEqualTo(0.5);
    assertThat(gauge("payments.risk.category.refund.ratio", "8", null)).isZero();
    // And no signal: rates are metrics, not signals
    assertThat(signals.isEmpty()).isTrue();
  }

  @Test
  void shouldCountADeclineOnceInTheRatesWhenStripeReportsTheAttemptInTwoEvents() {
    // Given the clock within the hour [10:00, 11:00)
    clock.set(T0.plusSeconds(50 * 60));
    // When category 9 has one payment succeed and two declined attempts, one of them reported by
    // Stripe in two payment_intent.payment_failed events (two event ids, one charge)
    deliver(succeeded(newPi(), "9", T0.plusSeconds(60)));
    String pi = newPi();
    deliver(declined(pi, "9", T0.plusSeconds(120), "ch_" + pi));
    deliver(declined(pi, "9", T0.plusSeconds(121), "ch_" + pi));
    String other = newPi();
    deliver(declined(other, "9", T0.plusSeconds(180), "ch_" + other));

    // Then the category shows two declines, not three
    assertThat(gauge("payments.risk.category.events", "9", "declined")).isEqualTo(2);
    assertThat(gauge("payments.risk.category.decline.ratio", "9", null)).isEqualTo(2.0 / 3);
  }

  @Test
  void shouldCountASuccessOnceInTheRatesWhenAReconciliationRepublishesIt() {
    // Given the clock within the hour [10:00, 11:00)
    clock.set(T0.plusSeconds(50 * 60));
    // When category 11 has two payments succeed, one of them reported by Stripe's
    // payment_intent.succeeded and by the reconciliation's evt_reconcile_<pi>_succeeded (dated
    // when Stripe took the money), and one payment declined
    String pi = newPi();
    Map<String, Object> repair = succeeded(pi, "11", T0.plusSeconds(58));
    repair.put("id", "evt_reconcile_" + pi + "_succeeded");
    deliver(repair);
    deliver(succeeded(pi, "11", T0.plusSeconds(60)));
    deliver(succeeded(newPi(), "11", T0.plusSeconds(120)));
    deliver(declined(newPi(), "11", T0.plusSeconds(180)));
    deliver(refundCreated("re_1cat11", pi, T0.plusSeconds(600)));

    // Then the category shows two payments succeeded, not three
    assertThat(gauge("payments.risk.category.events", "11", "succeeded")).isEqualTo(2);
    assertThat(gauge("payments.risk.category.decline.ratio", "11", null)).isEqualTo(1.0 / 3);
    assertThat(gauge("payments.risk.category.refund.ratio", "11", null)).isEqualTo(0.5);
  }

  @Test
  void shouldCountARefundOnceInTheHourItWasFirstSeenWhenALaterChargeRefundedListsItAgain() {
    // Given a payment of category 12 nine days ago, refunded in part eight days ago (longer ago
    // than the 7 days the service remembers what it counted)
    String old = newPi();
    Instant nineDaysAgo = T0.minus(Duration.ofDays(9));
    deliver(succeeded(old, "12", nineDaysAgo));
    deliver(refundCreated("re_oldcat12", old, nineDaysAgo.plus(Duration.ofDays(1))));
    // and today a payment at 10:01, refunded in part at 10:10 (counted in the hour [10:00, 11:00))
    String paid = newPi();
    deliver(succeeded(paid, "12", T0.plusSeconds(60)));
    deliver(refundCreated("re_1cat12", paid, T0.plusSeconds(10 * 60)));

    // When in the hour [11:00, 12:00) a payment succeeds, and two charge.refunded events list every
    // refund of their charge so far: the one of 10:10 and a new one, the one of eight days ago
    // and a new one
    clock.set(T0.plusSeconds(65 * 60));
    deliver(succeeded(newPi(), "12", T0.plusSeconds(61 * 60)));
    Map<String, Instant> paidRefunds = new LinkedHashMap<>();
    paidRefunds.put("re_1cat12", T0.plusSeconds(10 * 60));
    paidRefunds.put("re_2cat12", T0.plusSeconds(62 * 60));
    deliver(chargeRefunded(paid, paidRefunds, T0.plusSeconds(62 * 60)));
    Map<String, Instant> oldRefunds = new LinkedHashMap<>();
    oldRefunds.put("re_oldcat12", nineDaysAgo.plus(Duration.ofDays(1)));
    oldRefunds.put("re_3cat12", T0.plusSeconds(63 * 60));
    deliver(chargeRefunded(old, oldRefunds, T0.plusSeconds(63 * 60)));

    // Then the hour shows the two new refunds only: the one of 10:10 counted in its own hour, the
    // one of eight days ago too long ago to tell whether it was counted
    assertThat(gauge("payments.risk.category.events", "12", "refunded")).isEqualTo(2);
    assertThat(gauge("payments.risk.category.events", "12", "succeeded")).isEqualTo(1);
    assertThat(gauge("payments.risk.category.refund.ratio", "12", null)).isEqualTo(2.0);
  }

  @Test
  void shouldCountARefundOnceWhateverEventsReportItAndHowOftenTheyAreDelivered() {
    // Given two payments of category 14 in the hour [10:00, 11:00)
    clock.set(T0.plusSeconds(50 * 60));
    String first = newPi();
    String second = newPi();
    deliver(succeeded(first, "14", T0.plusSeconds(60)));
    deliver(succeeded(second, "14", T0.plusSeconds(61)));

    // When a refund of the first is reported by refund.created, which Stripe delivers twice, and
    // again under another event id
    Map<String, Object> created = refundCreated("re_1cat14", first, T0.plusSeconds(600));
    deliver(created);
    deliver(created);
    deliver(refundCreated("re_1cat14", first, T0.plusSeconds(600)));
    // and by charge.refund.updated, and listed by charge.refunded, then again by a later one that
    // lists a second refund of the charge too
    deliver(
        RiskEvents.event("charge.refund.updated", T0.plusSeconds(660), refund("re_1cat14", first)));
    deliver(chargeRefunded(first, List.of("re_1cat14"), T0.plusSeconds(601)));
    deliver(chargeRefunded(first, List.of("re_1cat14", "re_2cat14"), T0.plusSeconds(900)));
    // And a refund of the second payment listed by charge.refunded before its refund.created comes
    deliver(chargeRefunded(second, List.of("re_3cat14"), T0.plusSeconds(1000)));
    deliver(refundCreated("re_3cat14", second, T0.plusSeconds(999)));

    // Then the hour shows three refunds, each once
    assertThat(gauge("payments.risk.category.events", "14", "refunded")).isEqualTo(3);
    assertThat(gauge("payments.risk.category.refund.ratio", "14", null)).isEqualTo(1.5);
  }

  @Test
  void shouldKeepACategorysHourTheSameSizeWhenItCountsThousandsOfRefunds() {
    // Given payments of category 13 in the hour [10:00, 11:00), refunded ten times in all
    clock.set(T0.plusSeconds(50 * 60));
    refundPaymentsOfTheHour("13", 0, 10);
    int afterTen = lastLoggedRatesSize();

    // When 2,000 more refunds of the category come in the hour
    refundPaymentsOfTheHour("13", 10, 2_010);

    // Then each counts
    assertThat(gauge("payments.risk.category.events", "13", "refunded")).isEqualTo(2_010);
    // And the hour's record in its changelog (which the broker limits to 1 MB) is the size it was
    // after ten refunds but for the digits of the counts: it does not grow with every refund
    assertThat(lastLoggedRatesSize()).isLessThanOrEqualTo(afterTen + 4);
  }

  /** Refunds {@code from} to {@code to} of the hour [10:00, 11:00), ten of each payment. */
  private void refundPaymentsOfTheHour(String category, int from, int to) {
    String pi = null;
    for (int i = from; i < to; i++) {
      Instant at = T0.plusSeconds(60 + i % 3000);
      if (pi == null || i % 10 == 0) {
        pi = newPi();
        deliver(succeeded(pi, category, at));
      }
      deliver(refundCreated("re_" + i + "of" + pi, pi, at));
    }
  }

  /** The size of the latest record of the rates' changelog: the last hour of a category updated. */
  private int lastLoggedRatesSize() {
    List<TestRecord<byte[], byte[]>> logged =
        driver
            .createOutputTopic(
                RiskService.APPLICATION_ID + "-risk-category-rates-changelog",
                new ByteArrayDeserializer(),
                new ByteArrayDeserializer())
            .readRecordsToList();
    assertThat(logged).isNotEmpty();
    return logged.getLast().value().length;
  }

  @Test
  void shouldResetTheRatesWhenTheHourRollsOver() {
    // Given category 7's hour [10:00, 11:00): one succeeded, three declined
    clock.set(T0.plusSeconds(30 * 60));
    deliver(succeeded(newPi(), "7", T0.plusSeconds(60)));
    for (int i = 0; i < 3; i++) {
      deliver(declined(newPi(), "7", T0.plusSeconds(120 + i)));
    }
    deliver(succeeded(newPi(), "8", T0.plusSeconds(60)));
    assertThat(gauge("payments.risk.category.decline.ratio", "7", null)).isEqualTo(0.75);

    // When the next hour's first payments of category 7 arrive: one succeeded
    clock.set(T0.plusSeconds(65 * 60));
    deliver(succeeded(newPi(), "7", T0.plusSeconds(62 * 60)));

    // Then category 7 shows the new hour only
    assertThat(gauge("payments.risk.category.decline.ratio", "7", null)).isZero();
    assertThat(gauge("payments.risk.category.events", "7", "succeeded")).isEqualTo(1);
    assertThat(gauge("payments.risk.category.events", "7", "declined")).isZero();
    // And a late decline of the previous hour (within the grace period) does not replace it
    deliver(declined(newPi(), "7", T0.plusSeconds(59 * 60)));
    assertThat(gauge("payments.risk.category.events", "7", "declined")).isZero();
    // And category 8, quiet this hour, reads 0
    assertThat(gauge("payments.risk.category.events", "8", "succeeded")).isZero();
  }

  // --- helpers

  private double gauge(String name, String category, String kind) {
    var search = registry.find(name).tag("category", category);
    if (kind != null) {
      search = search.tag("kind", kind);
    }
    Gauge gauge = search.gauge();
    assertThat(gauge).as(name + " of " + category).isNotNull();
    return gauge.value();
  }

  private void deliver(Map<String, Object> event) {
    stripe.pipeInput(RiskEvents.key(event), Json.bytes(event), RiskEvents.arrival(event));
  }

  private static String newPi() {
    return "pi_3Pcat" + SEQ.incrementAndGet();
  }

  private static Map<String, Object> succeeded(String pi, String category, Instant created) {
    return RiskEvents.event(
        "payment_intent.succeeded", created, paymentIntent(pi, category, "succeeded"));
  }

  private static Map<String, Object> declined(String pi, String category, Instant created) {
    return RiskEvents.event(
        "payment_intent.payment_failed",
        created,
        paymentIntent(pi, category, "requires_payment_method"));
  }

  /** A decline of the attempt {@code charge} ({@code last_payment_error.charge}). */
  private static Map<String, Object> declined(
      String pi, String category, Instant created, String charge) {
    Map<String, Object> object = paymentIntent(pi, category, "requires_payment_method");
    object.put("last_payment_error", Map.of("code", "card_declined", "charge", charge));
    return RiskEvents.event("payment_intent.payment_failed", created, object);
  }

  private static Map<String, Object> refundCreated(String refundId, String pi, Instant created) {
    return RiskEvents.event("refund.created", created, refund(refundId, pi));
  }

  private static Map<String, Object> chargeRefunded(
      String pi, List<String> refundIds, Instant created) {
    Map<String, Object> charge = new LinkedHashMap<>();
    charge.put("id", "ch_" + pi);
    charge.put("object", "charge");
    charge.put("payment_intent", pi);
    charge.put("amount_refunded", 500);
    charge.put(
        "refunds",
        Map.of("object", "list", "data", refundIds.stream().map(r -> refund(r, pi)).toList()));
    return RiskEvents.event("charge.refunded", created, charge);
  }

  /** {@code charge.refunded} listing the charge's refunds so far, each with its creation time. */
  private static Map<String, Object> chargeRefunded(
      String pi, Map<String, Instant> refunds, Instant created) {
    Map<String, Object> event = chargeRefunded(pi, List.copyOf(refunds.keySet()), created);
    Map<?, ?> charge = (Map<?, ?>) ((Map<?, ?>) event.get("data")).get("object");
    for (Object listed : (List<?>) ((Map<?, ?>) charge.get("refunds")).get("data")) {
      @SuppressWarnings("unchecked")
      Map<String, Object> refund = (Map<String, Object>) listed;
      refund.put("created", refunds.get((String) refund.get("id")).getEpochSecond());
    }
    return event;
  }

  private static Map<String, Object> refund(String refundId, String pi) {
    Map<String, Object> refund = new LinkedHashMap<>();
    refund.put("id", refundId);
    refund.put("object", "refund");
    refund.put("amount", 500);
    refund.put("payment_intent", pi);
    refund.put("status", "succeeded");
    refund.put("metadata", Map.of("refund_id", UUID.randomUUID().toString()));
    return refund;
  }

  private static Map<String, Object> paymentIntent(String pi, String category, String status) {
    Map<String, Object> object = new LinkedHashMap<>();
    object.put("id", pi);
    object.put("object", "payment_intent");
    object.put("amount", 500);
    object.put("status", status);
    object.put(
        "metadata",
        Map.of(
            "user_id",
            UUID.randomUUID().toString(),
            "category_id",
            category,
            "listing_id",
            UUID.randomUUID().toString(),
            "payment_type",
            "x"));
    return object;
  }
}
