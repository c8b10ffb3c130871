package io.marketplace.payments.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.marketplace.payments.common.config.ConfigException;
import io.marketplace.payments.common.config.Env;
import io.marketplace.payments.common.http.HttpConfig;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class GatewayConfigTest {

  private static final Map<String, String> COMPLETE =
      Map.of(
          "KAFKA_BOOTSTRAP_SERVERS", "kafka-1:9092,kafka-2:9092",
          "STRIPE_WEBHOOK_SECRET",
              "whsec_5b1e0c9d7a3f42e8b6c1d0f9a7e3b2c4, whsec_9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b",
          "GATEWAY_PORT", "9090");

  @Test
  void shouldReadEverySecretAndThePortWhenSet() {
    // Given an environment in the middle of a secret rotation
    Env env = Env.of(COMPLETE);

    // When the gateway reads it
    GatewayConfig config = GatewayConfig.fromEnv(env);

    // Then both secrets are accepted, trimmed, and the port and brokers are as set
    assertThat(config.webhookSecrets())
        .containsExactly(
            "whsec_5b1e0c9d7a3f42e8b6c1d0f9a7e3b2c4", "whsec_9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b");
    assertThat(config.port()).isEqualTo(9090);
    assertThat(config.kafka().bootstrapServers()).isEqualTo("kafka-1:9092,kafka-2:9092");
    assertThat(config.kafka().topics().stripeEvents().name()).isEqualTo("stripe.events.v1");
  }

  @Test
  void shouldListenOn8080WhenGatewayPortIsUnset() {
    // Given no GATEWAY_PORT
    Env env =
        Env.of(
            Map.of(
                "KAFKA_BOOTSTRAP_SERVERS",
                "k:9092",
                "STRIPE_WEBHOOK_SECRET",
                "whsec_0f4c8e2a6b1d9c3e7f5a0b4d8c2e6a1f"));

    // When the gateway reads it
    GatewayConfig config = GatewayConfig.fromEnv(env);

    // Then SPEC §2's default applies, metrics on 8085, and bodies must arrive within 10 s
    assertThat(config.port()).isEqualTo(8080);
    assertThat(config.adminPort()).isEqualTo(8085);
    assertThat(config.bodyTimeout()).isEqualTo(Duration.ofSeconds(10));
  }

  @Test
  void shouldNameTheVariableWhenTheWebhookSecretIsMissing() {
    // Given no STRIPE_WEBHOOK_SECRET, or one holding only separators
    Env missing = Env.of(Map.of("KAFKA_BOOTSTRAP_SERVERS", "k:9092"));
    Env empty = Env.of(Map.of("KAFKA_BOOTSTRAP_SERVERS", "k:9092", "STRIPE_WEBHOOK_SECRET", " , "));

    // When the gateway reads them, then it refuses to start with one line naming the variable
    assertThatThrownBy(() -> GatewayConfig.fromEnv(missing))
        .isInstanceOf(ConfigException.class)
        .hasMessage("missing required environment variable STRIPE_WEBHOOK_SECRET");
    assertThatThrownBy(() -> GatewayConfig.fromEnv(empty))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("STRIPE_WEBHOOK_SECRET");
  }

  @Test
  void shouldNameTheVariableWhenKafkaIsMissing() {
    // Given no KAFKA_BOOTSTRAP_SERVERS
    Env env = Env.of(Map.of("STRIPE_WEBHOOK_SECRET", "whsec_0f4c8e2a6b1d9c3e7f5a0b4d8c2e6a1f"));

    // When the gateway reads it, then it refuses to start naming the variable
    assertThatThrownBy(() -> GatewayConfig.fromEnv(env))
        .isInstanceOf(ConfigException.class)
        .hasMessage("missing required environment variable KAFKA_BOOTSTRAP_SERVERS");
  }

  @Test
  void shouldRefuseAPortThatIsNotOne() {
    // Given a GATEWAY_PORT out of range
    Env env = Env.of(COMPLETE).with(Map.of("GATEWAY_PORT", "70000"));

    // When the gateway reads it, then it refuses naming the variable
    assertThatThrownBy(() -> GatewayConfig.fromEnv(env))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("GATEWAY_PORT");
  }

  @Test
  void shouldTakeTheHttpLimitsFromTheEnvironmentWhenSet() {
    // Given the HTTP_ limits set, and not set
    Env set =
        Env.of(COMPLETE)
            .with(
                Map.of(
                    "HTTP_MAX_CONNECTIONS", "1000",
                    "HTTP_ACCEPT_QUEUE_SIZE", "200",
                    "HTTP_IDLE_TIMEOUT", "20s"));

    // When the gateway reads them
    // Then its server takes them, or the defaults
    assertThat(GatewayConfig.fromEnv(set).http())
        .isEqualTo(new HttpConfig(1000, 200, Duration.ofSeconds(20)));
    assertThat(GatewayConfig.fromEnv(Env.of(COMPLETE)).http()).isEqualTo(HttpConfig.defaults());
  }

  @Test
  void shouldNeverShowTheSecretsWhenPrinted() {
    // Given a config holding secrets
    GatewayConfig config = GatewayConfig.fromEnv(Env.of(COMPLETE));

    // When it is printed, as a log line would
    String printed = config.toString();

    // Then the secrets are counted, not shown
    assertThat(printed)
        .doesNotContain("whsec_5b1e0c9d7a3f42e8b6c1d0f9a7e3b2c4")
        .doesNotContain("whsec_9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b");
    assertThat(printed).contains("2 (redacted)");
  }
}
