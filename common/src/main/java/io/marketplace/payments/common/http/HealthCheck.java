package io.marketplace.payments.common.http;

import java.util.function.BooleanSupplier;

/** One dependency the readiness probe asks: Kafka, PostgreSQL, Stripe, ... */
public record HealthCheck(String name, BooleanSupplier check) {

  public boolean healthy() {
    try {
      return check.getAsBoolean();
    } catch (RuntimeException e) {
      return false;
    }
  }
}
