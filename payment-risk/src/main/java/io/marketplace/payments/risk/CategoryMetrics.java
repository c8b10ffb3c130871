package io.marketplace.payments.risk;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.ToDoubleFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The per-category gauges of the current hour, fed by the updates of the category rates aggregate
 * ({@link RiskTopology}): {@code payments_risk_category_decline_ratio{category}}, {@code
 * payments_risk_category_refund_ratio{category}} and {@code
 * payments_risk_category_events{category,kind}} ({@code kind} = {@code succeeded}, {@code
 * declined}, {@code refunded}), and {@code payments_risk_category_signals_total{signal,category}},
 * one per chargeback spike of a category (logged too).
 *
 * <p>A category shows its latest window: an update of an older window (a late event) does not
 * replace a newer one, and once the latest window has ended (by the clock) without a newer one the
 * category had no payment this hour: its gauges read 0. After repartitioning each category is
 * counted on one instance; an instance that lost the category to a rebalance reads 0 once the
 * window ends, so alerts and panels take the {@code max} per category.
 */
public final class CategoryMetrics implements RiskTopology.CategoryRatesSink {

  private static final Logger log = LoggerFactory.getLogger(CategoryMetrics.class);

  private final MeterRegistry registry;
  private final Clock clock;
  private final Map<String, Latest> latest = new ConcurrentHashMap<>();
  private final Set<String> registered = ConcurrentHashMap.newKeySet();

  private record Latest(Instant windowStart, Instant windowEnd, CategoryRates rates) {}

  public CategoryMetrics(MeterRegistry registry, Clock clock) {
    this.registry = registry;
    this.clock = clock;
  }

  @Override
  public void chargebackSpike(RiskSignal spike) {
    RiskSignal.Data data = spike.data();
    log.warn(
        "chargeback spike in category {}: {} disputes (threshold {}) between {} and {}",
        data.categoryId(),
        data.count(),
        data.threshold(),
        data.windowStart(),
        data.windowEnd());
    Counter.builder("payments.risk.category.signals")
        .description("risk signals of a marketplace category, by signal and category")
        .tag("signal", data.signal().wireName())
        .tag("category", String.valueOf(data.categoryId()))
        .register(registry)
        .increment();
  }

  @Override
  public void update(
      String categoryId, Instant windowStart, Instant windowEnd, CategoryRates rates) {
    if (rates == null) {
      return;
    }
    Latest next = new Latest(windowStart, windowEnd, rates);
    latest.compute(
        categoryId,
        (id, current) ->
            current == null || !current.windowStart().isAfter(windowStart) ? next : current);
    if (registered.add(categoryId)) {
      register(categoryId);
    }
  }

  private void register(String categoryId) {
    gauge(
        "payments.risk.category.events",
        "succeeded or declined PaymentIntents and distinct refunds of a category this hour",
        categoryId,
        "succeeded",
        r -> r.succeeded());
    gauge(
        "payments.risk.category.events",
        "succeeded or declined PaymentIntents and distinct refunds of a category this hour",
        categoryId,
        "declined",
        r -> r.declined());
    gauge(
        "payments.risk.category.events",
        "succeeded or declined PaymentIntents and distinct refunds of a category this hour",
        categoryId,
        "refunded",
        CategoryRates::refunds);
    Gauge.builder(
            "payments.risk.category.refund.ratio",
            () -> value(categoryId, CategoryRates::refundRatio))
        .description("refunds / succeeded payments of a category this hour")
        .tag("category", categoryId)
        .register(registry);
    Gauge.builder(
            "payments.risk.category.decline.ratio",
            () -> value(categoryId, CategoryRates::declineRatio))
        .description("declines / (declines + succeeded) of a category this hour")
        .tag("category", categoryId)
        .register(registry);
  }

  private void gauge(
      String name,
      String description,
      String categoryId,
      String kind,
      ToDoubleFunction<CategoryRates> count) {
    Gauge.builder(name, () -> value(categoryId, count))
        .description(description)
        .tag("category", categoryId)
        .tag("kind", kind)
        .register(registry);
  }

  /** A value of the category's current window, 0 once that window has ended. */
  double value(String categoryId, ToDoubleFunction<CategoryRates> of) {
    Latest current = latest.get(categoryId);
    if (current == null || !clock.instant().isBefore(current.windowEnd())) {
      return 0;
    }
    return of.applyAsDouble(current.rates());
  }
}
