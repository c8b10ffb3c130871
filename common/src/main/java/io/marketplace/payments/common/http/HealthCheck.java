package io.marketplace.payments.common.http;

import java.util.function.BooleanSupplier;

/**
 * One dependency or part the probes ask: Kafka, PostgreSQL, a worker, ...
 *
 * @param check whether it is ready, for {@code /health/ready}
 * @param alive whether it can still become ready without a restart of the process, for {@code
 *     /health/live}; null when it always can (a dependency that comes back by itself)
 */
public record HealthCheck(String name, BooleanSupplier check, BooleanSupplier alive) {

  /** A check of readiness only: a dependency that comes back by itself. */
  public HealthCheck(String name, BooleanSupplier check) {
    this(name, check, null);
  }

  public boolean healthy() {
    return ask(check);
  }

  /** False when only a restart of the process brings this part back. */
  public boolean live() {
    return alive == null || ask(alive);
  }

  private static boolean ask(BooleanSupplier supplier) {
    try {
      return supplier.getAsBoolean();
    } catch (RuntimeException e) {
      return false;
    }
  }
}
