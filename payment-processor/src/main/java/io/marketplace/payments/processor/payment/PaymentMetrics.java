package io.marketplace.payments.processor.payment;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.EnumMap;
import java.util.Map;

/**
 * The business counters of SPEC §6. Each counts a fact once: it is incremented only after the
 * transaction that applied the fact commits, so a rolled-back batch, a re-delivery or a replay
 * (which the dedupe skips) counts nothing.
 */
public final class PaymentMetrics {

  private final Map<PaymentType, Counter> succeeded = new EnumMap<>(PaymentType.class);
  private final Map<PaymentType, Counter> failed = new EnumMap<>(PaymentType.class);
  private final Counter technicalFailures;

  public PaymentMetrics(MeterRegistry registry) {
    for (PaymentType type : PaymentType.values()) {
      succeeded.put(
          type,
          Counter.builder("homepage.payments.succeeded")
              .description("payments that succeeded, once per PaymentIntent")
              .tag("type", type.wire())
              .register(registry));
      failed.put(
          type,
          Counter.builder("homepage.payments.failed")
              .description("failed payment attempts, once per Stripe event")
              .tag("type", type.wire())
              .register(registry));
    }
    technicalFailures =
        Counter.builder("payments.processor.technical_failures")
            .description("paid purchases that could not be delivered and were sent for refund")
            .register(registry);
  }

  /** Call after the commit that applied the success (see {@code PaymentBatch#afterCommit}). */
  public void succeeded(PaymentType type) {
    succeeded.get(type).increment();
  }

  public void failed(PaymentType type) {
    failed.get(type).increment();
  }

  public void technicalFailure() {
    technicalFailures.increment();
  }
}
