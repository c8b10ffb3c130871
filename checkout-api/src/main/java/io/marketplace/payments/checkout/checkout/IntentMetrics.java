package io.marketplace.payments.checkout.checkout;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.config.NamingConvention;
import java.util.EnumMap;
import java.util.Map;

/**
 * {@code homepage_payments_intents_created_total{type}} (SPEC §6): PaymentIntents created, by what
 * they pay for, counted once per PaymentIntent however often it is handed out again.
 *
 * <p>The name is kept from the system we replace, but today's Prometheus client treats a trailing
 * {@code _created} as reserved and would drop it (scraping {@code
 * homepage_payments_intents_total}). So this registry's naming convention is taught this one name
 * and left as it was for all others.
 */
public final class IntentMetrics {

  static final String NAME = "homepage.payments.intents.created";
  static final String PROMETHEUS_NAME = "homepage_payments_intents_created";

  private final Map<PaymentType, Counter> created = new EnumMap<>(PaymentType.class);

  public IntentMetrics(MeterRegistry registry) {
    keepSpecName(registry);
    for (PaymentType type : PaymentType.values()) {
      created.put(
          type,
          Counter.builder(NAME)
              .description("PaymentIntents created, by what they pay for")
              .tag("type", type.wire())
              .register(registry));
    }
  }

  public void created(PaymentType type) {
    created.get(type).increment();
  }

  private static void keepSpecName(MeterRegistry registry) {
    NamingConvention standard = registry.config().namingConvention();
    registry
        .config()
        .namingConvention(
            new NamingConvention() {
              @Override
              public String name(String name, Meter.Type type, String baseUnit) {
                return NAME.equals(name) && type == Meter.Type.COUNTER
                    ? PROMETHEUS_NAME
                    : standard.name(name, type, baseUnit);
              }

              @Override
              public String tagKey(String key) {
                return standard.tagKey(key);
              }

              @Override
              public String tagValue(String value) {
                return standard.tagValue(value);
              }
            });
  }
}
