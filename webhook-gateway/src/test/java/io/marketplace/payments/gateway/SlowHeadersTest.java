package io.marketplace.payments.gateway;

import static io.marketplace.payments.testsupport.KafkaTestClient.header;
import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.common.http.HttpConfig;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.gateway.StripeEvents.Sample;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.KafkaTestClient;
import io.marketplace.payments.testsupport.TestInfra;
import io.marketplace.payments.testsupport.TrickleClients;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Clients that send a request's headers a byte at a time, never finishing them (slowloris on the
 * head, before any route sees the request), through real sockets on loopback. The idle timeout does
 * not cut them (they are never silent for long), and every connection they hold counts against
 * {@code HTTP_MAX_CONNECTIONS}: they must not keep Stripe's webhooks out.
 */
class SlowHeadersTest {

  private static final String SECRET = "whsec_slowheaderstest_8b2e6d0f4a1c3957";

  /** A cap small enough that a handful of slow clients take all of it. */
  private static final int MAX_CONNECTIONS = 8;

  /** Well inside the idle timeout: the slow clients are never idle. */
  private static final Duration TRICKLE_EVERY = Duration.ofMillis(500);

  private Topics topics;
  private WebhookGateway gateway;
  private KafkaTestClient kafka;
  private TrickleClients slow;

  @BeforeEach
  void startGateway() {
    topics = TestInfra.freshTopics();
    gateway =
        WebhookGateway.start(
            new GatewayConfig(0, List.of(SECRET), TestInfra.kafkaConfig(topics))
                .withHttp(new HttpConfig(MAX_CONNECTIONS, 64, Duration.ofSeconds(30))));
    kafka = TestInfra.kafkaClient();
  }

  @AfterEach
  void stopGateway() {
    if (slow != null) {
      slow.close();
    }
    gateway.close();
    kafka.close();
  }

  @Test
  void shouldAnswerStripeAndCloseEverySlowConnectionWhenSlowHeadersTakeEveryConnection()
      throws IOException {
    // Given as many connections as the gateway takes, each sending the head of a webhook one byte
    // every half second and never ending it
    slow =
        TrickleClients.open(
            gateway.port(),
            MAX_CONNECTIONS,
            "POST /webhooks/stripe HTTP/1.1\r\nHost: localhost\r\nX-Pad: ",
            TRICKLE_EVERY);

    // When Stripe posts a signed event on a new connection
    Sample event = StripeEvents.paymentIntentSucceeded();
    long posting = System.nanoTime();
    String answer;
    try (Socket stripe = new Socket(InetAddress.getLoopbackAddress(), gateway.port())) {
      stripe.getOutputStream().write(RawWebhook.signedHead(event.body(), SECRET));
      stripe.getOutputStream().write(event.body());
      stripe.getOutputStream().flush();
      // the head must be whole within 10 s (HTTP_HEADER_TIMEOUT), then the slow ones go
      stripe.setSoTimeout(25_000);
      try {
        answer = RawWebhook.readHead(stripe);
      } catch (SocketTimeoutException e) {
        answer = "no answer in 25 s";
      }
    }
    double answeredAfter = (System.nanoTime() - posting) / 1e9;

    // Then it is answered 200 once the slow heads are past their deadline, and is on the topic
    assertThat(answer).as("answered after %.1f s", answeredAfter).startsWith("HTTP/1.1 200");
    assertThat(kafka.readAll(topics.stripeEvents()))
        .extracting(record -> header(record, "stripe-event-id").orElseThrow())
        .containsExactly(event.id());

    // And the gateway closed every slow connection, and counts them where Prometheus scrapes
    for (Socket socket : slow.sockets()) {
      assertClosedByServer(socket);
    }
    try (WebhookClient monitoring = new WebhookClient(gateway.adminUrl())) {
      assertThat(monitoring.get("/metrics").body().lines())
          .anySatisfy(
              line ->
                  assertThat(line)
                      .startsWith("http_server_head_timeouts_total{")
                      .endsWith(" " + MAX_CONNECTIONS + ".0"));
    }
    System.out.printf(
        "%d connections sending their heads a byte every %d ms; signed webhook answered 200 after"
            + " %.1f s%n",
        MAX_CONNECTIONS, TRICKLE_EVERY.toMillis(), answeredAfter);
  }

  @Test
  void shouldKeepAConnectionSilentBetweenTwoWebhooksForLongerThanTheHeadDeadline()
      throws IOException {
    // Given a gateway whose heads must arrive within 1 s, and a connection that posted a webhook
    gateway.close();
    gateway =
        WebhookGateway.start(
            new GatewayConfig(0, List.of(SECRET), TestInfra.kafkaConfig(topics))
                .withHttp(HttpConfig.defaults().withHeaderTimeout(Duration.ofSeconds(1))));
    Sample first = StripeEvents.paymentIntentSucceeded();
    Sample second = StripeEvents.paymentIntentSucceeded();
    try (Socket stripe = new Socket(InetAddress.getLoopbackAddress(), gateway.port())) {
      stripe.setSoTimeout(10_000);
      assertThat(postKeepingOpen(stripe, first)).startsWith("HTTP/1.1 200");

      // When it stays silent for 3 s (idle, not slow: the idle timeout is 30 s) and posts again
      long silentFrom = System.nanoTime();
      Await.until(
          Duration.ofSeconds(5),
          "3 s of silence",
          () -> System.nanoTime() - silentFrom >= Duration.ofSeconds(3).toNanos());

      // Then the second webhook is answered on the same connection too, and both are on the topic
      // (each on its PaymentIntent's partition, so in no order between them)
      assertThat(postKeepingOpen(stripe, second)).startsWith("HTTP/1.1 200");
    }
    assertThat(kafka.readAll(topics.stripeEvents()))
        .extracting(record -> header(record, "stripe-event-id").orElseThrow())
        .containsExactlyInAnyOrder(first.id(), second.id());
  }

  /** Posts {@code event} on a persistent connection and reads the whole answer. */
  private static String postKeepingOpen(Socket socket, Sample event) throws IOException {
    String head =
        "POST /webhooks/stripe HTTP/1.1\r\nHost: localhost\r\n"
            + "Content-Type: application/json; charset=utf-8\r\n"
            + "Stripe-Signature: "
            + StripeSignatures.header(event.body(), System.currentTimeMillis() / 1000, SECRET)
            + "\r\nContent-Length: "
            + event.body().length
            + "\r\n\r\n";
    socket.getOutputStream().write(head.getBytes(US));
    socket.getOutputStream().write(event.body());
    socket.getOutputStream().flush();
    String answer = RawWebhook.readHead(socket);
    int length =
        answer
            .lines()
            .filter(line -> line.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:"))
            .map(line -> Integer.parseInt(line.substring(line.indexOf(':') + 1).trim()))
            .findFirst()
            .orElse(0);
    socket.getInputStream().readNBytes(length);
    return answer;
  }

  private static void assertClosedByServer(Socket socket) throws IOException {
    socket.setSoTimeout(5_000);
    InputStream in = socket.getInputStream();
    try {
      while (in.read() >= 0) {
        // a 408 or 400 the server wrote before closing
      }
    } catch (SocketTimeoutException e) {
      throw new AssertionError("a slow connection is still open", e);
    } catch (IOException e) {
      // reset by the server
    }
  }

  private static final java.nio.charset.Charset US = StandardCharsets.US_ASCII;
}
