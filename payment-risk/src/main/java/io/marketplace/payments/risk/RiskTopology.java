package io.marketplace.payments.risk;

import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.risk.Observation.CategoryKind;
import io.marketplace.payments.risk.RiskConfig.RiskRules;
import io.marketplace.payments.risk.RiskConfig.Rule;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.AutoOffsetReset;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.kstream.Windowed;
import org.apache.kafka.streams.state.Stores;

/**
 * The risk service's topology: {@code stripe.events.v1} in, {@code risk.signals.v1} out.
 *
 * <ol>
 *   <li>On the PaymentIntent's partition, {@link StripeObservations} drops re-delivered event ids,
 *       remembers each PaymentIntent's user (for {@code RISK_PAYMENT_INTENT_RETENTION} after its
 *       last event), and turns events into per-user observations stamped with the Stripe event's
 *       time. A dispute that arrives before every {@code payment_intent.*} event of its
 *       PaymentIntent is parked (a store of its own) and observed, in its own event time, when a
 *       later one makes its user or category known.
 *   <li>A super_admin's clear of a user ({@code user.risk_cleared} on {@code payments.events.v1},
 *       {@link RiskClears}) joins the user's observations: their counts restart from it.
 *   <li>The observations are repartitioned by user id.
 *   <li>Per signal, the distinct members of each user are tallied in tumbling windows of the
 *       signal's length (event time, with a grace period for late events); the update that brings a
 *       window's count to the threshold emits one signal, with an id derived from user, signal and
 *       window.
 *   <li>Observations of a marketplace category (the PaymentIntent's {@code metadata[category_id]},
 *       remembered like the user for events without metadata) are repartitioned by category:
 *       disputes are tallied like a user's into a {@code chargeback_spike} signal of the category
 *       (keyed {@code category:<id>}), and succeeded, declined and refunded payments are counted
 *       per hour for the {@link CategoryRatesSink} (the service's {@link CategoryMetrics}): each
 *       declined attempt, each PaymentIntent's success and each refund once, however many events
 *       report it (remembered on the PaymentIntent's partition, in a store of its own, for the
 *       dedupe retention).
 * </ol>
 *
 * Every store is logged to a changelog topic, and the application runs with {@code exactly_once_v2}
 * ({@link RiskService}), so a crash neither loses a count nor emits a signal twice. The window
 * stores are {@link WindowStores}': a clean stop leaves each with the offset it resumes from, even
 * one with nothing in it.
 */
public final class RiskTopology {

  static final Serde<Observation> OBSERVATION = JsonSerde.of(Observation.class);
  static final Serde<Tally> TALLY = JsonSerde.of(Tally.class);
  static final Serde<CategoryRates> RATES = JsonSerde.of(CategoryRates.class);
  static final Serde<ParkedDisputes> PARKED = JsonSerde.of(ParkedDisputes.class);

  private RiskTopology() {}

  /** The hour of the per-category rates (tumbling, event time). */
  static final Duration RATES_WINDOW = Duration.ofHours(1);

  /**
   * Receives what the topology learns of marketplace categories (e.g. {@link CategoryMetrics}):
   * every update of a category's rates in an hour window, and each chargeback spike of a category.
   * Category spikes are for operators (a metric and its alert), not records of {@code
   * risk.signals.v1}, whose records are a user's (SPEC §4: keyed by user id, {@code data.userId}).
   */
  public interface CategoryRatesSink {
    void update(String categoryId, Instant windowStart, Instant windowEnd, CategoryRates rates);

    /**
     * A category's disputes reached the threshold in a window; called once per window, or again
     * when a task re-processes after a failure (exactly-once covers the topics, not this call).
     */
    default void chargebackSpike(RiskSignal spike) {}
  }

  public static Topology build(Topics topics, RiskRules rules) {
    return build(topics, rules, (category, start, end, rates) -> {});
  }

  public static Topology build(Topics topics, RiskRules rules, CategoryRatesSink rates) {
    StreamsBuilder builder = new StreamsBuilder();
    builder.addStateStore(
        Stores.windowStoreBuilder(
            WindowStores.persistent(
                StripeObservations.SEEN_EVENTS, rules.dedupeRetention(), rules.dedupeRetention()),
            Serdes.String(),
            Serdes.Long()));
    // each PaymentIntent's user and category, with when it was last confirmed, for the
    // PaymentIntent retention; timestamped stores under the names (and changelog topics) they had
    // as plain ones, whose entries Kafka Streams reads and restores as they were written
    // (PaymentIntentMemory); their changelogs stay compacted only: an expired entry is deleted by
    // a tombstone, and nothing else may vanish from them, or a restore would differ from the store
    for (String store :
        List.of(
            StripeObservations.PAYMENT_INTENT_USERS,
            StripeObservations.PAYMENT_INTENT_CATEGORIES)) {
      builder.addStateStore(
          Stores.timestampedKeyValueStoreBuilder(
              Stores.persistentTimestampedKeyValueStore(store), Serdes.String(), Serdes.String()));
    }
    // disputes that came before their PaymentIntent's events, until those come; expired after the
    // dedupe retention (event time)
    builder.addStateStore(
        Stores.windowStoreBuilder(
            WindowStores.persistent(
                StripeObservations.PARKED_DISPUTES,
                rules.dedupeRetention(),
                rules.dedupeRetention()),
            Serdes.String(),
            PARKED));
    // the facts the category rates counted (a declined attempt, a PaymentIntent's success, a
    // refund), to count each once
    builder.addStateStore(
        Stores.windowStoreBuilder(
            WindowStores.persistent(
                StripeObservations.COUNTED_PAYMENTS,
                rules.dedupeRetention(),
                rules.dedupeRetention()),
            Serdes.String(),
            Serdes.Long()));

    KStream<String, Observation> observed =
        builder.stream(
                topics.stripeEvents().name(),
                Consumed.with(Serdes.String(), Serdes.ByteArray()).withName("stripe-events"))
            .process(
                () ->
                    new StripeObservations(rules.dedupeRetention(), rules.paymentIntentRetention()),
                Named.as("stripe-observations"),
                StripeObservations.SEEN_EVENTS,
                StripeObservations.PAYMENT_INTENT_USERS,
                StripeObservations.PAYMENT_INTENT_CATEGORIES,
                StripeObservations.PARKED_DISPUTES,
                StripeObservations.COUNTED_PAYMENTS);
    // a super_admin's clear of a user (user.risk_cleared on payments.events.v1): counting restarts
    // from it; repartitioned with the user's observations, so that it reaches their tallies in the
    // partition (and task) that counts them. The first time the application reads the topic (the
    // upgrade that brought the clears), from RISK_GRACE before then: a clear the admin made just
    // before still restarts the counts of its window. Not from further back, not from its start:
    // an older clear whose window has closed would only be dropped as late (and raise the alert
    // on late drops); the flag worker still records a signal counted across it as cleared
    KStream<String, Observation> clears =
        builder.stream(
                topics.paymentEvents().name(),
                Consumed.with(Serdes.String(), Serdes.ByteArray())
                    .withName("payment-events")
                    .withOffsetResetPolicy(AutoOffsetReset.byDuration(rules.grace())))
            .process(RiskClears::new, Named.as("risk-clears"));
    KStream<String, Observation> byUser =
        observed
            .filter((key, observation) -> !observation.categoryScoped(), Named.as("of-users"))
            .merge(clears, Named.as("with-risk-clears"))
            .repartition(
                Repartitioned.with(Serdes.String(), OBSERVATION).withName("observations-by-user"));
    KStream<String, Observation> byCategory =
        observed
            .filter((key, observation) -> observation.categoryScoped(), Named.as("of-categories"))
            .repartition(
                Repartitioned.with(Serdes.String(), OBSERVATION)
                    .withName("observations-by-category"));

    Produced<String, byte[]> produced =
        Produced.with(Serdes.String(), Serdes.ByteArray()).withName("risk-signals");
    signals(byUser, Signal.CARD_TESTING_DECLINES, rules.declines(), rules)
        .merge(signals(byUser, Signal.CARD_TESTING_FINGERPRINTS, rules.fingerprints(), rules))
        .merge(signals(byUser, Signal.CHARGEBACK_SPIKE, rules.disputes(), rules))
        .mapValues(Json::bytes)
        .to(topics.riskSignals().name(), produced);
    categoryChargebackSpikes(byCategory, rules)
        .foreach((category, spike) -> rates.chargebackSpike(spike), Named.as("category-spikes"));
    categoryRates(byCategory, rules, rates);
    return builder.build();
  }

  /** A category's disputes reaching the threshold in a window, keyed {@code category:<id>}. */
  private static KStream<String, RiskSignal> categoryChargebackSpikes(
      KStream<String, Observation> byCategory, RiskRules rules) {
    Rule rule = rules.categoryDisputes();
    int threshold = rule.threshold();
    return tallies(
            byCategory.filter(
                (category, observation) -> observation.kind() == CategoryKind.DISPUTE,
                Named.as("category-disputes-only")),
            "category-chargeback-spike",
            rule,
            rules)
        .map(
            (window, tally) ->
                KeyValue.pair(
                    RiskSignal.categoryKey(window.key()),
                    RiskSignal.ofCategory(
                        window.key(),
                        Signal.CHARGEBACK_SPIKE,
                        tally.count(),
                        threshold,
                        window.window().startTime(),
                        window.window().endTime(),
                        tally.crossedAt())),
            Named.as("category-chargeback-spike-signal"));
  }

  /** Succeeded, declined and refunded per category and hour, each update to {@code sink}. */
  private static void categoryRates(
      KStream<String, Observation> byCategory, RiskRules rules, CategoryRatesSink sink) {
    byCategory
        .filter(
            (category, observation) -> observation.kind() != CategoryKind.DISPUTE,
            Named.as("category-payments-only"))
        .groupByKey(Grouped.with(Serdes.String(), OBSERVATION))
        .windowedBy(TimeWindows.ofSizeAndGrace(RATES_WINDOW, rules.grace()))
        .aggregate(
            CategoryRates::empty,
            (category, observation, rates) -> rates.add(observation),
            Named.as("category-rates"),
            Materialized.<String, CategoryRates>as(
                    WindowStores.persistentTimestamped(
                        "risk-category-rates", RATES_WINDOW.plus(rules.grace()), RATES_WINDOW))
                .withKeySerde(Serdes.String())
                .withValueSerde(RATES)
                .withCachingDisabled()
                .withLoggingEnabled(java.util.Map.of()))
        .toStream(Named.as("category-rates-updates"))
        .foreach(
            (window, value) ->
                sink.update(
                    window.key(), window.window().startTime(), window.window().endTime(), value),
            Named.as("category-rates-metrics"));
  }

  /** The signals of one kind: a user's distinct members reaching the threshold in a window. */
  private static KStream<String, RiskSignal> signals(
      KStream<String, Observation> byUser, Signal signal, Rule rule, RiskRules rules) {
    String name = signal.wireName().replace('_', '-');
    int threshold = rule.threshold();
    return tallies(
            byUser.filter(
                (user, observation) -> observation.clear() || observation.signal() == signal,
                Named.as(name + "-only")),
            name,
            rule,
            rules)
        .map(
            (window, tally) ->
                KeyValue.pair(
                    window.key(),
                    RiskSignal.of(
                        window.key(),
                        signal,
                        tally.count(),
                        threshold,
                        window.window().startTime(),
                        window.window().endTime(),
                        tally.crossedAt(),
                        tally.clearedAt())),
            Named.as(name + "-signal"));
  }

  /** The updates that bring a key's distinct members in a window to the rule's threshold. */
  private static KStream<Windowed<String>, Tally> tallies(
      KStream<String, Observation> observations, String name, Rule rule, RiskRules rules) {
    int threshold = rule.threshold();
    return observations
        .groupByKey(Grouped.with(Serdes.String(), OBSERVATION))
        .windowedBy(TimeWindows.ofSizeAndGrace(rule.window(), rules.grace()))
        .aggregate(
            Tally::empty,
            (key, observation, tally) -> tally.add(observation, threshold),
            Named.as(name + "-tally"),
            // no cache: every update is seen downstream, so the one that crosses is never merged
            // away with the next
            Materialized.<String, Tally>as(
                    WindowStores.persistentTimestamped(
                        "risk-" + name + "-tallies",
                        rule.window().plus(rules.grace()),
                        rule.window()))
                .withKeySerde(Serdes.String())
                .withValueSerde(TALLY)
                .withCachingDisabled()
                .withLoggingEnabled(java.util.Map.of()))
        .toStream(Named.as(name + "-updates"))
        .filter((window, tally) -> tally != null && tally.crossed(), Named.as(name + "-crossed"));
  }
}
