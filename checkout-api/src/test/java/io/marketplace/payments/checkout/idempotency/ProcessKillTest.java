package io.marketplace.payments.checkout.idempotency;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.checkout.Http;
import io.marketplace.payments.checkout.Main;
import io.marketplace.payments.checkout.StripeGate;
import io.marketplace.payments.checkout.TestApi;
import io.marketplace.payments.checkout.Tokens;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.embedded.Ports;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.TestInfra;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A checkout-api process killed ({@code kill -9}) while a checkout with an Idempotency-Key waits
 * for Stripe: nothing of it runs again, so nothing releases the key. The client's retry reaches
 * another checkout-api process (a Kubernetes Service sends it to a live pod), which takes the claim
 * over as soon as the killed process's database session is gone, and answers with the checkout,
 * instead of "in progress" for the five minutes until the claim lapses. While the first process
 * lives, the same retry is told "in progress".
 */
class ProcessKillTest {

  private static final Duration WAIT = Duration.ofSeconds(60);

  @TempDir static Path logs;

  private static TestApi app;
  private static StripeGate gate;
  private static Process first;
  private static Http firstHttp;

  @BeforeAll
  static void start() throws Exception {
    app = TestApi.start(config -> config);
    gate = StripeGate.start(app.stripe.baseUrl());
    int port = freePort();
    String prefix =
        app.topics.stripeEvents().name().replace(Topics.standard().stripeEvents().name(), "");
    Map<String, String> env = new HashMap<>();
    env.put("DATABASE_URL", app.db.url());
    env.put("DATABASE_USER", app.db.user());
    env.put("DATABASE_PASSWORD", app.db.password());
    env.put("DATABASE_POOL_SIZE", "4");
    env.put("KAFKA_BOOTSTRAP_SERVERS", TestInfra.kafka().bootstrapServers());
    env.put("KAFKA_TOPIC_PREFIX", prefix);
    env.put("STRIPE_API_BASE", gate.baseUrl());
    env.put("STRIPE_SECRET_KEY", app.stripe.secretKey());
    env.put("AUTH_JWT_SECRET", Tokens.SECRET);
    env.put("API_PORT", Integer.toString(port));
    // health and metrics on a free port, not the default one another process may hold
    env.put("ADMIN_PORT", "0");
    first = startProcess(env);
    firstHttp = new Http("http://127.0.0.1:" + port);
    Await.until(
        Duration.ofSeconds(120),
        "the first checkout-api process to answer",
        () ->
            !first.isAlive()
                || firstHttp.get("/api/marketplace/categories").send().status() == 200);
    assertThat(first.isAlive()).as("checkout-api exited:%n%s", log()).isTrue();
  }

  @AfterAll
  static void stop() {
    if (first != null) {
      first.destroyForcibly();
    }
    if (gate != null) {
      gate.close();
    }
    if (app != null) {
      app.close();
    }
  }

  @Test
  void shouldRunARetryOnAnotherProcessSoonAfterTheFirstWasKilledMidRequest() throws Exception {
    // Given a checkout with an Idempotency-Key on the first process, held at Stripe's door
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "housing");
    String key = UUID.randomUUID().toString();
    String path = "/api/marketplace/listings/" + listingId + "/checkout";
    CompletableFuture<Http.Response> unanswered =
        gate.sendAndHold(firstHttp.post(path).token(Tokens.user(owner)).idempotencyKey(key));

    // While the first process lives, a retry on the other one is told the key is in progress
    Http.Response meanwhile =
        app.http.post(path).token(Tokens.user(owner)).idempotencyKey(key).send();
    assertThat(meanwhile.status()).as(meanwhile.toString()).isEqualTo(409);
    assertThat(meanwhile.header("Retry-After")).hasValue("1");

    // When the first process is killed
    new ProcessBuilder("kill", "-9", Long.toString(first.pid())).start().waitFor();
    assertThat(first.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();

    // Then the client's retries (Retry-After: 1) get the checkout from the other process within
    // seconds
    Http.Response retried =
        app.http
            .post(path)
            .token(Tokens.user(owner))
            .idempotencyKey(key)
            .sendWhileInProgress(Duration.ofSeconds(20));
    assertThat(retried.status()).as(retried.toString()).isEqualTo(200);
    String paymentIntent = retried.json().get("paymentIntentId").asText();
    // one PaymentIntent at Stripe for the listing, even once the first attempt's call gets through
    gate.open.countDown();
    assertThat(
            unanswered.handle((response, error) -> error).get(WAIT.toSeconds(), TimeUnit.SECONDS))
        .as("the killed process never answered")
        .isNotNull();
    assertThat(app.paymentIntentsOf(listingId))
        .extracting(intent -> intent.getId())
        .containsExactly(paymentIntent);
    // and the same answer for the same key from now on
    Http.Response replayed =
        app.http.post(path).token(Tokens.user(owner)).idempotencyKey(key).send();
    assertThat(replayed.status()).isEqualTo(200);
    assertThat(replayed.header(Idempotency.REPLAYED_HEADER)).hasValue("true");
    assertThat(replayed.json().get("paymentIntentId").asText()).isEqualTo(paymentIntent);
    assertThat(app.metrics())
        .containsPattern("payments_idempotency_takeovers_total\\{[^}]*} 1\\.0");
  }

  /**
   * checkout-api as Kubernetes runs it: {@code java -cp ... Main}, its environment, its own log.
   */
  private static Process startProcess(Map<String, String> env) throws IOException {
    ProcessBuilder builder =
        new ProcessBuilder(
                List.of(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xmx192m",
                    "-XX:+UseSerialGC",
                    "-XX:TieredStopAtLevel=1",
                    "-cp",
                    System.getProperty("java.class.path"),
                    Main.class.getName()))
            .redirectErrorStream(true)
            .redirectOutput(logs.resolve("checkout-api.log").toFile())
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    builder.environment().clear();
    builder.environment().putAll(env);
    return builder.start();
  }

  private static String log() {
    try {
      return Files.readString(logs.resolve("checkout-api.log"));
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  private static int freePort() {
    return Ports.free();
  }
}
