package io.marketplace.payments.expirer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.marketplace.payments.common.config.Env;
import io.marketplace.payments.common.config.InvalidConfigException;
import io.marketplace.payments.common.config.MissingConfigException;
import io.marketplace.payments.expirer.schedule.Schedule;
import java.time.Duration;
import java.time.LocalTime;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ExpirerConfigTest {

  private static final Map<String, String> REQUIRED =
      Map.of(
          "DATABASE_URL", "jdbc:postgresql://db:5432/payments",
          "DATABASE_USER", "payments",
          "KAFKA_BOOTSTRAP_SERVERS", "kafka:9092");

  @Test
  void shouldUseTheDefaultsWhenOnlyTheRequiredVariablesAreSet() {
    // When
    ExpirerConfig config = ExpirerConfig.fromEnv(Env.of(REQUIRED));

    // Then
    assertThat(config.adminPort()).isEqualTo(8084);
    assertThat(config.batchSize()).isEqualTo(1000);
    assertThat(config.webhookEventsRetention()).isEqualTo(Duration.ofDays(90));
    assertThat(config.schedule()).isEqualTo(new Schedule.Every(Duration.ofHours(24)));
    assertThat(config.db().url()).isEqualTo("jdbc:postgresql://db:5432/payments");
    assertThat(config.kafka().bootstrapServers()).isEqualTo("kafka:9092");
    assertThat(config.kafka().topics().paymentEvents().name()).isEqualTo("payments.events.v1");
  }

  @Test
  void shouldReadTheScheduleAndPortWhenSet() {
    // Given
    Map<String, String> env = new HashMap<>(REQUIRED);
    env.put("ADMIN_PORT", "9000");
    env.put("EXPIRER_CRON_TIME", "03:15");
    env.put("EXPIRER_BATCH_SIZE", "500");

    // When
    ExpirerConfig config = ExpirerConfig.fromEnv(Env.of(env));

    // Then
    assertThat(config.adminPort()).isEqualTo(9000);
    assertThat(config.schedule()).isEqualTo(new Schedule.DailyAt(LocalTime.of(3, 15)));
    assertThat(config.batchSize()).isEqualTo(500);
  }

  @Test
  void shouldRefuseARetentionOfLessThanADayWhenSet() {
    Map<String, String> env = new HashMap<>(REQUIRED);
    env.put("WEBHOOK_EVENTS_RETENTION", "12h");

    assertThatThrownBy(() -> ExpirerConfig.fromEnv(Env.of(env)))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("WEBHOOK_EVENTS_RETENTION");

    env.put("WEBHOOK_EVENTS_RETENTION", "30d");
    assertThat(ExpirerConfig.fromEnv(Env.of(env)).webhookEventsRetention())
        .isEqualTo(Duration.ofDays(30));
  }

  @Test
  void shouldNameTheVariableWhenARequiredOneIsMissing() {
    for (String name : REQUIRED.keySet()) {
      Map<String, String> env = new HashMap<>(REQUIRED);
      env.remove(name);
      assertThatThrownBy(() -> ExpirerConfig.fromEnv(Env.of(env)))
          .isInstanceOf(MissingConfigException.class)
          .hasMessage("missing required environment variable " + name);
    }
  }

  @Test
  void shouldRejectTheConfigWhenAValueIsUnusable() {
    Map<String, String> badPort = new HashMap<>(REQUIRED);
    badPort.put("ADMIN_PORT", "70000");
    assertThatThrownBy(() -> ExpirerConfig.fromEnv(Env.of(badPort)))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("ADMIN_PORT");
    Map<String, String> badBatch = new HashMap<>(REQUIRED);
    badBatch.put("EXPIRER_BATCH_SIZE", "0");
    assertThatThrownBy(() -> ExpirerConfig.fromEnv(Env.of(badBatch)))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("EXPIRER_BATCH_SIZE");
  }
}
