package io.marketplace.payments.refunds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.marketplace.payments.common.config.Env;
import io.marketplace.payments.common.config.MissingConfigException;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RefundWorkerConfigTest {

  private static final Map<String, String> REQUIRED =
      Map.of(
          "KAFKA_BOOTSTRAP_SERVERS", "localhost:9092",
          "DATABASE_URL", "jdbc:postgresql://localhost/payments",
          "DATABASE_USER", "payments",
          "STRIPE_SECRET_KEY", "sk_test_51d3a9c0e7b24f68a1c5e9d3b7f0a2c4");

  @Test
  void shouldUseTheDefaultsWhenOnlyTheRequiredVariablesAreSet() {
    RefundWorkerConfig config = RefundWorkerConfig.fromEnv(Env.of(REQUIRED));

    assertThat(config.adminPort()).isEqualTo(8083);
    assertThat(config.retryInterval()).isEqualTo(Duration.ofSeconds(10));
    assertThat(config.refusedRetryInterval()).isEqualTo(Duration.ofHours(1));
    assertThat(config.stripe().apiBase()).isEqualTo("https://api.stripe.com");
    assertThat(config.kafka().topics().moderation().name()).isEqualTo("marketplace.moderation.v1");
    assertThat(config.toString()).doesNotContain("sk_test_51d3a9c0e7b24f68a1c5e9d3b7f0a2c4");
  }

  @Test
  void shouldReadPortAndRetryIntervalWhenSet() {
    Map<String, String> env = new HashMap<>(REQUIRED);
    env.put("ADMIN_PORT", "9183");
    env.put("REFUND_RETRY_INTERVAL", "3s");
    env.put("STRIPE_API_BASE", "http://localhost:12111");

    RefundWorkerConfig config = RefundWorkerConfig.fromEnv(Env.of(env));

    assertThat(config.adminPort()).isEqualTo(9183);
    assertThat(config.retryInterval()).isEqualTo(Duration.ofSeconds(3));
    assertThat(config.stripe().apiBase()).isEqualTo("http://localhost:12111");
  }

  @Test
  void shouldNameTheVariableWhenARequiredOneIsMissing() {
    Map<String, String> env = new HashMap<>(REQUIRED);
    env.remove("STRIPE_SECRET_KEY");

    assertThatThrownBy(() -> RefundWorkerConfig.fromEnv(Env.of(env)))
        .isInstanceOf(MissingConfigException.class)
        .hasMessageContaining("STRIPE_SECRET_KEY");
  }
}
