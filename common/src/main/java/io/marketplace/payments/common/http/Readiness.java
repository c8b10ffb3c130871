package io.marketplace.payments.common.http;

import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * The answer of {@code /health/ready}: every {@link HealthCheck} asked, at most once per {@code
 * maxAge}. The probe is on the public port (the kubelet must see the port that serves), so anyone
 * can call it; without this, each call would cost a request to Kafka or a query to PostgreSQL, and
 * a caller could turn a flood of cheap requests into load on the shared broker or database.
 * Concurrent callers of a stale answer wait for one computation.
 */
public final class Readiness {

  /** How long an answer stands: shorter than any probe period, longer than a flood's gaps. */
  public static final Duration MAX_AGE = Duration.ofSeconds(1);

  /** The result of one round of checks. */
  public record Result(boolean up, Map<String, String> checks) {}

  private final List<HealthCheck> checks;
  private final long maxAgeNanos;
  private final LongSupplier nanoTime;
  private Result last;
  private long askedAt;

  public Readiness(List<HealthCheck> checks) {
    this(checks, MAX_AGE, System::nanoTime);
  }

  Readiness(List<HealthCheck> checks, Duration maxAge, LongSupplier nanoTime) {
    this.checks = List.copyOf(checks);
    this.maxAgeNanos = maxAge.toNanos();
    this.nanoTime = nanoTime;
  }

  /** The checks' results, asked now unless an answer younger than {@code maxAge} stands. */
  public synchronized Result result() {
    long now = nanoTime.getAsLong();
    if (last != null && now - askedAt < maxAgeNanos) {
      return last;
    }
    Map<String, String> results = new LinkedHashMap<>();
    boolean up = true;
    for (HealthCheck check : checks) {
      boolean healthy = check.healthy();
      results.put(check.name(), healthy ? "UP" : "DOWN");
      up &= healthy;
    }
    last = new Result(up, Collections.unmodifiableMap(results));
    askedAt = nanoTime.getAsLong();
    return last;
  }
}
