package io.marketplace.payments.processor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.marketplace.payments.common.config.ConfigException;
import io.marketplace.payments.common.config.Env;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PaymentProcessorConfigTest {

  private static final Map<String, String> REQUIRED =
      Map.of(
          "KAFKA_BOOTSTRAP_SERVERS", "localhost:9092",
          "DATABASE_URL", "jdbc:postgresql://localhost/payments",
          "DATABASE_USER", "payments");

  @Test
  void shouldUseSpecDefaultsWhenOnlyRequiredVariablesAreSet() {
    // Given only the required variables
    Env env = Env.of(REQUIRED);

    // When the configuration is read
    PaymentProcessorConfig config = PaymentProcessorConfig.fromEnv(env);

    // Then listings live 30 days, the admin port is 8082, and the group is the service name
    assertThat(config.listingTtl()).isEqualTo(Duration.ofDays(30));
    assertThat(config.adminPort()).isEqualTo(8082);
    assertThat(config.consumer()).isEqualTo("payment-processor");
    assertThat(config.workers()).isEqualTo(2);
    assertThat(config.kafka().topics().stripeEvents().name()).isEqualTo("stripe.events.v1");
  }

  @Test
  void shouldReadListingTtlAndPortWhenSet() {
    // Given overrides
    Env env = Env.of(REQUIRED).with(Map.of("LISTING_TTL_DAYS", "45", "ADMIN_PORT", "0"));

    // When / Then
    PaymentProcessorConfig config = PaymentProcessorConfig.fromEnv(env);
    assertThat(config.listingTtl()).isEqualTo(Duration.ofDays(45));
    assertThat(config.adminPort()).isZero();
  }

  @Test
  void shouldNameTheVariableWhenARequiredOneIsMissing() {
    // Given no database URL
    Env env = Env.of(Map.of("KAFKA_BOOTSTRAP_SERVERS", "localhost:9092"));

    // When / Then the one line names it
    assertThatThrownBy(() -> PaymentProcessorConfig.fromEnv(env))
        .isInstanceOf(ConfigException.class)
        .hasMessage("missing required environment variable DATABASE_URL");
  }

  @Test
  void shouldRejectListingTtlBelowOneDay() {
    Env env = Env.of(REQUIRED).with(Map.of("LISTING_TTL_DAYS", "0"));

    assertThatThrownBy(() -> PaymentProcessorConfig.fromEnv(env))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("LISTING_TTL_DAYS");
  }

  @Test
  void shouldRejectAListingTtlBeyondTenYearsWhichNoExpiryCouldBeStoredFor() {
    // a typo of extra zeros: every activation would end past PostgreSQL's last timestamp and fail
    for (String days : new String[] {"3651", "100000000"}) {
      Env env = Env.of(REQUIRED).with(Map.of("LISTING_TTL_DAYS", days));

      assertThatThrownBy(() -> PaymentProcessorConfig.fromEnv(env))
          .as(days)
          .isInstanceOf(ConfigException.class)
          .hasMessageContaining("LISTING_TTL_DAYS")
          .hasMessageContaining("at most 3650");
    }
    assertThat(
            PaymentProcessorConfig.fromEnv(
                    Env.of(REQUIRED).with(Map.of("LISTING_TTL_DAYS", "3650")))
                .listingTtl())
        .hasDays(3650);
  }
}
