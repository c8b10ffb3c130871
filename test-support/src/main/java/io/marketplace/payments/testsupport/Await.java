package io.marketplace.payments.testsupport;

import java.time.Duration;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Bounded polling, the only place where tests wait. A condition is checked every 50 ms (or at the
 * interval given) until it holds or the timeout passes; then the test fails with the description of
 * what it waited for. A condition that throws counts as not yet met, and its last exception is
 * attached to the failure.
 *
 * <p>50 ms suits a test that waits for one thing. Where many callers wait at once against real
 * processes (simulated clients, each polling a database or retrying an API), give them the pace a
 * real client keeps: a hundred callers at 50 ms are thousands of requests a second, which starve
 * the very processes they wait for.
 */
public final class Await {

  static final Duration POLL_INTERVAL = Duration.ofMillis(50);

  private Await() {}

  /** Waits until {@code condition} holds. */
  public static void until(Duration timeout, BooleanSupplier condition) {
    until(timeout, "the condition", condition);
  }

  /**
   * Waits until {@code condition} holds; {@code description} says what, for the failure message.
   */
  public static void until(Duration timeout, String description, BooleanSupplier condition) {
    until(timeout, POLL_INTERVAL, description, condition);
  }

  /** Waits until {@code supplier} gives a value, and returns it. */
  public static <T> T value(Duration timeout, Supplier<Optional<T>> supplier) {
    return value(timeout, "a value", supplier);
  }

  /** Waits until {@code condition} holds, checking it every {@code every}. */
  public static void until(
      Duration timeout, Duration every, String description, BooleanSupplier condition) {
    value(
        timeout,
        every,
        description,
        () -> condition.getAsBoolean() ? Optional.of(Boolean.TRUE) : Optional.empty());
  }

  /** Waits until {@code supplier} gives a value, and returns it. */
  public static <T> T value(Duration timeout, String description, Supplier<Optional<T>> supplier) {
    return value(timeout, POLL_INTERVAL, description, supplier);
  }

  /** Waits until {@code supplier} gives a value, asking it every {@code every}, and returns it. */
  public static <T> T value(
      Duration timeout, Duration every, String description, Supplier<Optional<T>> supplier) {
    if (every.isNegative() || every.isZero()) {
      throw new IllegalArgumentException("a poll interval must be positive: " + every);
    }
    long deadline = System.nanoTime() + timeout.toNanos();
    Throwable lastFailure = null;
    while (true) {
      try {
        Optional<T> value = supplier.get();
        if (value.isPresent()) {
          return value.get();
        }
      } catch (RuntimeException | AssertionError e) {
        lastFailure = e;
      }
      if (System.nanoTime() - deadline >= 0) {
        throw new AssertionError(
            "Timed out after " + format(timeout) + " waiting for " + description, lastFailure);
      }
      pause(every);
    }
  }

  /**
   * Waits until {@code assertion} passes (AssertJ style), and fails with its last error otherwise.
   */
  public static void untilAsserted(Duration timeout, String description, Runnable assertion) {
    untilAsserted(timeout, POLL_INTERVAL, description, assertion);
  }

  /** Waits until {@code assertion} passes, trying it every {@code every}. */
  public static void untilAsserted(
      Duration timeout, Duration every, String description, Runnable assertion) {
    until(
        timeout,
        every,
        description,
        () -> {
          assertion.run();
          return true;
        });
  }

  /** Waits until {@code assertion} passes. */
  public static void untilAsserted(Duration timeout, Runnable assertion) {
    untilAsserted(timeout, "the assertion to pass", assertion);
  }

  /**
   * Checks that {@code condition} stays false for the whole of {@code window}, polling as above;
   * fails as soon as it holds. For "nothing happens" assertions, kept short.
   */
  public static void never(Duration window, String description, BooleanSupplier condition) {
    long deadline = System.nanoTime() + window.toNanos();
    while (true) {
      if (condition.getAsBoolean()) {
        throw new AssertionError("Expected never, within " + format(window) + ": " + description);
      }
      if (System.nanoTime() - deadline >= 0) {
        return;
      }
      pause(POLL_INTERVAL);
    }
  }

  private static void pause(Duration interval) {
    try {
      Thread.sleep(interval);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("Interrupted while waiting", e);
    }
  }

  private static String format(Duration duration) {
    return duration.toMillis() % 1000 == 0
        ? duration.toSeconds() + " s"
        : duration.toMillis() + " ms";
  }
}
