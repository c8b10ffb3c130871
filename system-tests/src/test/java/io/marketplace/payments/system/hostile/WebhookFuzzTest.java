package io.marketplace.payments.system.hostile;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.gateway.GatewayConfig;
import io.marketplace.payments.gateway.WebhookGateway;
import io.marketplace.payments.system.hostile.WebhookMutations.Kind;
import io.marketplace.payments.testsupport.KafkaTestClient;
import io.marketplace.payments.testsupport.TestInfra;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Thousands of signed Stripe webhooks, each changed in one way (or a few) that Stripe's signature
 * scheme must catch: the gateway answers each with a 400 (413 when over 1 MiB), never a 200 and
 * never a 5xx, and nothing reaches {@code stripe.events.v1}. The seed is printed and can be fixed
 * with {@code -Dfuzz.seed=<n>}; {@code -Dfuzz.mutations=<n>} changes how many are sent.
 *
 * <p>The gateway runs on the shared broker with topics of its own, holding two secrets as during a
 * rotation, so a request signed with either is genuine and anything else is not.
 */
class WebhookFuzzTest {

  private static final String NEW_SECRET = "whsec_fuzz_current_7c1e9a5b3d2f4e6a8b0c";
  private static final String OLD_SECRET = "whsec_fuzz_previous_1a2b3c4d5e6f7a8b9c0d";
  private static final List<String> OTHER_ENDPOINTS =
      List.of(
          "whsec_another_endpoint_0f1e2d3c4b5a69788796",
          "whsec_test_51Hx0000000000000000000000",
          "whsec_");
  private static final int DEFAULT_MUTATIONS = 3_000;
  private static final int SENDERS = 4;

  private Topics topics;
  private WebhookGateway gateway;
  private HttpClient http;
  private KafkaTestClient kafka;

  @BeforeEach
  void startGateway() {
    topics = TestInfra.freshTopics();
    gateway =
        WebhookGateway.start(
            new GatewayConfig(0, List.of(NEW_SECRET, OLD_SECRET), TestInfra.kafkaConfig(topics)),
            Clock.systemUTC());
    http =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();
    kafka = TestInfra.kafkaClient();
  }

  @AfterEach
  void stopGateway() {
    http.close();
    gateway.close();
    kafka.close();
  }

  @Test
  void shouldRefuseEveryMutationAndPublishNothingWhenSignedWebhooksAreTamperedWith()
      throws Exception {
    // Given thousands of correctly signed webhooks, each tampered with by a seeded random mutation
    long seed = Long.getLong("fuzz.seed", System.nanoTime());
    int count = Integer.getInteger("fuzz.mutations", DEFAULT_MUTATIONS);
    System.out.printf(
        "webhook fuzz: seed %d, %d mutations (-Dfuzz.seed=%d replays them)%n", seed, count, seed);
    Random random = new Random(seed);
    WebhookMutations mutations = mutations();
    List<WebhookRequest> requests = new ArrayList<>(count + Kind.values().length);
    for (Kind kind : Kind.values()) {
      requests.add(mutations.of(kind, random)); // every kind at least once, whatever the draw
    }
    while (requests.size() < count) {
      requests.add(mutations.next(random));
    }

    // When each is posted to the gateway (a few at a time, as Stripe's retries would arrive)
    List<Outcome> outcomes = sendAll(requests);

    // Then each got exactly the status its mutation calls for, as a problem: never 200, never 5xx
    List<String> wrong =
        outcomes.stream()
            .filter(o -> !o.asExpected())
            .map(o -> o.describe() + " [seed " + seed + "]")
            .toList();
    Map<String, Long> byKind =
        outcomes.stream()
            .collect(
                Collectors.groupingBy(
                    o -> o.request().kind(), TreeMap::new, Collectors.counting()));
    System.out.println("webhook fuzz: requests per kind " + byKind);
    assertThat(wrong).as("requests not refused as expected (seed %d)", seed).isEmpty();
    assertThat(outcomes).hasSize(requests.size());

    // And the topic holds nothing: no refused request was published
    assertThat(kafka.readAll(topics.stripeEvents()))
        .as("records on %s after %d refused webhooks (seed %d)", topics.stripeEvents(), count, seed)
        .isEmpty();

    // And the gateway still publishes a genuine webhook, so the silence above means something
    WebhookRequest genuine = mutations.benign(random).getFirst();
    Outcome accepted = send(genuine);
    assertThat(accepted.status()).as(accepted.describe()).isEqualTo(200);
    List<ConsumerRecord<String, byte[]>> records = kafka.readAll(topics.stripeEvents());
    assertThat(records).hasSize(1);
    assertThat(records.getFirst().value()).isEqualTo(genuine.body());
  }

  @Test
  void shouldAcceptAndPublishOnceWhenOnlyWhatStripeDoesNotVerifyDiffers() throws Exception {
    // Given genuine webhooks that differ from Stripe's usual request only where the signature
    // scheme
    // does not look: element order, an extra v0, the header name's case, either rotation secret
    long seed = Long.getLong("fuzz.seed", System.nanoTime());
    System.out.printf("webhook fuzz (benign): seed %d%n", seed);
    List<WebhookRequest> requests = mutations().benign(new Random(seed));

    // When each is posted
    List<Outcome> outcomes = new ArrayList<>();
    for (WebhookRequest request : requests) {
      outcomes.add(send(request));
    }

    // Then each is accepted
    assertThat(outcomes.stream().filter(o -> !o.asExpected()).map(Outcome::describe).toList())
        .as("genuine webhooks not accepted (seed %d)", seed)
        .isEmpty();

    // And the topic holds each body once, byte for byte
    assertThat(kafka.readAll(topics.stripeEvents()))
        .extracting(record -> ByteBuffer.wrap(record.value()))
        .containsExactlyInAnyOrderElementsOf(
            requests.stream().map(r -> ByteBuffer.wrap(r.body())).toList());
  }

  @Test
  void shouldCountEachRefusalWhenMetricsAreScraped() throws Exception {
    // Given one refused webhook of each signature failure: no header, a wrong signature, a stale
    // one
    Random random = new Random(7);
    WebhookMutations mutations = mutations();
    List<WebhookRequest> requests =
        List.of(
            mutations.of(Kind.HEADER_MISSING, random),
            mutations.of(Kind.SIGNATURE_HEX_CHANGED, random),
            mutations.of(Kind.TIMESTAMP_STALE_RESIGNED, random));

    // When they are posted
    for (WebhookRequest request : requests) {
      assertThat(send(request).status()).isEqualTo(400);
    }

    // Then the operators see each reason counted, so an attack or a bad secret shows on a dashboard
    String metrics =
        http.send(
                HttpRequest.newBuilder(URI.create(gateway.adminUrl() + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString())
            .body();
    assertThat(metrics)
        .contains("reason=\"missing_header\"")
        .contains("reason=\"no_matching_signature\"")
        .contains("reason=\"stale_timestamp\"");
  }

  private static WebhookMutations mutations() {
    return new WebhookMutations(
        List.of(NEW_SECRET, OLD_SECRET),
        OTHER_ENDPOINTS,
        () -> Clock.systemUTC().instant().getEpochSecond());
  }

  // ---- sending

  private List<Outcome> sendAll(List<WebhookRequest> requests) throws Exception {
    try (ExecutorService senders = Executors.newFixedThreadPool(SENDERS)) {
      List<Future<Outcome>> futures = new ArrayList<>();
      for (WebhookRequest request : requests) {
        futures.add(senders.submit(() -> send(request)));
      }
      List<Outcome> outcomes = new ArrayList<>();
      for (Future<Outcome> future : futures) {
        outcomes.add(future.get());
      }
      return outcomes;
    }
  }

  private Outcome send(WebhookRequest request) {
    HttpRequest.Builder builder =
        HttpRequest.newBuilder(URI.create(gateway.webhookUrl())).timeout(Duration.ofSeconds(30));
    request.headers().forEach(header -> builder.header(header.getKey(), header.getValue()));
    builder.expectContinue(request.expectContinue());
    builder.POST(
        request.chunked()
            ? HttpRequest.BodyPublishers.ofInputStream(
                () -> new ByteArrayInputStream(request.body()))
            : HttpRequest.BodyPublishers.ofByteArray(request.body()));
    try {
      HttpResponse<String> response =
          http.send(builder.build(), HttpResponse.BodyHandlers.ofString());
      return new Outcome(
          request,
          response.statusCode(),
          response.headers().firstValue("Content-Type").orElse(""),
          response.body(),
          null);
    } catch (IOException e) {
      return new Outcome(request, -1, "", "", e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** What the gateway answered to one request. */
  private record Outcome(
      WebhookRequest request, int status, String contentType, String body, String ioError) {

    /** The expected status; and, for a refusal, a problem naming that status. */
    boolean asExpected() {
      if (status != request.expectedStatus()) {
        return false;
      }
      if (status == 200) {
        return body.equals("{\"received\":true}");
      }
      if (!contentType.startsWith("application/problem+json")) {
        return false;
      }
      try {
        JsonNode problem = Json.mapper().readTree(body);
        return problem.path("status").asInt() == status && problem.hasNonNull("title");
      } catch (IOException e) {
        return false;
      }
    }

    String describe() {
      return "got "
          + (ioError != null ? ioError : status + " " + contentType + " " + body)
          + " for "
          + request.describe();
    }
  }
}
