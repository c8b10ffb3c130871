package io.marketplace.payments.checkout;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
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
    // When the kubelet probes the admin port
    Http.Response ready = app.admin.get("/health/ready").send();
    Http.Response live = app.admin.get("/health/live").send();

    // Then
    assertThat(ready.status()).isEqualTo(200);
    assertThat(ready.json().get("checks").get("database").asText()).isEqualTo("UP");
    assertThat(ready.json().get("checks").get("kafka").asText()).isEqualTo("UP");
    assertThat(live.status()).isEqualTo(200);
  }

  @Test
  void shouldExposeTheIntentsCounterUnderItsSpecNameWhenScraped() {
    // When
    String metrics = app.admin.get("/q/metrics").send().body();

    // Then every payment type is there from the start, under the name dashboards know
    assertThat(metrics)
        .containsPattern("homepage_payments_intents_created_total\\{[^}]*type=\"posting_fee\"")
        .containsPattern("homepage_payments_intents_created_total\\{[^}]*type=\"promotion_bump\"")
        .doesNotContain("homepage_payments_intents_total");
  }

  @Test
  void shouldServeMetricsAndProbesOnTheAdminPortOnlyWhenTheFrontendReachesTheApiPort() {
    // Given the API port, which the frontend's namespace reaches, and the admin port, which only
    // the kubelet and monitoring reach
    assertThat(app.api.adminPort()).isPositive().isNotEqualTo(app.api.port());

    // When the frontend asks the API port for the metrics
    // Then there are none: 404, and no payment counts or route latencies in the answer
    for (String path : List.of("/metrics", "/q/metrics")) {
      Http.Response scrape = app.http.get(path).send();
      assertThat(scrape.status()).as("API port %s", path).isEqualTo(404);
      assertThat(scrape.body())
          .as("API port %s", path)
          .doesNotContain("homepage_payments_intents_created_total")
          .doesNotContain("http_server_requests_seconds");
    }

    // And Prometheus scraping the admin port gets the checkout metrics
    for (String path : List.of("/metrics", "/q/metrics")) {
      Http.Response scrape = app.admin.get(path).send();
      assertThat(scrape.status()).as("admin port %s", path).isEqualTo(200);
      assertThat(scrape.contentType()).as("admin port %s", path).startsWith("text/plain");
      assertThat(scrape.body())
          .as("admin port %s", path)
          .containsPattern("homepage_payments_intents_created_total\\{[^}]*type=\"posting_fee\"");
    }

    // And the kubelet's probe paths answer there
    for (String path : List.of("/health/live", "/health/ready")) {
      Http.Response probe = app.admin.get(path).send();
      assertThat(probe.status()).as("admin port %s", path).isEqualTo(200);
      assertThat(probe.json().get("status").asText()).as("admin port %s", path).isEqualTo("UP");
    }
  }
}
