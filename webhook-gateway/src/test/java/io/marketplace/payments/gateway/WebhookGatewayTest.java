package io.marketplace.payments.gateway;

import static io.marketplace.payments.testsupport.KafkaTestClient.header;
import static io.marketplace.payments.testsupport.KafkaTestClient.headers;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.marketplace.payments.common.http.HttpConfig;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.gateway.StripeEvents.Sample;
import io.marketplace.payments.testsupport.KafkaTestClient;
import io.marketplace.payments.testsupport.TestInfra;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The gateway on the real broker, as Stripe sees it: what it answers, and what lands on {@code
 * stripe.events.v1}. Each test has topics and a gateway of its own.
 */
class WebhookGatewayTest {

  private static final String SECRET = "whsec_gatewaytest_9f2c4e7a1b3d5f60";
  private static final String OTHER_SECRET = "whsec_someoneelse_0a1b2c3d4e5f6789";
  private static final int ONE_MIB = 1024 * 1024;

  /** How long a client waits for an answer it must get: generous, for 2 busy cores. */
  private static final Duration ANSWER = Duration.ofSeconds(10);

  private Topics topics;
  private WebhookGateway gateway;
  private WebhookClient stripe;
  private KafkaTestClient kafka;

  @BeforeEach
  void startGateway() {
    topics = TestInfra.freshTopics();
    gateway = WebhookGateway.start(gatewayConfig(List.of(SECRET)));
    stripe = new WebhookClient(gateway.baseUrl());
    kafka = TestInfra.kafkaClient();
  }

  @AfterEach
  void stopGateway() {
    stripe.close();
    gateway.close();
    kafka.close();
  }

  @Test
  void shouldPublishTheRawBodyWithKeyAndHeadersWhenSignatureIsValid() {
    // Given a payment_intent.succeeded event signed with the endpoint's secret
    Sample event = StripeEvents.paymentIntentSucceeded();
    Instant before = Instant.now();

    // When Stripe posts it
    HttpResponse<String> response = stripe.postSigned(event.body(), SECRET);

    // Then it is answered 200, and the broker already holds it: the body byte for byte, keyed by
    // its PaymentIntent, with the event's id, type and arrival time
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.body()).isEqualTo("{\"received\":true}");
    assertThat(response.headers().firstValue("Content-Type"))
        .hasValueSatisfying(type -> assertThat(type).startsWith("application/json"));
    List<ConsumerRecord<String, byte[]>> records = kafka.readAll(topics.stripeEvents());
    assertThat(records).hasSize(1);
    ConsumerRecord<String, byte[]> record = records.getFirst();
    assertThat(record.value()).isEqualTo(event.body());
    assertThat(record.key()).isEqualTo(event.paymentIntentId());
    assertThat(headers(record))
        .containsOnlyKeys("stripe-event-id", "stripe-event-type", "received-at")
        .containsEntry("stripe-event-id", event.id())
        .containsEntry("stripe-event-type", "payment_intent.succeeded");
    Instant receivedAt = Instant.parse(header(record, "received-at").orElseThrow());
    assertThat(receivedAt).isBetween(before.minusSeconds(1), Instant.now());
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({
    "charge.succeeded, payment_intent",
    "charge.refunded, payment_intent",
    "charge.dispute.created, payment_intent",
    "customer.created, object"
  })
  void shouldKeyEachEventByItsPaymentIntentWhenItConcernsOneElseByItsObject(
      String type, String keyedBy) {
    // Given an event about a charge, a refund, a dispute, or something without a PaymentIntent
    Sample event = StripeEvents.of(type);

    // When Stripe posts it
    HttpResponse<String> response = stripe.postSigned(event.body(), SECRET);

    // Then its key is data.object.payment_intent, or data.object.id when it has none (SPEC §4)
    assertThat(response.statusCode()).isEqualTo(200);
    ConsumerRecord<String, byte[]> record = onlyRecord();
    assertThat(record.key())
        .isEqualTo(keyedBy.equals("payment_intent") ? event.paymentIntentId() : event.objectId());
    assertThat(record.value()).isEqualTo(event.body());
    assertThat(header(record, "stripe-event-type")).contains(type);
  }

  @Test
  void shouldRejectWithoutPublishingWhenSignatureIsWrong() {
    // Given an event whose v1 signature is not an HMAC of anything
    Sample event = StripeEvents.paymentIntentSucceeded();
    String header = "t=" + now() + ",v1=" + "5".repeat(64);

    // When it is posted
    HttpResponse<String> response = stripe.post(event.body(), header);

    // Then 400, and nothing is on the topic
    assertProblem(response, 400);
    assertNothingPublished();
  }

  @Test
  void shouldRejectWithoutPublishingWhenSignedWithAnotherSecret() {
    // Given an event correctly signed, but with a secret that is not ours
    Sample event = StripeEvents.paymentIntentSucceeded();

    // When it is posted
    HttpResponse<String> response = stripe.postSigned(event.body(), OTHER_SECRET);

    // Then 400, and nothing is on the topic
    assertProblem(response, 400);
    assertNothingPublished();
  }

  @Test
  void shouldRejectWithoutPublishingWhenTimestampIsStale() {
    // Given an event signed with our secret 301 s ago (a replayed capture)
    Sample event = StripeEvents.paymentIntentSucceeded();
    String header = StripeSignatures.header(event.body(), now() - 301, SECRET);

    // When it is posted
    HttpResponse<String> response = stripe.post(event.body(), header);

    // Then 400 naming the tolerance, and nothing is on the topic
    assertProblem(response, 400);
    assertThat(response.body()).contains("300 s");
    assertNothingPublished();
  }

  @Test
  void shouldAcceptWhenTimestampIsWithinTheTolerance() {
    // Given an event signed 290 s ago: Stripe's clock and ours may differ, and deliveries queue
    Sample event = StripeEvents.paymentIntentSucceeded();
    String header = StripeSignatures.header(event.body(), now() - 290, SECRET);

    // When it is posted
    HttpResponse<String> response = stripe.post(event.body(), header);

    // Then it is accepted and published
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(onlyRecord().value()).isEqualTo(event.body());
  }

  @Test
  void shouldRejectWithoutPublishingWhenSignatureHeaderIsMissing() {
    // Given an event posted without Stripe-Signature
    Sample event = StripeEvents.paymentIntentSucceeded();

    // When it is posted
    HttpResponse<String> response = stripe.post(event.body(), null);

    // Then 400, and nothing is on the topic
    assertProblem(response, 400);
    assertThat(response.body()).contains("Stripe-Signature");
    assertNothingPublished();
  }

  @Test
  void shouldRejectWithoutPublishingWhenBodyWasTamperedAfterSigning() {
    // Given a correctly signed event whose amount is changed afterwards
    Sample event = StripeEvents.paymentIntentSucceeded();
    String header = StripeSignatures.header(event.body(), now(), SECRET);
    byte[] tampered =
        event
            .text()
            .replace("\"currency\": \"usd\"", "\"currency\": \"eur\"")
            .getBytes(StandardCharsets.UTF_8);
    assertThat(tampered).isNotEqualTo(event.body());

    // When the tampered body is posted with the original signature
    HttpResponse<String> response = stripe.post(tampered, header);

    // Then 400, and nothing is on the topic
    assertProblem(response, 400);
    assertNothingPublished();
  }

  @Test
  void shouldRejectWithoutPublishingWhenBodyIsNotJson() {
    // Given a body that is correctly signed but not JSON
    byte[] body = "id=evt_123&type=payment_intent.succeeded".getBytes(StandardCharsets.UTF_8);

    // When it is posted
    HttpResponse<String> response = stripe.postSigned(body, SECRET);

    // Then 400, and nothing is on the topic
    assertProblem(response, 400);
    assertThat(response.body()).contains("not a Stripe event");
    assertNothingPublished();
  }

  @Test
  void shouldRejectWithoutPublishingWhenSignedJsonIsNotAStripeEvent() {
    // Given signed JSON documents, each lacking something every Stripe event has
    List<String> documents =
        List.of(
            "{}",
            "[]",
            "\"evt_1\"",
            "null",
            "{\"id\":\"evt_1\",\"object\":\"charge\",\"type\":\"charge.succeeded\",\"data\":{\"object\":{}}}",
            "{\"id\":\"evt_1\",\"object\":\"event\",\"type\":\"charge.succeeded\"}",
            "{\"id\":\"evt_1\",\"object\":\"event\",\"data\":{\"object\":{\"id\":\"ch_1\"}}}",
            "{\"id\":\"ch_1\",\"object\":\"event\",\"type\":\"x\",\"data\":{\"object\":{\"id\":\"ch_1\"}}}");

    for (String json : documents) {
      // When each is posted
      HttpResponse<String> response =
          stripe.postSigned(json.getBytes(StandardCharsets.UTF_8), SECRET);

      // Then each gets 400
      assertProblem(response, 400);
    }
    // And nothing is on the topic
    assertNothingPublished();
  }

  @Test
  void shouldRejectWithoutPublishingWhenBodyIsNotUtf8() {
    // Given a signed event with a byte that is not UTF-8 inside a string
    byte[] valid = StripeEvents.paymentIntentSucceeded().body();
    byte[] body = Arrays.copyOf(valid, valid.length);
    int at = new String(valid, StandardCharsets.UTF_8).indexOf("Posting fee") + 3;
    body[at] = (byte) 0xFF;

    // When it is posted
    HttpResponse<String> response = stripe.postSigned(body, SECRET);

    // Then 400, and nothing is on the topic
    assertProblem(response, 400);
    assertNothingPublished();
  }

  @Test
  void shouldAnswer413WithoutPublishingWhenBodyIsOverOneMebibyte() {
    // Given a correctly signed event of 1 MiB and one byte
    byte[] body = incompressibleEventOfSize(ONE_MIB + 1);

    // When it is posted
    HttpResponse<String> response = stripe.postSigned(body, SECRET);

    // Then 413 as a problem that names the limit, and nothing is on the topic
    assertProblem(response, 413);
    assertThat(readJson(response.body()).path("detail").asText()).contains("1048576 bytes");
    assertNothingPublished();
  }

  @Test
  void shouldAnswer413WithoutPublishingWhenChunkedBodyIsOverOneMebibyte() {
    // Given a correctly signed event of 1 MiB and one byte, sent without a Content-Length
    byte[] body = incompressibleEventOfSize(ONE_MIB + 1);
    String header = StripeSignatures.header(body, now(), SECRET);

    // When it is posted in chunks
    HttpResponse<String> response =
        stripe.send(
            stripe
                .request("/webhooks/stripe", header)
                .POST(
                    HttpRequest.BodyPublishers.ofInputStream(
                        () -> new ByteArrayInputStream(body))));

    // Then 413 as a problem that names the limit, and nothing is on the topic
    assertProblem(response, 413);
    assertThat(readJson(response.body()).path("detail").asText()).contains("1048576 bytes");
    assertNothingPublished();
  }

  @Test
  void shouldPublishTheWholeBodyWhenAnIncompressibleBodyIsExactlyOneMebibyte() {
    // Given a correctly signed event of exactly 1 MiB, the largest SPEC §3 allows, nearly all of
    // it a random string that lz4 cannot shrink: with its key and headers, larger than a topic
    // takes by default (1 MiB and 12 bytes)
    Sample event = StripeEvents.paymentIntentSucceeded();
    byte[] body = incompressibleEventOfSize(event, ONE_MIB);

    // When it is posted
    HttpResponse<String> response = stripe.postSigned(body, SECRET);

    // Then it is accepted, and on the topic whole, byte for byte, with its key and headers
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    ConsumerRecord<String, byte[]> record = onlyRecord();
    assertThat(record.value()).isEqualTo(body);
    assertThat(record.key()).isEqualTo(event.paymentIntentId());
    assertThat(headers(record))
        .containsEntry("stripe-event-id", event.id())
        .containsEntry("stripe-event-type", "payment_intent.succeeded")
        .containsKey("received-at");
  }

  @Test
  void shouldPublishNothingWhenTheConnectionEndsBeforeTheDeclaredBodyArrived() throws IOException {
    // Given a signed event whose request declares ten bytes more than the event, so that what
    // arrives is a whole event, correctly signed, but not the whole body
    byte[] body = StripeEvents.paymentIntentSucceeded().body();
    String head =
        "POST /webhooks/stripe HTTP/1.1\r\nHost: localhost\r\n"
            + "Content-Type: application/json; charset=utf-8\r\n"
            + "Stripe-Signature: "
            + StripeSignatures.header(body, now(), SECRET)
            + "\r\nContent-Length: "
            + (body.length + 10)
            + "\r\n\r\n";
    String answer;
    try (Socket socket = connect()) {
      // When the client sends it and closes its side before the last ten bytes
      socket.getOutputStream().write(head.getBytes(StandardCharsets.US_ASCII));
      socket.getOutputStream().write(body);
      socket.getOutputStream().flush();
      socket.shutdownOutput();
      try {
        answer = readResponse(socket, ANSWER);
      } catch (IOException closed) {
        answer = "closed: " + closed.getMessage();
      }
    }

    // Then it is not acknowledged, and nothing is on the topic
    assertThat(answer).doesNotStartWith("HTTP/1.1 200");
    assertNothingPublished();
  }

  @Test
  void shouldRejectWithoutPublishingWhenSignatureHeaderIsGarbage() {
    // Given an event, and Stripe-Signature values that cannot be read (stripe-java throws on some)
    Sample event = StripeEvents.paymentIntentSucceeded();
    List<String> headers =
        List.of(
            "",
            " ",
            "garbage",
            "t=",
            "t",
            "v1",
            "t=abc,v1=00",
            "t=99999999999999999999,v1=00",
            "t=-5,v1=00",
            "t=" + now(),
            "t=" + now() + ",v0=" + StripeSignatures.signature(event.body(), now(), SECRET),
            ",,,,",
            "=,=,=",
            "v1=,t=,v1=");

    for (String header : headers) {
      // When the event is posted with each
      HttpResponse<String> response = stripe.post(event.body(), header);

      // Then each gets 400, never a server error
      assertThat(response.statusCode()).as("Stripe-Signature: '%s'", header).isEqualTo(400);
      assertProblem(response, 400);
    }
    // And nothing is on the topic
    assertNothingPublished();
  }

  @Test
  void shouldPublishExactlyTheBodiesItAcceptsWhenSignedBodiesAreMangled() {
    // Given correctly signed bodies that are real events with random bytes changed, cut short or
    // repeated, and plain random bytes (a fixed seed, so a failure can be replayed)
    Random random = new Random(20_260_301L);
    List<byte[]> accepted = new ArrayList<>();
    for (int i = 0; i < 120; i++) {
      byte[] body = mangled(random);

      // When each is posted
      HttpResponse<String> response = stripe.postSigned(body, SECRET);

      // Then it is either accepted or refused as a bad request, never a server error
      assertThat(response.statusCode()).as("mangled body #%d", i).isIn(200, 400);
      if (response.statusCode() == 200) {
        accepted.add(body);
      }
    }

    // And the topic holds exactly the accepted bodies, byte for byte
    assertThat(kafka.readAll(topics.stripeEvents()))
        .extracting(record -> ByteBuffer.wrap(record.value()))
        .containsExactlyInAnyOrderElementsOf(accepted.stream().map(ByteBuffer::wrap).toList());
  }

  @Test
  void shouldAcceptEventsSignedWithEitherSecretWhenTwoSecretsAreConfigured() {
    // Given a gateway in the middle of a secret rotation: the new secret and the old one
    gateway.close();
    String newSecret = "whsec_rotated_new_5a6b7c8d9e0f1a2b";
    gateway = WebhookGateway.start(gatewayConfig(List.of(newSecret, SECRET)));
    stripe.close();
    stripe = new WebhookClient(gateway.baseUrl());
    Sample signedWithOld = StripeEvents.paymentIntentSucceeded();
    Sample signedWithNew = StripeEvents.of("charge.succeeded");
    Sample signedWithBoth = StripeEvents.of("charge.refunded");

    // When Stripe signs with either, or with both as it does while both are live
    int old = stripe.postSigned(signedWithOld.body(), SECRET).statusCode();
    int renewed = stripe.postSigned(signedWithNew.body(), newSecret).statusCode();
    int both =
        stripe
            .post(
                signedWithBoth.body(),
                StripeSignatures.header(signedWithBoth.body(), now(), OTHER_SECRET, newSecret))
            .statusCode();
    int neither =
        stripe.postSigned(StripeEvents.paymentIntentSucceeded().body(), OTHER_SECRET).statusCode();

    // Then every event signed with a configured secret passes and is published; the other is not
    assertThat(List.of(old, renewed, both, neither)).containsExactly(200, 200, 200, 400);
    assertThat(kafka.readAll(topics.stripeEvents()))
        .extracting(record -> header(record, "stripe-event-id").orElseThrow())
        .containsExactlyInAnyOrder(signedWithOld.id(), signedWithNew.id(), signedWithBoth.id());
  }

  @Test
  void shouldRefuseTestModeEventsWhenTakingLiveEventsOnly() throws Exception {
    // Given a gateway of production, which takes live-mode events only
    gateway.close();
    gateway = WebhookGateway.start(gatewayConfig(List.of(SECRET)).withLiveModeOnly());
    stripe.close();
    stripe = new WebhookClient(gateway.baseUrl());
    Sample test = StripeEvents.paymentIntentSucceeded();
    Sample live = StripeEvents.paymentIntentSucceeded();
    com.fasterxml.jackson.databind.node.ObjectNode liveEvent =
        (com.fasterxml.jackson.databind.node.ObjectNode)
            io.marketplace.payments.common.json.Json.mapper().readTree(live.body());
    liveEvent.put("livemode", true);
    byte[] liveBody = io.marketplace.payments.common.json.Json.bytes(liveEvent);

    // When Stripe's test mode signs an event with a secret it was given (by mistake), and live
    // mode one of its own
    HttpResponse<String> refused = stripe.postSigned(test.body(), SECRET);
    HttpResponse<String> accepted = stripe.postSigned(liveBody, SECRET);

    // Then the test-mode event is refused, saying why, and only the live one is published
    assertThat(refused.statusCode()).isEqualTo(400);
    assertThat(refused.body()).contains("test-mode event");
    assertThat(accepted.statusCode()).isEqualTo(200);
    assertThat(kafka.readAll(topics.stripeEvents()))
        .extracting(record -> header(record, "stripe-event-id").orElseThrow())
        .containsExactly(live.id());
  }

  @Test
  void shouldCountEventsAndRefusalsWhenMetricsAreScraped() {
    // Given one accepted event, one with a wrong signature and one stale
    Sample event = StripeEvents.paymentIntentSucceeded();
    assertThat(stripe.postSigned(event.body(), SECRET).statusCode()).isEqualTo(200);
    assertThat(stripe.postSigned(event.body(), OTHER_SECRET).statusCode()).isEqualTo(400);
    assertThat(
            stripe
                .post(event.body(), StripeSignatures.header(event.body(), now() - 600, SECRET))
                .statusCode())
        .isEqualTo(400);

    // When Prometheus scrapes the gateway's admin port
    HttpResponse<String> scrape;
    try (WebhookClient monitoring = new WebhookClient(gateway.adminUrl())) {
      scrape = monitoring.get("/metrics");
    }

    // Then it sees the received event by type, the refusals by reason, the publish latency
    // histogram and the in-flight gauge
    assertThat(scrape.statusCode()).isEqualTo(200);
    List<String> lines = scrape.body().lines().toList();
    assertThat(lines)
        .anySatisfy(
            line ->
                assertThat(line)
                    .startsWith("homepage_webhooks_received_total{")
                    .contains("event_type=\"payment_intent.succeeded\"")
                    .endsWith(" 1.0"));
    assertThat(lines)
        .anySatisfy(
            line ->
                assertThat(line)
                    .startsWith("gateway_signature_failures_total{")
                    .contains("reason=\"no_matching_signature\"")
                    .endsWith(" 1.0"));
    assertThat(lines)
        .anySatisfy(
            line ->
                assertThat(line)
                    .startsWith("gateway_signature_failures_total{")
                    .contains("reason=\"stale_timestamp\"")
                    .endsWith(" 1.0"));
    assertThat(lines)
        .anySatisfy(
            line ->
                assertThat(line)
                    .startsWith("gateway_publish_seconds_bucket{")
                    .contains("outcome=\"acknowledged\""));
    assertThat(lines).anySatisfy(line -> assertThat(line).startsWith("gateway_requests_inflight{"));
  }

  @Test
  void shouldServeMetricsOnTheAdminPortOnlyWhenScraped() {
    // Given a gateway that accepted one event
    assertThat(stripe.postSigned(StripeEvents.paymentIntentSucceeded().body(), SECRET).statusCode())
        .isEqualTo(200);

    // When anyone on the internet asks its public port for metrics
    // Then there are none there (SPEC §3: the webhook route and health only)
    for (String path : List.of("/metrics", "/q/metrics")) {
      assertProblem(stripe.get(path), 404);
    }
    assertThat(stripe.get("/health/live").statusCode()).isEqualTo(200);

    // And the admin port serves them, as Prometheus text, and its health
    try (WebhookClient monitoring = new WebhookClient(gateway.adminUrl())) {
      for (String path : List.of("/metrics", "/q/metrics")) {
        HttpResponse<String> scrape = monitoring.get(path);
        assertThat(scrape.statusCode()).isEqualTo(200);
        assertThat(scrape.headers().firstValue("Content-Type"))
            .hasValueSatisfying(type -> assertThat(type).startsWith("text/plain"));
        assertThat(scrape.body().lines())
            .anySatisfy(line -> assertThat(line).startsWith("homepage_webhooks_received_total{"));
      }
      assertThat(monitoring.get("/health/ready").statusCode()).isEqualTo(200);
    }
    assertThat(gateway.adminPort()).isNotEqualTo(gateway.port());
  }

  @Test
  void shouldKeepTheRequestSeriesFewWhenTheInternetSendsMadeUpMethods() throws IOException {
    // Given a gateway that served Stripe once
    assertThat(stripe.postSigned(StripeEvents.paymentIntentSucceeded().body(), SECRET).statusCode())
        .isEqualTo(200);

    // When anyone on the internet sends its public port 200 requests, each with a method of its
    // own making (a few KB each: Jetty takes any token up to the header limit), on one connection
    int madeUp = 200;
    try (Socket socket = connect()) {
      StringBuilder requests = new StringBuilder();
      for (int i = 0; i < madeUp; i++) {
        requests
            .append("M")
            .append(i)
            .append("X".repeat(2_000))
            .append(" /webhooks/stripe HTTP/1.1\r\nHost: localhost\r\n")
            .append(i == madeUp - 1 ? "Connection: close\r\n" : "")
            .append("\r\n");
      }
      socket.getOutputStream().write(requests.toString().getBytes(StandardCharsets.US_ASCII));
      socket.setSoTimeout((int) ANSWER.toMillis());
      String answers = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(answers.split("HTTP/1.1 405 ", -1)).hasSize(madeUp + 1);
    }

    // Then Prometheus scrapes the requests under the methods HTTP has, the made-up ones under one
    // series: each series is a histogram of some 70 buckets, each bucket a line carrying the
    // method, so one series per made-up method would let a sender grow the gateway's memory and
    // its scrape without bound (a few thousand such requests made a scrape of hundreds of MB)
    List<String> methods;
    try (WebhookClient monitoring = new WebhookClient(gateway.adminUrl())) {
      methods =
          monitoring
              .get("/metrics")
              .body()
              .lines()
              .filter(line -> line.startsWith("http_server_requests_seconds_count{"))
              .map(line -> line.replaceAll(".*method=\"([^\"]*)\".*", "$1"))
              .distinct()
              .toList();
    }
    assertThat(methods).containsExactlyInAnyOrder("POST", "other");
  }

  @Test
  void shouldAnswerAThirdConnectionOnlyOnceOneClosesWhenCappedAtTwoConnections()
      throws IOException {
    // Given a gateway that holds at most two connections, and Stripe holding two open and served
    gateway.close();
    gateway =
        WebhookGateway.start(
            gatewayConfig(List.of(SECRET)).withHttp(new HttpConfig(2, 16, Duration.ofSeconds(30))));
    try (Socket first = connect();
        Socket second = connect();
        Socket third = connect()) {
      assertThat(postOn(first, ANSWER)).startsWith("HTTP/1.1 200");
      assertThat(postOn(second, ANSWER)).startsWith("HTTP/1.1 200");

      // When a third connection posts an event while the two stay open
      Sample waiting = StripeEvents.paymentIntentSucceeded();
      sendOn(third, waiting.body());

      // Then it is not answered (a slow machine could only make this pass wrongly, never fail)
      assertThatThrownBy(() -> readResponse(third, Duration.ofMillis(500)))
          .isInstanceOf(SocketTimeoutException.class);

      // When one of the two closes
      first.close();

      // Then the third is answered, and its event is on the topic
      assertThat(readResponse(third, ANSWER)).startsWith("HTTP/1.1 200");
      assertThat(kafka.readAll(topics.stripeEvents()))
          .extracting(record -> header(record, "stripe-event-id").orElseThrow())
          .contains(waiting.id());
    }
  }

  @Test
  void shouldBeReadyWhenTheBrokerAnswers() throws IOException {
    // Given a gateway on a running broker

    // When its readiness is probed
    HttpResponse<String> ready = stripe.get("/health/ready");
    HttpResponse<String> live = stripe.get("/health/live");

    // Then it is ready, and says Kafka is up
    assertThat(ready.statusCode()).isEqualTo(200);
    assertThat(Json.mapper().readTree(ready.body()).path("checks").path("kafka").asText())
        .isEqualTo("UP");
    assertThat(live.statusCode()).isEqualTo(200);
  }

  // ---- helpers

  private Socket connect() throws IOException {
    return new Socket(InetAddress.getLoopbackAddress(), gateway.port());
  }

  /** Posts a new signed event on an open connection and reads the answer, keeping it open. */
  private static String postOn(Socket socket, Duration timeout) throws IOException {
    sendOn(socket, StripeEvents.paymentIntentSucceeded().body());
    return readResponse(socket, timeout);
  }

  private static void sendOn(Socket socket, byte[] body) throws IOException {
    String head =
        "POST /webhooks/stripe HTTP/1.1\r\nHost: localhost\r\n"
            + "Content-Type: application/json; charset=utf-8\r\n"
            + "Stripe-Signature: "
            + StripeSignatures.header(body, now(), SECRET)
            + "\r\nContent-Length: "
            + body.length
            + "\r\n\r\n";
    socket.getOutputStream().write(head.getBytes(StandardCharsets.US_ASCII));
    socket.getOutputStream().write(body);
    socket.getOutputStream().flush();
  }

  /** Reads one response (head and Content-Length body), waiting at most {@code timeout}. */
  private static String readResponse(Socket socket, Duration timeout) throws IOException {
    socket.setSoTimeout((int) timeout.toMillis());
    InputStream in = socket.getInputStream();
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    while (!head.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("connection closed after: " + head);
      }
      head.write(b);
    }
    String text = head.toString(StandardCharsets.US_ASCII);
    int length =
        text.lines()
            .filter(line -> line.toLowerCase(Locale.ROOT).startsWith("content-length:"))
            .map(line -> Integer.parseInt(line.substring(line.indexOf(':') + 1).trim()))
            .findFirst()
            .orElse(0);
    return text + new String(in.readNBytes(length), StandardCharsets.UTF_8);
  }

  private GatewayConfig gatewayConfig(List<String> secrets) {
    return new GatewayConfig(0, secrets, TestInfra.kafkaConfig(topics));
  }

  private static long now() {
    return Instant.now().getEpochSecond();
  }

  private ConsumerRecord<String, byte[]> onlyRecord() {
    List<ConsumerRecord<String, byte[]>> records = kafka.readAll(topics.stripeEvents());
    assertThat(records).hasSize(1);
    return records.getFirst();
  }

  /**
   * Sends a valid event and reads the whole topic once the broker has acknowledged it: had the
   * refused request been published, through the same producer and earlier, it would be there too.
   */
  private void assertNothingPublished() {
    Sample sentinel = StripeEvents.paymentIntentSucceeded();
    assertThat(stripe.postSigned(sentinel.body(), SECRET).statusCode()).isEqualTo(200);
    assertThat(kafka.readAll(topics.stripeEvents()))
        .extracting(record -> header(record, "stripe-event-id").orElseThrow())
        .containsExactly(sentinel.id());
  }

  private static void assertProblem(HttpResponse<String> response, int status) {
    assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
    assertThat(response.headers().firstValue("Content-Type"))
        .hasValueSatisfying(type -> assertThat(type).startsWith("application/problem+json"));
    JsonNode problem = readJson(response.body());
    assertThat(problem.path("status").asInt()).isEqualTo(status);
    assertThat(problem.path("type").asText()).isNotBlank();
    assertThat(problem.path("title").asText()).isNotBlank();
    assertThat(problem.path("detail").asText()).isNotBlank();
  }

  private static byte[] mangled(Random random) {
    byte[] event =
        StripeEvents.of(random.nextBoolean() ? "charge.succeeded" : "payment_intent.succeeded")
            .body();
    return switch (random.nextInt(4)) {
      case 0 -> {
        byte[] body = Arrays.copyOf(event, event.length);
        for (int flips = 1 + random.nextInt(3); flips > 0; flips--) {
          body[random.nextInt(body.length)] = (byte) random.nextInt(256);
        }
        yield body;
      }
      case 1 -> Arrays.copyOf(event, random.nextInt(event.length));
      case 2 -> {
        byte[] body = new byte[random.nextInt(4096)];
        random.nextBytes(body);
        yield body;
      }
      default -> {
        int cut = random.nextInt(event.length);
        byte[] body = Arrays.copyOf(event, event.length + cut);
        System.arraycopy(event, 0, body, event.length, cut);
        yield body;
      }
    };
  }

  private static JsonNode readJson(String text) {
    try {
      return Json.mapper().readTree(text);
    } catch (IOException e) {
      throw new AssertionError("not JSON: " + text, e);
    }
  }

  /** {@link #incompressibleEventOfSize(Sample, int)} of a new payment_intent.succeeded. */
  private static byte[] incompressibleEventOfSize(int size) {
    return incompressibleEventOfSize(StripeEvents.paymentIntentSucceeded(), size);
  }

  /**
   * A compact payment_intent.succeeded with the ids of {@code event}, exactly {@code size} bytes
   * long, nearly all of it a description of random printable ASCII (a fixed seed, so a failure can
   * be replayed). Nothing in it repeats, so the producer's lz4 cannot shrink it: the record batch
   * is larger than the body.
   */
  private static byte[] incompressibleEventOfSize(Sample event, int size) {
    String head =
        "{\"id\":\""
            + event.id()
            + "\",\"object\":\"event\",\"api_version\":\"2024-06-20\",\"created\":"
            + now()
            + ",\"type\":\"payment_intent.succeeded\",\"data\":{\"object\":{\"id\":\""
            + event.paymentIntentId()
            + "\",\"object\":\"payment_intent\",\"amount\":500,\"currency\":\"usd\","
            + "\"description\":\"";
    String tail = "\"}}}";
    int length = size - head.length() - tail.length();
    Random random = new Random(size);
    StringBuilder description = new StringBuilder(length);
    while (description.length() < length) {
      char c = (char) (' ' + random.nextInt('~' - ' ' + 1));
      if (c != '"' && c != '\\') {
        description.append(c);
      }
    }
    byte[] body = (head + description + tail).getBytes(StandardCharsets.UTF_8);
    assertThat(body).hasSize(size);
    return body;
  }
}
