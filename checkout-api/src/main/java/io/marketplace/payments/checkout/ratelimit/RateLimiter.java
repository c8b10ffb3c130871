package io.marketplace.payments.checkout.ratelimit;

import io.github.bucket4j.Bucket;
import io.github.bucket4j.ConsumptionProbe;
import io.marketplace.payments.common.http.ProblemException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A token bucket per user: {@code perMinute} requests, refilled evenly over the minute. Over the
 * limit is a 429 with {@code Retry-After} in seconds. One limiter guards the routes that create
 * payments (a runaway client creating PaymentIntents in a loop), another the user's other writes
 * (new listings, refund requests: rows no one may create without end). Buckets live in this
 * process: with several replicas each enforces its own share.
 */
public final class RateLimiter {

  private static final Duration IDLE = Duration.ofMinutes(2);

  private final int perMinute;
  private final String what;
  private final Map<UUID, Entry> buckets = new ConcurrentHashMap<>();
  private final Counter limited;

  private record Entry(Bucket bucket, long lastUsedNanos) {}

  /**
   * {@code kind} tags {@code payments_api_rate_limited_total}; {@code what} names the requests in
   * the 429's detail ("payment requests").
   */
  public RateLimiter(int perMinute, String kind, String what, MeterRegistry registry) {
    this.perMinute = perMinute;
    this.what = what;
    this.limited =
        Counter.builder("payments.api.rate_limited")
            .description("requests refused by a per-user rate limit, by kind")
            .tag("kind", kind)
            .register(registry);
  }

  /** Takes one token of {@code userId}'s bucket, or throws 429. */
  public void acquire(UUID userId) {
    Entry entry =
        buckets.compute(
            userId,
            (id, old) -> new Entry(old == null ? newBucket() : old.bucket(), System.nanoTime()));
    ConsumptionProbe probe = entry.bucket().tryConsumeAndReturnRemaining(1);
    if (!probe.isConsumed()) {
      limited.increment();
      long seconds = Math.max(1, (probe.getNanosToWaitForRefill() + 999_999_999L) / 1_000_000_000L);
      throw new ProblemException(
          429,
          "Too Many Requests",
          "at most " + perMinute + " " + what + " a minute; retry in " + seconds + " s",
          Map.of(),
          Map.of("Retry-After", Long.toString(seconds)));
    }
  }

  /** Forgets buckets idle long enough to be full again, so memory follows active users only. */
  public void evictIdle() {
    long cutoff = System.nanoTime() - IDLE.toNanos();
    buckets.values().removeIf(entry -> entry.lastUsedNanos() - cutoff < 0);
  }

  private Bucket newBucket() {
    return Bucket.builder()
        .addLimit(limit -> limit.capacity(perMinute).refillGreedy(perMinute, Duration.ofMinutes(1)))
        .build();
  }
}
