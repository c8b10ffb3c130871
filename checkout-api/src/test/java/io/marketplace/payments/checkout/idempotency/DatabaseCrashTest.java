package io.marketplace.payments.checkout.idempotency;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.marketplace.payments.checkout.Http;
import io.marketplace.payments.checkout.TestApi;
import io.marketplace.payments.checkout.Tokens;
import io.marketplace.payments.common.db.DbConfig;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.stripe.StripeConfig;
import io.marketplace.payments.embedded.EmbeddedPostgresServer;
import io.marketplace.payments.testsupport.Await;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * PostgreSQL killed (SIGKILL of its postmaster and every backend) while a checkout waits for
 * Stripe: the request fails, and so does the release of its Idempotency-Key. Once the database is
 * back, the client's retry with the same key runs again within seconds, to the same PaymentIntent,
 * instead of being told "in progress" until the claim lapses five minutes later. The server is this
 * test's own: the JVM's shared one is never stopped.
 */
class DatabaseCrashTest {

  private static final Duration WAIT = Duration.ofSeconds(60);

  @TempDir static Path postgresDir;

  private static EmbeddedPostgresServer postgres;
  private static StripeGate gate;
  private static TestApi app;

  @BeforeAll
  static void start() {
    postgres = EmbeddedPostgresServer.start(postgresDir, 0);
    postgres.createDatabase("checkout");
    DbConfig db =
        new DbConfig(postgres.jdbcUrl("checkout"), postgres.user(), postgres.password(), 4);
    AtomicReference<StripeGate> started = new AtomicReference<>();
    app =
        TestApi.start(
            config -> {
              started.set(StripeGate.start(config.stripe().apiBase()));
              return config
                  .withDb(db)
                  .withStripe(
                      new StripeConfig(config.stripe().secretKey(), started.get().baseUrl()));
            });
    gate = started.get();
  }

  @AfterAll
  static void stop() {
    if (app != null) {
      app.close();
    }
    if (gate != null) {
      gate.close();
    }
    if (postgres != null) {
      postgres.close();
    }
  }

  @Test
  void shouldRunARetryAgainSoonAfterTheDatabaseComesBackWhenItDiedMidRequest() throws Exception {
    // Given a checkout with an Idempotency-Key, held at Stripe's door
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "housing");
    String key = UUID.randomUUID().toString();
    String path = "/api/marketplace/listings/" + listingId + "/checkout";
    CompletableFuture<Http.Response> first =
        CompletableFuture.supplyAsync(
            () -> app.http.post(path).token(Tokens.user(owner)).idempotencyKey(key).send());
    assertThat(gate.held.await(WAIT.toSeconds(), TimeUnit.SECONDS))
        .as("the checkout reached Stripe")
        .isTrue();

    // When PostgreSQL dies, Stripe then answers, and the request cannot record nor release anything
    postgres.kill();
    gate.open.countDown();
    Http.Response failed = first.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    assertThat(failed.status()).isGreaterThanOrEqualTo(500);
    assertThat(app.metrics())
        .containsPattern("payments_idempotency_unreleased_claims\\{[^}]*} 1\\.0");

    // and PostgreSQL comes back
    postgres.restart();

    // Then the client's retries (Retry-After: 1) get the checkout within seconds
    Http.Response retried =
        Await.value(
            Duration.ofSeconds(20),
            "a retry that is not told the key is in progress",
            () -> {
              Http.Response response =
                  app.http.post(path).token(Tokens.user(owner)).idempotencyKey(key).send();
              return response.status() == 409 ? Optional.empty() : Optional.of(response);
            });
    assertThat(retried.status()).as(retried.toString()).isEqualTo(200);
    JsonNode payment = retried.json();
    // the PaymentIntent Stripe made for the first attempt, and no other
    assertThat(payment.get("paymentIntentId").asText()).isEqualTo(gate.createdPaymentIntent());
    assertThat(app.paymentIntentsOf(listingId))
        .extracting(intent -> intent.getId())
        .containsExactly(gate.createdPaymentIntent());
    assertThat(app.metrics())
        .containsPattern("payments_idempotency_unreleased_claims\\{[^}]*} 0\\.0");
  }

  /**
   * Stands between checkout-api and the Stripe emulator, forwarding every call; the first creation
   * of a PaymentIntent waits until {@link #open} is counted down, and its id is kept.
   */
  private static final class StripeGate implements AutoCloseable {

    private static final Set<String> NOT_FORWARDED =
        Set.of("connection", "content-length", "expect", "host", "upgrade", "transfer-encoding");

    final CountDownLatch held = new CountDownLatch(1);
    final CountDownLatch open = new CountDownLatch(1);
    private final AtomicReference<String> created = new AtomicReference<>();
    private final String upstream;
    private final HttpServer server;
    private final HttpClient client = HttpClient.newHttpClient();

    private StripeGate(String upstream, HttpServer server) {
      this.upstream = upstream.replaceAll("/+$", "");
      this.server = server;
    }

    static StripeGate start(String upstream) {
      try {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        StripeGate gate = new StripeGate(upstream, server);
        server.createContext("/", gate::forward);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.start();
        return gate;
      } catch (IOException e) {
        throw new IllegalStateException("cannot start the gate", e);
      }
    }

    String baseUrl() {
      return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    String createdPaymentIntent() {
      return created.get();
    }

    private void forward(HttpExchange exchange) throws IOException {
      try (exchange;
          InputStream in = exchange.getRequestBody()) {
        byte[] body = in.readAllBytes();
        boolean creation =
            "POST".equals(exchange.getRequestMethod())
                && "/v1/payment_intents".equals(exchange.getRequestURI().getPath());
        if (creation && created.get() == null) {
          held.countDown();
          if (!open.await(WAIT.toSeconds(), TimeUnit.SECONDS)) {
            exchange.sendResponseHeaders(504, -1);
            return;
          }
        }
        HttpRequest.Builder request =
            HttpRequest.newBuilder(URI.create(upstream + exchange.getRequestURI()))
                .method(exchange.getRequestMethod(), HttpRequest.BodyPublishers.ofByteArray(body));
        exchange.getRequestHeaders().entrySet().stream()
            .filter(h -> !NOT_FORWARDED.contains(h.getKey().toLowerCase()))
            .forEach(h -> h.getValue().forEach(v -> request.header(h.getKey(), v)));
        HttpResponse<byte[]> response =
            client.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
        if (creation && response.statusCode() == 200) {
          created.compareAndSet(null, Json.mapper().readTree(response.body()).get("id").asText());
        }
        for (Map.Entry<String, List<String>> h : response.headers().map().entrySet()) {
          if (!NOT_FORWARDED.contains(h.getKey().toLowerCase()) && !h.getKey().startsWith(":")) {
            exchange.getResponseHeaders().put(h.getKey(), h.getValue());
          }
        }
        exchange.sendResponseHeaders(
            response.statusCode(), response.body().length == 0 ? -1 : response.body().length);
        exchange.getResponseBody().write(response.body());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }

    @Override
    public void close() {
      open.countDown();
      server.stop(0);
      client.close();
    }
  }
}
