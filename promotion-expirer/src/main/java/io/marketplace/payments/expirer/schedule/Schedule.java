package io.marketplace.payments.expirer.schedule;

import io.marketplace.payments.common.config.Env;
import io.marketplace.payments.common.config.InvalidConfigException;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.temporal.ChronoUnit;
import java.util.Objects;

/**
 * When passes are due. A schedule is asked only one question: given when the last successful pass
 * started (fleet-wide, from the database), when is the next one due? So a replica that restarts, or
 * a second replica, never runs a pass the schedule does not call for, and a missed pass (the
 * service was down at its time) runs as soon as the service is back.
 */
public sealed interface Schedule {

  String INTERVAL_VARIABLE = "EXPIRER_INTERVAL";
  String TIME_VARIABLE = "EXPIRER_CRON_TIME";
  Duration DEFAULT_INTERVAL = Duration.ofHours(24);
  Duration MIN_INTERVAL = Duration.ofMinutes(1);
  Duration MAX_INTERVAL = Duration.ofHours(24);

  /**
   * The next pass is due at this instant; {@code lastStart} is null when no pass ever succeeded.
   */
  Instant nextDue(Instant lastStart);

  default boolean isDue(Instant lastStart, Instant now) {
    return !now.isBefore(nextDue(lastStart));
  }

  /** A pass every {@code interval}, counted from the start of the last successful one. */
  record Every(Duration interval) implements Schedule {

    public Every {
      Objects.requireNonNull(interval, "interval");
      if (interval.isNegative() || interval.isZero()) {
        throw new IllegalArgumentException("the interval must be positive");
      }
    }

    @Override
    public Instant nextDue(Instant lastStart) {
      return lastStart == null ? Instant.MIN : lastStart.plus(interval);
    }
  }

  /** A pass every day at {@code time} UTC; a day whose time passed without a pass catches up. */
  record DailyAt(LocalTime time) implements Schedule {

    public DailyAt {
      Objects.requireNonNull(time, "time");
      time = time.truncatedTo(ChronoUnit.MINUTES);
    }

    @Override
    public Instant nextDue(Instant lastStart) {
      if (lastStart == null) {
        return Instant.MIN;
      }
      ZonedDateTime sameDay = lastStart.atZone(ZoneOffset.UTC).with(time);
      Instant candidate = sameDay.toInstant();
      return candidate.isAfter(lastStart) ? candidate : sameDay.plusDays(1).toInstant();
    }
  }

  /**
   * {@code EXPIRER_INTERVAL} (a duration, default 24h) or {@code EXPIRER_CRON_TIME} (a daily UTC
   * time as {@code HH:mm}, or the daily cron expression {@code "M H * * *"}); not both.
   */
  static Schedule fromEnv(Env env) {
    String time = env.optional(TIME_VARIABLE, null);
    if (time == null) {
      Duration interval = env.duration(INTERVAL_VARIABLE, DEFAULT_INTERVAL);
      if (interval.compareTo(MIN_INTERVAL) < 0 || interval.compareTo(MAX_INTERVAL) > 0) {
        throw new InvalidConfigException(
            INTERVAL_VARIABLE,
            "must be between 1m and 24h: what falls due ends up to one interval late, and the"
                + " ExpirerNotRun alert expects a pass every day");
      }
      return new Every(interval);
    }
    if (env.optional(INTERVAL_VARIABLE, null) != null) {
      throw new InvalidConfigException(
          TIME_VARIABLE, "set either " + INTERVAL_VARIABLE + " or " + TIME_VARIABLE + ", not both");
    }
    return new DailyAt(parseDailyTime(time));
  }

  /** {@code 03:15}, or the cron expression {@code 15 3 * * *}: only daily times are supported. */
  static LocalTime parseDailyTime(String text) {
    String[] fields = text.trim().split("\\s+");
    try {
      if (fields.length == 1 && fields[0].length() == 5) {
        return LocalTime.parse(fields[0]); // HH:mm: a time with seconds is refused, not rounded
      }
      if (fields.length == 5
          && fields[2].equals("*")
          && fields[3].equals("*")
          && fields[4].equals("*")) {
        return LocalTime.of(Integer.parseInt(fields[1]), Integer.parseInt(fields[0]));
      }
    } catch (DateTimeException | NumberFormatException e) {
      // falls through to the one message below
    }
    throw new InvalidConfigException(
        TIME_VARIABLE,
        "must be a daily UTC time such as 03:15, or a daily cron such as 15 3 * * *");
  }
}
