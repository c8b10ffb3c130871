package io.marketplace.payments.ops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

class TimesTest {

  private static final Instant NOW = Instant.parse("2026-03-02T10:00:00Z");
  private static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);

  @Test
  void shouldReadInstantsDatesAndDurationsAgoWhenOperatorTypesThem() {
    assertThat(Times.parseInstant("2026-03-01T08:30:00Z", CLOCK))
        .isEqualTo(Instant.parse("2026-03-01T08:30:00Z"));
    assertThat(Times.parseInstant("2026-03-01T10:30:00+02:00", CLOCK))
        .isEqualTo(Instant.parse("2026-03-01T08:30:00Z"));
    assertThat(Times.parseInstant("2026-03-01", CLOCK))
        .isEqualTo(Instant.parse("2026-03-01T00:00:00Z"));
    assertThat(Times.parseInstant("24h", CLOCK)).isEqualTo(NOW.minus(Duration.ofHours(24)));
    assertThat(Times.parseInstant("PT30M", CLOCK)).isEqualTo(NOW.minus(Duration.ofMinutes(30)));
  }

  @Test
  void shouldExplainTheFormatsWhenTimeIsNotOne() {
    assertThatThrownBy(() -> Times.parseInstant("yesterday", CLOCK))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("2026-03-01T10:00:00Z");
    assertThatThrownBy(() -> Times.parseDuration("5 minutes"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void shouldTellWrongUsageWhenADateAndTimeHasNoZone() {
    assertThatThrownBy(() -> Times.parseInstant("2026-03-01T08:30", CLOCK))
        .isInstanceOf(UsageError.class)
        .hasMessageContaining("'2026-03-01T08:30' has no zone")
        .hasMessageContaining("2026-03-01T08:30Z");
  }

  @Test
  void shouldTellWrongUsageWhenADurationAgoReachesBeforeAnyTime() {
    // a duration Java holds, but that long before now is no instant: a slip of the finger, told as
    // wrong usage (exit 2) like any other value that is not a time, not as a failure with a trace
    assertThatThrownBy(() -> Times.parseInstant("99999999999999d", CLOCK))
        .isInstanceOf(UsageError.class)
        .hasMessageContaining("'99999999999999d' is not a time");
    assertThatThrownBy(() -> Times.parsePast("P99999999999999D", CLOCK))
        .isInstanceOf(UsageError.class);
  }
}
