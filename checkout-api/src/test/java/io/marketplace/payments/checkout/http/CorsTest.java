package io.marketplace.payments.checkout.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.checkout.Http;
import io.marketplace.payments.checkout.TestApi;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class CorsTest {

  private static final String FRONTEND = "https://www.marketplace.example";
  private static TestApi app;

  @BeforeAll
  static void start() {
    app = TestApi.start(config -> config.withCorsOrigins(List.of(FRONTEND)));
  }

  @AfterAll
  static void stop() {
    app.close();
  }

  @Test
  void shouldAllowTheConfiguredFrontendWhenABrowserAsks() {
    // When
    Http.Response preflight =
        app.http
            .options("/api/marketplace/listings")
            .header("Origin", FRONTEND)
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "authorization,content-type,idempotency-key")
            .send();
    Http.Response get =
        app.http.get("/api/marketplace/categories").header("Origin", FRONTEND).send();

    // Then
    assertThat(preflight.status()).isEqualTo(200);
    assertThat(preflight.header("Access-Control-Allow-Origin")).contains(FRONTEND);
    assertThat(preflight.header("Access-Control-Allow-Headers").orElse("").toLowerCase())
        .contains("authorization", "idempotency-key");
    assertThat(get.header("Access-Control-Allow-Origin")).contains(FRONTEND);
  }

  @Test
  void shouldNotAllowOtherOriginsWhenABrowserAsks() {
    // When
    Http.Response get =
        app.http.get("/api/marketplace/categories").header("Origin", "https://evil.example").send();

    // Then
    assertThat(get.header("Access-Control-Allow-Origin")).isEmpty();
  }
}
