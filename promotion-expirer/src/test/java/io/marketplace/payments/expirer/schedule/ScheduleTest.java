package io.marketplace.payments.expirer.schedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.marketplace.payments.common.config.Env;
import io.marketplace.payments.common.config.InvalidConfigException;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalTime;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ScheduleTest {

  private static final Instant NOW = Instant.parse("2026-03-10T12:00:00Z");

  @Test
  void shouldBeDueAtOnceWhenNoPassEverSucceeded() {
    // Given no successful pass, when asked, then both kinds of schedule are due
    assertThat(new Schedule.Every(Duration.ofHours(24)).isDue(null, NOW)).isTrue();
    assertThat(new Schedule.DailyAt(LocalTime.of(3, 15)).isDue(null, NOW)).isTrue();
  }

  @Test
  void shouldBeDueOneIntervalAfterTheLastStartWhenEvery() {
    // Given a pass every 24 h whose last one started at NOW
    Schedule schedule = new Schedule.Every(Duration.ofHours(24));

    // When and Then: due exactly one interval later, not a microsecond before
    assertThat(schedule.nextDue(NOW)).isEqualTo(NOW.plus(Duration.ofHours(24)));
    assertThat(schedule.isDue(NOW, NOW.plus(Duration.ofHours(24)).minusNanos(1000))).isFalse();
    assertThat(schedule.isDue(NOW, NOW.plus(Duration.ofHours(24)))).isTrue();
  }

  @Test
  void shouldBeDueAtTheNextDailyTimeAfterTheLastStartWhenDailyAt() {
    // Given a pass every day at 03:15 UTC
    Schedule schedule = new Schedule.DailyAt(LocalTime.of(3, 15));

    // When and Then: after a pass at 03:15:02 the next is tomorrow's; after one at 02:00 (by hand),
    // today's 03:15 still runs; a pass started exactly at 03:15 counts for that day
    assertThat(schedule.nextDue(Instant.parse("2026-03-10T03:15:02Z")))
        .isEqualTo(Instant.parse("2026-03-11T03:15:00Z"));
    assertThat(schedule.nextDue(Instant.parse("2026-03-10T02:00:00Z")))
        .isEqualTo(Instant.parse("2026-03-10T03:15:00Z"));
    assertThat(schedule.nextDue(Instant.parse("2026-03-10T03:15:00Z")))
        .isEqualTo(Instant.parse("2026-03-11T03:15:00Z"));
  }

  @Test
  void shouldCatchUpWhenADailyTimePassedWithoutAPass() {
    // Given a daily schedule whose last pass was two days ago (the service was down)
    Schedule schedule = new Schedule.DailyAt(LocalTime.of(3, 15));
    Instant twoDaysAgo = Instant.parse("2026-03-08T03:15:05Z");

    // When and Then: a pass is due now, not at tonight's time
    assertThat(schedule.isDue(twoDaysAgo, NOW)).isTrue();
  }

  @Test
  void shouldDefaultToADailyIntervalWhenNothingIsSet() {
    assertThat(Schedule.fromEnv(Env.of(Map.of())))
        .isEqualTo(new Schedule.Every(Duration.ofHours(24)));
    assertThat(Schedule.fromEnv(Env.of(Map.of("EXPIRER_INTERVAL", "6h"))))
        .isEqualTo(new Schedule.Every(Duration.ofHours(6)));
  }

  @Test
  void shouldReadADailyTimeWhenGivenAsTimeOrAsDailyCron() {
    assertThat(Schedule.fromEnv(Env.of(Map.of("EXPIRER_CRON_TIME", "03:15"))))
        .isEqualTo(new Schedule.DailyAt(LocalTime.of(3, 15)));
    assertThat(Schedule.fromEnv(Env.of(Map.of("EXPIRER_CRON_TIME", "15 3 * * *"))))
        .isEqualTo(new Schedule.DailyAt(LocalTime.of(3, 15)));
  }

  @Test
  void shouldRejectTheScheduleWhenItIsAmbiguousOrUnusable() {
    assertThatThrownBy(
            () ->
                Schedule.fromEnv(
                    Env.of(Map.of("EXPIRER_INTERVAL", "1h", "EXPIRER_CRON_TIME", "03:15"))))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("not both");
    assertThatThrownBy(() -> Schedule.fromEnv(Env.of(Map.of("EXPIRER_CRON_TIME", "25:00"))))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("EXPIRER_CRON_TIME");
    assertThatThrownBy(() -> Schedule.fromEnv(Env.of(Map.of("EXPIRER_CRON_TIME", "*/5 * * * *"))))
        .isInstanceOf(InvalidConfigException.class);
    assertThatThrownBy(() -> Schedule.fromEnv(Env.of(Map.of("EXPIRER_INTERVAL", "0s"))))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("EXPIRER_INTERVAL");
    // an interval that would overflow the next pass's time, or pass many times a second
    for (String interval : List.of("999999999999d", "25h", "1ms", "59s")) {
      assertThatThrownBy(() -> Schedule.fromEnv(Env.of(Map.of("EXPIRER_INTERVAL", interval))))
          .as(interval)
          .isInstanceOf(InvalidConfigException.class)
          .hasMessageContaining("between 1m and 24h");
    }
    assertThat(Schedule.fromEnv(Env.of(Map.of("EXPIRER_INTERVAL", "1m"))))
        .isEqualTo(new Schedule.Every(Duration.ofMinutes(1)));
    // seconds are not silently dropped
    assertThatThrownBy(() -> Schedule.fromEnv(Env.of(Map.of("EXPIRER_CRON_TIME", "03:15:30"))))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("EXPIRER_CRON_TIME");
  }
}
