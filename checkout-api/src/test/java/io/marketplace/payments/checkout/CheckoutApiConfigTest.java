package io.marketplace.payments.checkout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.marketplace.payments.common.config.Env;
import io.marketplace.payments.common.config.InvalidConfigException;
import io.marketplace.payments.common.config.MissingConfigException;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CheckoutApiConfigTest {

  private static Map<String, String> complete() {
    Map<String, String> env = new HashMap<>();
    env.put("DATABASE_URL", "jdbc:postgresql://localhost/payments");
    env.put("DATABASE_USER", "payments");
    env.put("KAFKA_BOOTSTRAP_SERVERS", "localhost:9092");
    env.put("STRIPE_SECRET_KEY", "sk_test_51d3a9c0e7b24f68a1c5e9d3b7f0a2c4");
    env.put("AUTH_JWT_SECRET", "a-secret-of-at-least-thirty-two-bytes!");
    return env;
  }

  @Test
  void shouldUseSpecDefaultsWhenOnlyRequiredVariablesAreSet() {
    // When
    CheckoutApiConfig config = CheckoutApiConfig.fromEnv(Env.of(complete()));

    // Then
    assertThat(config.port()).isEqualTo(8081);
    assertThat(config.listingTtl()).isEqualTo(Duration.ofDays(30));
    assertThat(config.rateLimitPerMinute()).isEqualTo(10);
    assertThat(config.writeRateLimitPerMinute()).isEqualTo(30);
    assertThat(config.corsOrigins()).isEmpty();
    assertThat(config.stripe().apiBase()).isEqualTo("https://api.stripe.com");
  }

  @Test
  void shouldReadOptionalVariablesWhenSet() {
    // Given
    Map<String, String> env = complete();
    env.put("API_PORT", "9000");
    env.put("LISTING_TTL_DAYS", "7");
    env.put("RATE_LIMIT_PER_MINUTE", "20");
    env.put("WRITE_RATE_LIMIT_PER_MINUTE", "60");
    env.put("CORS_ALLOWED_ORIGINS", "https://a.example, https://b.example");
    env.put("STRIPE_API_BASE", "http://localhost:12111");

    // When
    CheckoutApiConfig config = CheckoutApiConfig.fromEnv(Env.of(env));

    // Then
    assertThat(config.port()).isEqualTo(9000);
    assertThat(config.listingTtl()).isEqualTo(Duration.ofDays(7));
    assertThat(config.rateLimitPerMinute()).isEqualTo(20);
    assertThat(config.writeRateLimitPerMinute()).isEqualTo(60);
    assertThat(config.corsOrigins()).isEqualTo(List.of("https://a.example", "https://b.example"));
    assertThat(config.stripe().apiBase()).isEqualTo("http://localhost:12111");
  }

  @Test
  void shouldNameTheMissingVariableWhenTheJwtSecretIsNotSet() {
    // Given
    Map<String, String> env = complete();
    env.remove("AUTH_JWT_SECRET");

    // Then
    assertThatThrownBy(() -> CheckoutApiConfig.fromEnv(Env.of(env)))
        .isInstanceOf(MissingConfigException.class)
        .hasMessage("missing required environment variable AUTH_JWT_SECRET");
  }

  @Test
  void shouldRefuseAJwtSecretShorterThan32BytesWithoutRepeatingIt() {
    // Given
    Map<String, String> env = complete();
    env.put("AUTH_JWT_SECRET", "short-secret");

    // Then
    assertThatThrownBy(() -> CheckoutApiConfig.fromEnv(Env.of(env)))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("AUTH_JWT_SECRET")
        .hasMessageContaining("32 bytes")
        .hasMessageNotContaining("short-secret");
  }

  @Test
  void shouldKeepTheSecretsOutOfToString() {
    // When
    String text = CheckoutApiConfig.fromEnv(Env.of(complete())).toString();

    // Then
    assertThat(text)
        .doesNotContain("thirty-two")
        .doesNotContain("sk_test_51d3a9c0e7b24f68a1c5e9d3b7f0a2c4");
  }
}
