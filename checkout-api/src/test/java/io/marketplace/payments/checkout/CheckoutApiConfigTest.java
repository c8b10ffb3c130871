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

  /** {@link #complete()} with production's settings: live Stripe, verified database, Kafka TLS. */
  private static Map<String, String> production() {
    Map<String, String> env = complete();
    env.put("PAYMENTS_ENVIRONMENT", "production");
    env.put("STRIPE_SECRET_KEY", "sk_live_51d3a9c0e7b24f68a1c5e9d3b7f0a2c4");
    env.put("AUTH_JWT_SECRET", "9f2c4e81b7a35d06c1e8f4a2b9d7c3e5a0f6b8d2c4e1a7f3");
    env.put(
        "DATABASE_URL",
        "jdbc:postgresql://db.internal:5432/payments?sslmode=verify-full"
            + "&sslrootcert=/etc/payments-database-ca/ca.crt");
    env.put("KAFKA_SECURITY_PROTOCOL", "SASL_SSL");
    env.put("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512");
    env.put(
        "KAFKA_SASL_JAAS_CONFIG",
        "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"payments\""
            + " password=\"4b8e1d7a2c9f3e6b0a5d8c1f7e2b9a4d\";");
    return env;
  }

  @Test
  void shouldUseSpecDefaultsWhenOnlyRequiredVariablesAreSet() {
    // When
    CheckoutApiConfig config = CheckoutApiConfig.fromEnv(Env.of(complete()));

    // Then
    assertThat(config.port()).isEqualTo(8081);
    assertThat(config.adminPort()).isEqualTo(8087);
    assertThat(config.listingTtl()).isEqualTo(Duration.ofDays(30));
    assertThat(config.rateLimitPerMinute()).isEqualTo(10);
    assertThat(config.writeRateLimitPerMinute()).isEqualTo(30);
    assertThat(config.corsOrigins()).isEmpty();
    assertThat(config.stripe().apiBase()).isEqualTo("https://api.stripe.com");
    assertThat(config.jwtMaxLifetime()).isEqualTo(Duration.ofHours(24));
  }

  @Test
  void shouldReadTheMaximumTokenLifetimeWhenSetAndRefuseOneThatIsNotPositive() {
    // Given the maximum lifetime of a token, as ISO-8601 or a number with a unit
    for (String value : new String[] {"PT12H", "12h", "720m"}) {
      Map<String, String> env = complete();
      env.put("AUTH_JWT_MAX_LIFETIME", value);

      // When read, then it is that long
      assertThat(CheckoutApiConfig.fromEnv(Env.of(env)).jwtMaxLifetime())
          .as(value)
          .isEqualTo(Duration.ofHours(12));
    }
    // And none, or a negative one, would refuse every token: the API refuses to start, naming it
    for (String value : new String[] {"0s", "-PT1H", "a day"}) {
      Map<String, String> env = complete();
      env.put("AUTH_JWT_MAX_LIFETIME", value);
      assertThatThrownBy(() -> CheckoutApiConfig.fromEnv(Env.of(env)))
          .as(value)
          .isInstanceOf(InvalidConfigException.class)
          .hasMessageStartingWith("invalid environment variable AUTH_JWT_MAX_LIFETIME:");
    }
  }

  @Test
  void shouldReadOptionalVariablesWhenSet() {
    // Given
    Map<String, String> env = complete();
    env.put("API_PORT", "9000");
    env.put("ADMIN_PORT", "9001");
    env.put("LISTING_TTL_DAYS", "7");
    env.put("RATE_LIMIT_PER_MINUTE", "20");
    env.put("WRITE_RATE_LIMIT_PER_MINUTE", "60");
    env.put("CORS_ALLOWED_ORIGINS", "https://a.example, https://b.example");
    env.put("STRIPE_API_BASE", "http://localhost:12111");

    // When
    CheckoutApiConfig config = CheckoutApiConfig.fromEnv(Env.of(env));

    // Then
    assertThat(config.port()).isEqualTo(9000);
    assertThat(config.adminPort()).isEqualTo(9001);
    assertThat(config.listingTtl()).isEqualTo(Duration.ofDays(7));
    assertThat(config.rateLimitPerMinute()).isEqualTo(20);
    assertThat(config.writeRateLimitPerMinute()).isEqualTo(60);
    assertThat(config.corsOrigins()).isEqualTo(List.of("https://a.example", "https://b.example"));
    assertThat(config.stripe().apiBase()).isEqualTo("http://localhost:12111");
  }

  @Test
  void shouldRefuseAListingTtlBeyondTenYearsWhichNoExpiryCouldBeStoredFor() {
    // a typo of extra zeros: every free listing's expiry would be past PostgreSQL's last timestamp
    for (String days : new String[] {"3651", "100000000"}) {
      Map<String, String> env = complete();
      env.put("LISTING_TTL_DAYS", days);

      assertThatThrownBy(() -> CheckoutApiConfig.fromEnv(Env.of(env)))
          .as(days)
          .isInstanceOf(InvalidConfigException.class)
          .hasMessageStartingWith("invalid environment variable LISTING_TTL_DAYS:")
          .hasMessageContaining("at most 3650");
    }
    Map<String, String> env = complete();
    env.put("LISTING_TTL_DAYS", "3650");
    assertThat(CheckoutApiConfig.fromEnv(Env.of(env)).listingTtl()).hasDays(3650);
  }

  @Test
  void shouldRefuseAnAdminPortThatIsNoPortOrTheApiPortWhenRead() {
    // Given an admin port that is not a TCP port, or the API's own
    for (String[] ports : new String[][] {{"8081", "-1"}, {"8081", "65536"}, {"9000", "9000"}}) {
      Map<String, String> env = complete();
      env.put("API_PORT", ports[0]);
      env.put("ADMIN_PORT", ports[1]);

      // When read, then the API refuses to start, naming it
      assertThatThrownBy(() -> CheckoutApiConfig.fromEnv(Env.of(env)))
          .as("API_PORT=%s ADMIN_PORT=%s", ports[0], ports[1])
          .isInstanceOf(InvalidConfigException.class)
          .hasMessageStartingWith("invalid environment variable ADMIN_PORT:");
    }
    // And 0 for both picks two free ports
    Map<String, String> env = complete();
    env.put("API_PORT", "0");
    env.put("ADMIN_PORT", "0");
    assertThat(CheckoutApiConfig.fromEnv(Env.of(env)).adminPort()).isZero();
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
  void shouldRefuseToStartInProductionWhenTheTokenIssuerOrAudienceIsNotSet() {
    // Given production, otherwise as the production overlay renders it, told which issuer signs
    // its users' tokens and for which audience
    Map<String, String> env = production();
    env.put("AUTH_JWT_ISSUER", "https://auth.marketplace.io");
    env.put("AUTH_JWT_AUDIENCE", "marketplace-payments");
    assertThat(CheckoutApiConfig.fromEnv(Env.of(env)).jwtIssuer())
        .isEqualTo("https://auth.marketplace.io");

    for (String variable : List.of("AUTH_JWT_ISSUER", "AUTH_JWT_AUDIENCE")) {
      // When one of them is not set (or blank): any token signed with the shared key, made for
      // another service, would be a token for this API
      for (String unset : new String[] {null, " "}) {
        Map<String, String> without = new HashMap<>(env);
        without.put(variable, unset);

        // Then it refuses to start, naming the variable
        assertThatThrownBy(() -> CheckoutApiConfig.fromEnv(Env.of(without)))
            .as("production without %s", variable)
            .isInstanceOf(InvalidConfigException.class)
            .hasMessageStartingWith("invalid environment variable " + variable + ":")
            .hasMessageContaining("PAYMENTS_ENVIRONMENT=production");
      }
      // And a placeholder copied from an example is refused too, never quoted
      Map<String, String> placeholder = new HashMap<>(env);
      placeholder.put(variable, "https://CHANGE_ME.example.com");
      assertThatThrownBy(() -> CheckoutApiConfig.fromEnv(Env.of(placeholder)))
          .as("production with a placeholder %s", variable)
          .isInstanceOf(InvalidConfigException.class)
          .hasMessageStartingWith("invalid environment variable " + variable + ":")
          .hasMessageNotContaining("CHANGE_ME");
    }
  }

  @Test
  void shouldLeaveTheTokenIssuerAndAudienceOptionalWhenNotProduction() {
    // Given staging, or no environment named (the local stack, compose, tests)
    for (String name : new String[] {"staging", null}) {
      Map<String, String> env = complete();
      env.put("PAYMENTS_ENVIRONMENT", name);

      // When neither is set, then the API starts, taking tokens of any issuer and audience
      CheckoutApiConfig config = CheckoutApiConfig.fromEnv(Env.of(env));
      assertThat(config.jwtIssuer()).isNull();
      assertThat(config.jwtAudience()).isNull();
    }
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
