package io.marketplace.payments.checkout;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class CheckoutApiTest {

  private static TestApi app;

  @BeforeAll
  static void start() {
    app = TestApi.shared();
  }

  @Test
  void shouldBeReadyWhenDatabaseAndKafkaAnswer() {
    // When
    Http.Response ready = app.http.get("/health/ready").send();
    Http.Response live = app.http.get("/health/live").send();

    // Then
    assertThat(ready.status()).isEqualTo(200);
    assertThat(ready.json().get("checks").get("database").asText()).isEqualTo("UP");
    assertThat(ready.json().get("checks").get("kafka").asText()).isEqualTo("UP");
    assertThat(live.status()).isEqualTo(200);
  }

  @Test
  void shouldExposeTheIntentsCounterUnderItsSpecNameWhenScraped() {
    // When
    String metrics = app.http.get("/q/metrics").send().body();

    // Then every payment type is there from the start, under the name dashboards know
    assertThat(metrics)
        .containsPattern("homepage_payments_intents_created_total\\{[^}]*type=\"posting_fee\"")
        .containsPattern("homepage_payments_intents_created_total\\{[^}]*type=\"promotion_bump\"")
        .doesNotContain("homepage_payments_intents_total");
  }
}
