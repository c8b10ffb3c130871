package io.marketplace.payments.ops;

import java.time.Clock;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.Locale;

/**
 * The times and durations operators type. A point in time is ISO-8601 with its zone ({@code
 * 2026-03-01T10:00:00Z}, or with an offset), a date ({@code 2026-03-01}, midnight UTC), or a
 * duration meaning that long ago ({@code 90m}, {@code 24h}, {@code 7d}, {@code PT2H}). A value that
 * is neither, a date and time without a zone, or a negative duration, is a {@link UsageError}.
 */
public final class Times {

  private Times() {}

  public static Instant parseInstant(String text, Clock clock) {
    String value = text.strip();
    try {
      if (looksLikeDuration(value)) {
        return clock.instant().minus(parseDuration(value));
      }
      if (value.length() == 10) {
        return LocalDate.parse(value).atStartOfDay().toInstant(ZoneOffset.UTC);
      }
      if (value.endsWith("Z") || value.endsWith("z")) {
        return Instant.parse(value.toUpperCase(Locale.ROOT));
      }
      try {
        return OffsetDateTime.parse(value).toInstant();
      } catch (DateTimeParseException e) {
        LocalDateTime.parse(value); // parses: a date and time without its zone, refused below
      }
    } catch (DateTimeException | IllegalArgumentException e) {
      // DateTimeException: not only a text that does not parse, but a duration ago that reaches
      // before the earliest instant Java holds (99999999999999d)
      throw new UsageError(
          "'"
              + text
              + "' is not a time: use 2026-03-01T10:00:00Z, 2026-03-01, or a duration ago such as"
              + " 24h or 7d");
    }
    throw noZone(text, value);
  }

  /**
   * A date and time without a zone is a wall clock's, of a zone not said: taken as UTC, an operator
   * east of UTC would replay or reconcile from hours after the moment meant, and what lies between
   * would never be looked at.
   */
  private static UsageError noZone(String text, String value) {
    return new UsageError(
        "'"
            + text
            + "' has no zone: write it as "
            + value
            + "Z for UTC, or with the offset of the clock it was read from, such as "
            + value
            + "+01:00");
  }

  /**
   * {@link #parseInstant}, refusing a time after now. Every time an operator types names a moment
   * that already happened (objects created since it, records written at or after it); a future one
   * is a typo (a wrong year, a day too far), and taken as given it reads nothing and reports
   * nothing to do: "no differences", "0 records to re-read".
   */
  public static Instant parsePast(String text, Clock clock) {
    Instant time = parseInstant(text, clock);
    Instant now = clock.instant();
    if (time.isAfter(now)) {
      String resolved = time.toString().equals(text.strip()) ? "" : " (" + time + ")";
      throw new IllegalArgumentException(
          "'" + text + "'" + resolved + " is in the future (now is " + now + "): nothing changed");
    }
    return time;
  }

  /**
   * {@code 500ms}, {@code 30s}, {@code 5m}, {@code 24h}, {@code 7d} or ISO-8601 {@code PT24H}; not
   * negative. A negative lookback ({@code -90d}) would silently look at nothing and report "no
   * differences"; zero is a lookback of nothing before T.
   */
  public static Duration parseDuration(String text) {
    Duration duration = parseAnyDuration(text);
    if (duration.isNegative()) {
      throw new UsageError("'" + text + "' is a negative duration: use 30s, 5m, 24h, 7d");
    }
    return duration;
  }

  private static Duration parseAnyDuration(String text) {
    String value = text.strip().toLowerCase(Locale.ROOT);
    try {
      if (value.startsWith("p")) {
        return Duration.parse(value.toUpperCase(Locale.ROOT));
      }
      if (value.endsWith("ms")) {
        return Duration.ofMillis(Long.parseLong(value.substring(0, value.length() - 2)));
      }
      long amount = Long.parseLong(value.substring(0, value.length() - 1));
      return switch (value.charAt(value.length() - 1)) {
        case 's' -> Duration.ofSeconds(amount);
        case 'm' -> Duration.ofMinutes(amount);
        case 'h' -> Duration.ofHours(amount);
        case 'd' -> Duration.ofDays(amount);
        default -> throw new IllegalArgumentException("unknown unit");
      };
    } catch (RuntimeException e) {
      throw new UsageError("'" + text + "' is not a duration: use 30s, 5m, 24h, 7d or PT24H");
    }
  }

  private static boolean looksLikeDuration(String value) {
    return value.matches("(?i)p.*|\\d+(ms|s|m|h|d)");
  }
}
