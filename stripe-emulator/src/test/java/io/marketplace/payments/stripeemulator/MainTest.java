package io.marketplace.payments.stripeemulator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

class MainTest {

  @Test
  void shouldUseDefaultsWhenEnvironmentIsEmpty() {
    // When
    StripeEmulator.Config config = Main.configFromEnv(Map.of());

    // Then
    assertThat(config.port()).isEqualTo(12111);
    assertThat(config.secretKey()).isEqualTo(StripeEmulator.DEFAULT_SECRET_KEY);
    assertThat(config.webhookEndpoints()).isEmpty();
    assertThat(config.dataDir()).isNull();
  }

  @Test
  void shouldConfigureWebhookEndpointWhenUrlAndSecretAreGiven() {
    // When
    StripeEmulator.Config config =
        Main.configFromEnv(
            Map.of(
                "STRIPE_EMULATOR_PORT", "12999",
                "STRIPE_SECRET_KEY", "sk_test_local",
                "STRIPE_WEBHOOK_URL", "http://localhost:8080/webhooks/stripe",
                "STRIPE_WEBHOOK_SECRET", "whsec_one,whsec_two"));

    // Then
    assertThat(config.port()).isEqualTo(12999);
    assertThat(config.secretKey()).isEqualTo("sk_test_local");
    assertThat(config.webhookEndpoints())
        .containsExactly(
            new StripeEmulator.WebhookEndpoint(
                "http://localhost:8080/webhooks/stripe", "whsec_one"));
  }

  @Test
  void shouldRefuseWhenWebhookUrlHasNoSecret() {
    // Then
    assertThatThrownBy(
            () -> Main.configFromEnv(Map.of("STRIPE_WEBHOOK_URL", "http://localhost:8080/x")))
        .hasMessage("STRIPE_WEBHOOK_SECRET is required when STRIPE_WEBHOOK_URL is set");
  }
}
