package io.marketplace.payments.checkout.idempotency;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.marketplace.payments.checkout.Http;
import io.marketplace.payments.checkout.StripeGate;
import io.marketplace.payments.checkout.TestApi;
import io.marketplace.payments.checkout.Tokens;
import io.marketplace.payments.common.db.DbConfig;
import io.marketplace.payments.embedded.EmbeddedPostgresServer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * PostgreSQL killed (SIGKILL of its postmaster and every backend) while a checkout waits for
 * Stripe: the request is answered 503 with {@code Retry-After}, and the release of its
 * Idempotency-Key fails. Once the database is back, the client's retry with the same key runs again
 * within seconds, to the same PaymentIntent, instead of being told "in progress" until the claim
 * lapses five minutes later. The server is this test's own: the JVM's shared one is never stopped.
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
    app = TestApi.start(config -> StripeGate.inFront(config.withDb(db), started));
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
        gate.sendAndHold(app.http.post(path).token(Tokens.user(owner)).idempotencyKey(key));

    // When PostgreSQL dies, Stripe then answers, and the request cannot record nor release anything
    postgres.kill();
    gate.open.countDown();
    Http.Response failed = first.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    // and the client is told to come back (the database's outage is not a fault of its request)
    assertThat(failed.status()).as(failed.toString()).isEqualTo(503);
    assertThat(failed.header("Retry-After")).hasValue("1");
    assertThat(failed.contentType()).startsWith("application/problem+json");
    assertThat(failed.json().get("detail").asText()).contains("database");
    assertThat(app.metrics())
        .containsPattern("payments_idempotency_unreleased_claims\\{[^}]*} 1\\.0");

    // and PostgreSQL comes back
    postgres.restart();

    // Then the client's retries (Retry-After: 1) get the checkout within seconds
    Http.Response retried =
        app.http
            .post(path)
            .token(Tokens.user(owner))
            .idempotencyKey(key)
            .sendWhileInProgress(Duration.ofSeconds(20));
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
}
