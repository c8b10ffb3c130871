package io.marketplace.payments.common.time;

import java.time.Clock;
import java.time.Duration;

/** The clocks services run on. */
public final class Clocks {

  private static final Clock SYSTEM_UTC_MICROS =
      Clock.tick(Clock.systemUTC(), Duration.ofNanos(1_000));

  private Clocks() {}

  /**
   * UTC ticking in microseconds, the precision PostgreSQL keeps: a time announced in an event is
   * then exactly the time stored and shown by the API for the same fact.
   */
  public static Clock systemUtc() {
    return SYSTEM_UTC_MICROS;
  }
}
