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
}
