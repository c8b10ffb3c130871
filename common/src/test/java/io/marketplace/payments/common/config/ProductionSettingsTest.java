package io.marketplace.payments.common.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.marketplace.payments.common.db.DbConfig;
import io.marketplace.payments.common.kafka.KafkaSecurity;
import io.marketplace.payments.common.stripe.StripeConfig;
import java.security.SecureRandom;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A deployment that says it is production ({@code PAYMENTS_ENVIRONMENT=production}) refuses, at
 * start and naming the variable, what is fine in a test and loses money or secrets in production.
 */
class ProductionSettingsTest {

  private static final SecureRandom RANDOM = new SecureRandom();
  private static final String TEST_KEY = "sk_test_" + random();
  private static final String LIVE_KEY = "sk_live_" + random();
  private static final String DB_PASSWORD = random();
  private static final String UNVERIFIED_URL =
      "jdbc:postgresql://db.internal:5432/payments?sslmode=require&password=" + DB_PASSWORD;
  private static final String VERIFIED_URL =
      "jdbc:postgresql://db.internal:5432/payments?sslmode=verify-full"
          + "&sslrootcert=/etc/payments-database-ca/ca.crt";

  @Test
  void shouldRefuseATestModeStripeKeyWhenProduction() {
    // Given production with a test-mode Stripe key: test cards "pay", so listings go live unpaid
    Env env = production(Map.of("STRIPE_SECRET_KEY", TEST_KEY));

    // When the service reads how to reach Stripe, then it refuses to start, naming the variable
    assertThatThrownBy(() -> StripeConfig.fromEnv(env))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageStartingWith("invalid environment variable STRIPE_SECRET_KEY:")
        .hasMessageNotContaining(TEST_KEY);
  }

  @Test
  void shouldRefuseStripeOverPlainHttpWhenProduction() {
    // Given production with a live key sent to an API base over plain HTTP
    Env env =
        production(
            Map.of("STRIPE_SECRET_KEY", LIVE_KEY, "STRIPE_API_BASE", "http://stripe-proxy:8080"));

    // Then the service refuses to start, naming the variable
    assertThatThrownBy(() -> StripeConfig.fromEnv(env))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageStartingWith("invalid environment variable STRIPE_API_BASE:");
  }

  @Test
  void shouldRefuseADatabaseServerItDoesNotVerifyWhenProduction() {
    // Given production with sslmode=require: encrypted, but to whoever answers
    Env env = production(Map.of("DATABASE_URL", UNVERIFIED_URL, "DATABASE_USER", "payments"));

    // Then the service refuses to start, naming the variable, never quoting the URL
    assertThatThrownBy(() -> DbConfig.fromEnv(env))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageStartingWith("invalid environment variable DATABASE_URL:")
        .hasMessageContaining("verify-full")
        .hasMessageNotContaining(DB_PASSWORD);
  }

  @Test
  void shouldRefuseKafkaWithoutTlsWhenProduction() {
    // Given production with Kafka in plain text (the default)
    Env env = production(Map.of());

    // Then the service refuses to start, naming the variable
    assertThatThrownBy(() -> KafkaSecurity.fromEnv(env))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageStartingWith("invalid environment variable KAFKA_SECURITY_PROTOCOL:");
    // And TLS without a client certificate is encrypted but anonymous to the brokers' ACLs
    assertThatThrownBy(
            () -> KafkaSecurity.fromEnv(production(Map.of("KAFKA_SECURITY_PROTOCOL", "SSL"))))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageStartingWith("invalid environment variable KAFKA_SSL_KEYSTORE_LOCATION:");
  }

  @Test
  void shouldStartWhenProductionHasLiveStripeAVerifiedDatabaseAndKafkaOverTls() {
    // Given production as the production overlay renders it
    Env env =
        production(
            Map.of(
                "STRIPE_SECRET_KEY",
                LIVE_KEY,
                "DATABASE_URL",
                VERIFIED_URL,
                "DATABASE_USER",
                "payments",
                "KAFKA_SECURITY_PROTOCOL",
                "SASL_SSL",
                "KAFKA_SASL_MECHANISM",
                "SCRAM-SHA-512",
                "KAFKA_SASL_JAAS_CONFIG",
                "org.apache.kafka.common.security.scram.ScramLoginModule required"
                    + " username=\"payments\" password=\""
                    + random()
                    + "\";"));

    // Then every part reads as configured
    assertThat(StripeConfig.fromEnv(env).apiBase()).isEqualTo("https://api.stripe.com");
    assertThat(DbConfig.fromEnv(env).url()).isEqualTo(VERIFIED_URL);
    assertThatCode(() -> KafkaSecurity.fromEnv(env)).doesNotThrowAnyException();
    // and a restricted live key (rk_live_) is a live key too
    assertThatCode(
            () ->
                StripeConfig.fromEnv(
                    production(Map.of("STRIPE_SECRET_KEY", "rk_live_" + random()))))
        .doesNotThrowAnyException();
  }

  @Test
  void shouldAcceptTestSettingsWhenNotProduction() {
    // Given staging, development, or no environment named (the local stack, tests)
    for (String name : new String[] {"staging", "development", null}) {
      Map<String, String> values = new HashMap<>();
      values.put("STRIPE_SECRET_KEY", TEST_KEY);
      values.put("STRIPE_API_BASE", "http://localhost:12111");
      values.put("DATABASE_URL", UNVERIFIED_URL);
      values.put("DATABASE_USER", "payments");
      if (name != null) {
        values.put("PAYMENTS_ENVIRONMENT", name);
      }
      Env env = Env.of(values);

      // Then test-mode Stripe, an unverified database and plain-text Kafka are accepted
      assertThatCode(() -> StripeConfig.fromEnv(env)).as("%s", name).doesNotThrowAnyException();
      assertThatCode(() -> DbConfig.fromEnv(env)).as("%s", name).doesNotThrowAnyException();
      assertThatCode(() -> KafkaSecurity.fromEnv(env)).as("%s", name).doesNotThrowAnyException();
    }
  }

  @Test
  void shouldRefuseALiveStripeKeyWhenNotProduction() {
    // Given a live key in a deployment that does not say it is production (the variable forgotten,
    // so the database would go unverified and Kafka in plain text, or staging given prod's key)
    for (String name : new String[] {"staging", "development", null}) {
      for (String key : new String[] {LIVE_KEY, "rk_live_" + random()}) {
        Map<String, String> values = new HashMap<>();
        values.put("STRIPE_SECRET_KEY", key);
        if (name != null) {
          values.put("PAYMENTS_ENVIRONMENT", name);
        }

        // Then the service refuses to start, naming the key's variable and what to set
        assertThatThrownBy(() -> StripeConfig.fromEnv(Env.of(values)))
            .as("%s", name)
            .isInstanceOf(InvalidConfigException.class)
            .hasMessageStartingWith("invalid environment variable STRIPE_SECRET_KEY:")
            .hasMessageContaining("PAYMENTS_ENVIRONMENT=production")
            .hasMessageNotContaining(key);
      }
    }
  }

  @Test
  void shouldRefuseAnUnknownEnvironmentName() {
    // Given a name the checks do not know: "prod" would otherwise skip every one of them
    Env env = Env.of(Map.of("PAYMENTS_ENVIRONMENT", "prod", "STRIPE_SECRET_KEY", TEST_KEY));

    // Then the service refuses to start, naming the variable
    assertThatThrownBy(() -> StripeConfig.fromEnv(env))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageStartingWith("invalid environment variable PAYMENTS_ENVIRONMENT:");
  }

  private static Env production(Map<String, String> values) {
    Map<String, String> all = new HashMap<>(values);
    all.put("PAYMENTS_ENVIRONMENT", "production");
    return Env.of(all);
  }

  private static String random() {
    byte[] bytes = new byte[24];
    RANDOM.nextBytes(bytes);
    return HexFormat.of().formatHex(bytes);
  }
}
