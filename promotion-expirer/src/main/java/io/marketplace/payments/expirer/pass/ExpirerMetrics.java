package io.marketplace.payments.expirer.pass;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What the expirer reports: rows ended by kind ({@code payments.expirer.promotions.expired}, {@code
 * payments.expirer.listings.expired}), passes by outcome and their duration, and {@code
 * payments.expirer.last.success}, the epoch second at which the latest successful pass of the fleet
 * finished, for the alerts that fire when passes stop (ops/prometheus/alerts.yml).
 *
 * <p>The last-success gauge is registered only once a successful pass is known: a 0 would read as a
 * pass that finished in 1970 and fire the alert for a replica that has just not read the database
 * yet, where no series at all is what the never-reported alert looks for.
 */
public final class ExpirerMetrics {

  private final MeterRegistry registry;
  private final Map<String, Counter> expired = new ConcurrentHashMap<>();
  private final AtomicLong lastSuccessEpochSecond = new AtomicLong();
  private final AtomicLong clockAheadMillis = new AtomicLong();
  private final Timer passDuration;

  public ExpirerMetrics(MeterRegistry registry) {
    this.registry = registry;
    this.passDuration =
        Timer.builder("payments.expirer.pass.duration")
            .description("how long passes that held the lock took")
            .register(registry);
    expiredCounter(Expiry.PROMOTIONS);
    expiredCounter(Expiry.LISTINGS);
    Gauge.builder("payments.expirer.clock.ahead", clockAheadMillis, ms -> ms.get() / 1000.0)
        .description(
            "how far this replica's clock was ahead of the database's when last compared"
                + " (negative: behind); passes never go by a time ahead of the database's")
        .baseUnit("seconds")
        // held by the registry: a gauge reads NaN once what it reads is collected, and a pass
        // (with these metrics) may be dropped while its registry is still scraped
        .strongReference(true)
        .register(registry);
  }

  /** How far this replica's clock is ahead of the database's (negative when behind). */
  public void clockAhead(Duration ahead) {
    clockAheadMillis.set(ahead.toMillis());
  }

  void expired(String expiry, int rows) {
    expiredCounter(expiry).increment(rows);
  }

  void pass(PassResult.Outcome outcome, Duration took) {
    Counter.builder("payments.expirer.passes")
        .description("pass attempts by outcome")
        .tag("outcome", outcome.name().toLowerCase())
        .register(registry)
        .increment();
    if (took != null) {
      passDuration.record(took);
    }
  }

  /** Moves the gauge forward to {@code finishedAt}, never back; the first call registers it. */
  public void lastSuccess(Instant finishedAt) {
    lastSuccessEpochSecond.accumulateAndGet(finishedAt.getEpochSecond(), Math::max);
    // once: registering it again is ignored, with a warning in the log
    if (lastSuccessRegistered.compareAndSet(false, true)) {
      Gauge.builder(
              "payments.expirer.last.success", lastSuccessEpochSecond, AtomicLong::doubleValue)
          .description("epoch second at which the latest successful expiry pass finished")
          .strongReference(true)
          .register(registry);
    }
  }

  private final AtomicBoolean lastSuccessRegistered = new AtomicBoolean();

  public long lastSuccessEpochSecond() {
    return lastSuccessEpochSecond.get();
  }

  private Counter expiredCounter(String expiry) {
    return expired.computeIfAbsent(
        expiry,
        name ->
            Counter.builder("payments.expirer." + name + ".expired")
                .description(name + " ended by the expirer")
                .register(registry));
  }
}
