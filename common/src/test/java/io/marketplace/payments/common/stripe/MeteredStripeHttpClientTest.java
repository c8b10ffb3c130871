package io.marketplace.payments.common.stripe;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class MeteredStripeHttpClientTest {

  @Test
  void shouldFoldObjectIdsButNotResourceNamesWhenNamingAnOperation() {
    assertThat(MeteredStripeHttpClient.operation("POST", "/v1/payment_intents"))
        .isEqualTo("POST /v1/payment_intents");
    assertThat(
            MeteredStripeHttpClient.operation(
                "POST", "/v1/payment_intents/pi_3MtwBwLkdIwHu7ix28a3tqPa/cancel"))
        .isEqualTo("POST /v1/payment_intents/{id}/cancel");
    assertThat(MeteredStripeHttpClient.operation("GET", "/v1/refunds/re_000042"))
        .isEqualTo("GET /v1/refunds/{id}");
  }

  @Test
  void shouldKeepTheCodeOfAKeyRefusalOrARateLimitAndTheClassOfOtherStatusesAsOutcome() {
    assertThat(MeteredStripeHttpClient.outcome(200)).isEqualTo("2xx");
    assertThat(MeteredStripeHttpClient.outcome(402)).isEqualTo("4xx");
    assertThat(MeteredStripeHttpClient.outcome(404)).isEqualTo("4xx");
    assertThat(MeteredStripeHttpClient.outcome(401)).isEqualTo("401");
    assertThat(MeteredStripeHttpClient.outcome(403)).isEqualTo("403");
    assertThat(MeteredStripeHttpClient.outcome(429)).isEqualTo("429");
    assertThat(MeteredStripeHttpClient.outcome(503)).isEqualTo("5xx");
  }
}
