package io.marketplace.payments.risk.flag;

import io.marketplace.payments.common.db.UserRiskLock;
import io.marketplace.payments.common.events.PaymentEvent;
import io.marketplace.payments.common.events.PaymentEventType;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.outbox.Outbox;
import io.marketplace.payments.common.worker.RecordHandler;
import io.marketplace.payments.risk.RiskSignal;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.jdbi.v3.core.Handle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Consumes {@code risk.signals.v1}; records the flag in {@code user_risk_flags} and publishes
 * {@code user.flagged} through the outbox, in one transaction, once per signal id. A signal of a
 * marketplace category ({@code data.scope} {@code category}) flags nobody: it is applied without
 * effect, counted in {@code payments_risk_category_signals_total{signal,category}}. A signal raised
 * before a super_admin's clear of the user and applied after it is recorded as cleared by it
 * ({@link #clearAfter}).
 */
public final class RiskFlagHandler implements RecordHandler {

  private static final Logger log = LoggerFactory.getLogger(RiskFlagHandler.class);

  private final Clock clock;
  private final Duration coolDown;
  private final MeterRegistry registry;

  public RiskFlagHandler(Clock clock, Duration coolDown, MeterRegistry registry) {
    this.clock = clock;
    this.coolDown = coolDown;
    this.registry = registry;
  }

  @Override
  public String dedupeKey(ConsumerRecord<String, byte[]> record) {
    return parse(record).id().toString();
  }

  @Override
  public void apply(Handle tx, ConsumerRecord<String, byte[]> record) {
    RiskSignal signal = parse(record);
    RiskSignal.Data data = signal.data();
    if (data.categoryScoped()) {
      // a marketplace category's signal: for operators (alert, metric), nobody to flag
      Counter counter =
          Counter.builder("payments.risk.category.signals")
              .description("risk signals of a marketplace category, by signal and category")
              .tag("signal", data.signal().wireName())
              .tag("category", String.valueOf(data.categoryId()))
              .register(registry);
      tx.afterCommit(counter::increment);
      return;
    }
    UUID userId = UUID.fromString(data.userId());
    // an admin's clear of this user waits for this signal to be recorded, or this for the clear
    UserRiskLock.lock(tx, userId);
    Instant now = clock.instant();
    // the cool-down runs from the activity the signal saw, not from when it is applied: a signal
    // applied hours late (the risk service or this worker behind, a dead letter redriven) holds
    // the user only for what is left of it, and not at all once it is over
    Instant until = raisedAt(signal).plus(coolDown);
    // a flag over before it is applied is dated by the activity, so that its hold ends after it
    Instant flaggedAt = until.isAfter(now) ? now : raisedAt(signal);
    // a signal counted from its window's start, or from an earlier clear, with a clear of the user
    // made since: the risk service counted it before it saw that clear (it was behind, or re-read
    // its input in another order), so it counts occurrences the admin reviewed; counted from the
    // clear, it comes again
    Optional<Instant> countedFromClear =
        countedFromWindowStart(signal) ? Optional.empty() : countedFromClear(tx, userId, signal);
    Instant countedFrom =
        countedFromWindowStart(signal)
            ? data.windowStart()
            : countedFromClear.orElse(raisedAt(signal));
    Optional<Clear> coveredBy =
        countedFromClear.isPresent()
            // a clear later than the one it counted from, which is not one made after it
            ? clearAfter(tx, userId, countedFrom, false)
            : clearAfter(tx, userId, min(countedFrom, raisedAt(signal)), true);
    int inserted =
        tx.createUpdate(
                """
                INSERT INTO user_risk_flags (signal_id, user_id, signal, signal_count, threshold,
                    window_start, window_end, flagged_at, flagged_until,
                    cleared_at, cleared_by, clear_reason)
                VALUES (:signalId, :userId, :signal, :count, :threshold,
                    :windowStart, :windowEnd, :now, :until,
                    :clearedAt, :clearedBy, :clearReason)
                ON CONFLICT (signal_id) DO NOTHING
                """)
            .bind("signalId", signal.id())
            .bind("userId", userId)
            .bind("signal", data.signal().wireName())
            .bind("count", (int) data.count())
            .bind("threshold", data.threshold())
            .bind("windowStart", data.windowStart())
            .bind("windowEnd", data.windowEnd())
            .bind("now", flaggedAt)
            .bind("until", until)
            .bind("clearedAt", coveredBy.map(Clear::at).orElse(null))
            .bind("clearedBy", coveredBy.map(Clear::by).orElse(null))
            .bind(
                "clearReason",
                coveredBy
                    .map(
                        c ->
                            (c.at().isBefore(raisedAt(signal))
                                    ? "counted from " + countedFrom
                                    : "raised at " + raisedAt(signal))
                                + ", before the clear of "
                                + c.at()
                                + ": "
                                + c.reason())
                    .orElse(null))
            .execute();
    if (inserted == 0) {
      return; // this signal was applied before
    }
    if (coveredBy.isEmpty() && !until.isAfter(now)) {
      // a burst nobody was held for: the dashboard and an alert must see it, not only the log
      Counter stale =
          Counter.builder("payments.risk.signals.stale")
              .description(
                  "risk signals applied after their cool-down ended: recorded, nobody held")
              .tag("signal", data.signal().wireName())
              .register(registry);
      tx.afterCommit(stale::increment);
      log.warn(
          "risk signal {} of user {} was raised at {} and applied at {}, after its cool-down ended:"
              + " recorded, the user is not held",
          signal.id(),
          userId,
          raisedAt(signal),
          now);
      return;
    }
    if (coveredBy.isPresent()) {
      log.info(
          "risk signal {} of user {} was raised at {} (counted from {}), before the clear of {}:"
              + " recorded as cleared, the user is not flagged again",
          signal.id(),
          userId,
          raisedAt(signal),
          countedFrom,
          coveredBy.get().at());
      return;
    }
    Map<String, Object> event = new LinkedHashMap<>();
    event.put("userId", userId);
    event.put("signalId", signal.id());
    event.put("signal", data.signal().wireName());
    event.put("count", data.count());
    event.put("threshold", data.threshold());
    event.put("windowStart", data.windowStart());
    event.put("windowEnd", data.windowEnd());
    event.put("flaggedUntil", until);
    Outbox.append(
        tx,
        PaymentEvent.of(PaymentEventType.USER_FLAGGED, signal.id().toString(), now, event),
        userId.toString());
    // by signal, so card testing can page while a chargeback spike is a ticket; once the flag is
    // committed: a batch rolled back and applied again (a record of it failed, the database went
    // away) counts it once
    Counter flags =
        Counter.builder("payments.risk.flags")
            .description("users flagged by a risk signal, by signal")
            .tag("signal", data.signal().wireName())
            .register(registry);
    tx.afterCommit(flags::increment);
  }

  /** A super_admin's clear of a user's flags: when, by whom, why. */
  private record Clear(Instant at, UUID by, String reason) {}

  /**
   * The latest clear of the user's flags made after {@code since} (or at it, when {@code
   * sinceIncluded}), if any. A signal raised before a super_admin cleared the user, but applied
   * after (the risk service or this worker was behind, a dead letter redriven), is about what the
   * admin's review already covered: it is recorded as cleared by that clear, so it neither flags
   * the user again for a full cool-down nor announces a hold. So is one that counted from its
   * window's start past a clear made in the window ({@code since} is then the window's start), or
   * from an earlier clear past a later one ({@code since} is then the earlier clear, itself not
   * included). A signal raised after the clear, counting only what followed it, flags as usual.
   *
   * <p>A clear is recorded in {@code user_risk_clears}, whether or not it found a flag to clear (a
   * signal of the burst the admin reviewed may still have been on its way); one made before that
   * table is known only from the flags it cleared. At the same time, the clear's own row wins over
   * a flag's, whose reason may be a signal's recorded as cleared.
   */
  private static Optional<Clear> clearAfter(
      Handle tx, UUID userId, Instant since, boolean sinceIncluded) {
    return tx.createQuery(
            """
            SELECT cleared_at, cleared_by, clear_reason FROM (
                SELECT cleared_at, cleared_by, clear_reason, 0 AS source FROM user_risk_clears
                WHERE user_id = :userId
                    AND (cleared_at > :since OR (:sinceIncluded AND cleared_at = :since))
                UNION ALL
                SELECT cleared_at, cleared_by, clear_reason, 1 AS source FROM user_risk_flags
                WHERE user_id = :userId AND cleared_at IS NOT NULL
                    AND (cleared_at > :since OR (:sinceIncluded AND cleared_at = :since))
            ) AS clears
            ORDER BY cleared_at DESC, source
            LIMIT 1
            """)
        .bind("userId", userId)
        .bind("since", since)
        .bind("sinceIncluded", sinceIncluded)
        .map(
            (rs, ctx) ->
                new Clear(
                    rs.getTimestamp(1).toInstant(), rs.getObject(2, UUID.class), rs.getString(3)))
        .findOne();
  }

  /**
   * Whether the signal counted from its window's start: its id is the one of the window alone, not
   * one naming a clear the risk service counted from ({@link RiskSignal#idFor(String,
   * io.marketplace.payments.risk.Signal, Instant, Instant)}).
   */
  private static boolean countedFromWindowStart(RiskSignal signal) {
    RiskSignal.Data data = signal.data();
    return data.windowStart() != null
        && data.signal() != null
        && signal.id().equals(RiskSignal.idFor(data.userId(), data.signal(), data.windowStart()));
  }

  /**
   * The clear the signal counted from, when its id names one ({@link RiskSignal#idFor(String,
   * io.marketplace.payments.risk.Signal, Instant, Instant)}): one of the user's clears made in its
   * window before it was raised. Empty when none of them is (the risk service dated the clear by
   * its arrival on the topic, before the time the API recorded).
   */
  private static Optional<Instant> countedFromClear(Handle tx, UUID userId, RiskSignal signal) {
    RiskSignal.Data data = signal.data();
    if (data.windowStart() == null || data.signal() == null) {
      return Optional.empty();
    }
    return tx
        .createQuery(
            """
            SELECT cleared_at FROM user_risk_clears
            WHERE user_id = :userId AND cleared_at >= :windowStart AND cleared_at < :raisedAt
            UNION
            SELECT cleared_at FROM user_risk_flags
            WHERE user_id = :userId AND cleared_at >= :windowStart AND cleared_at < :raisedAt
            """)
        .bind("userId", userId)
        .bind("windowStart", data.windowStart())
        .bind("raisedAt", raisedAt(signal))
        .map((rs, ctx) -> rs.getTimestamp(1).toInstant())
        .list()
        .stream()
        .filter(
            at ->
                signal
                    .id()
                    .equals(RiskSignal.idFor(data.userId(), data.signal(), data.windowStart(), at)))
        .findFirst();
  }

  private static Instant min(Instant a, Instant b) {
    return a.isBefore(b) ? a : b;
  }

  /**
   * When the signal was raised: the Stripe event time of the occurrence that crossed the threshold,
   * else (a signal without it) the end of its window.
   */
  private static Instant raisedAt(RiskSignal signal) {
    return signal.occurredAt() != null ? signal.occurredAt() : signal.data().windowEnd();
  }

  private static RiskSignal parse(ConsumerRecord<String, byte[]> record) {
    RiskSignal signal = Json.mapper().convertValue(readTree(record.value()), RiskSignal.class);
    if (signal == null || signal.id() == null || signal.data() == null) {
      throw new IllegalArgumentException("not a risk signal");
    }
    return signal;
  }

  private static com.fasterxml.jackson.databind.JsonNode readTree(byte[] value) {
    try {
      return Json.mapper().readTree(value);
    } catch (java.io.IOException e) {
      throw new IllegalArgumentException("risk signal is not JSON", e);
    }
  }
}
