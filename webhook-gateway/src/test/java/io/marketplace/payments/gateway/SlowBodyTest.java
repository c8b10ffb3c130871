package io.marketplace.payments.gateway;

import static io.marketplace.payments.testsupport.KafkaTestClient.header;
import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.gateway.StripeEvents.Sample;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.KafkaTestClient;
import io.marketplace.payments.testsupport.TestInfra;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Clients that send a request's headers and then its body a byte at a time (slowloris), through
 * real sockets on loopback: they must neither keep Stripe's webhooks out nor stay forever.
 */
class SlowBodyTest {

  private static final String SECRET = "whsec_slowbodytest_4d1f8a2c6e0b3957";
  private static final int SLOW_CONNECTIONS = 1_000;
  private static final Duration BODY_TIMEOUT = Duration.ofSeconds(10);

  private Topics topics;
  private WebhookGateway gateway;
  private WebhookClient stripe;
  private WebhookClient monitoring;
  private KafkaTestClient kafka;
  private final List<Socket> slow = new ArrayList<>();

  @BeforeEach
  void startGateway() {
    topics = TestInfra.freshTopics();
    gateway =
        WebhookGateway.start(
            new GatewayConfig(0, List.of(SECRET), TestInfra.kafkaConfig(topics))
                .withBodyTimeout(BODY_TIMEOUT));
    stripe = new WebhookClient(gateway.baseUrl());
    monitoring = new WebhookClient(gateway.adminUrl());
    kafka = TestInfra.kafkaClient();
  }

  @AfterEach
  void stopGateway() {
    for (Socket socket : slow) {
      try {
        socket.close();
      } catch (IOException e) {
        // already gone
      }
    }
    stripe.close();
    monitoring.close();
    gateway.close();
    kafka.close();
  }

  @Test
  void shouldAcceptASignedWebhookWhileAThousandSlowBodiesAreOpenAndCutThemOffAtTheDeadline()
      throws IOException {
    // Given 1,000 connections that each sent the headers of a webhook, half of them declaring
    // 1 MiB and half chunked, and one byte of body, and then nothing; all in the gateway's hands
    long opening = System.nanoTime();
    for (int i = 0; i < SLOW_CONNECTIONS; i++) {
      slow.add(slowRequest(i % 2 == 0));
    }
    Await.until(
        Duration.ofSeconds(30),
        "1,000 slow requests in flight",
        () -> inFlight() >= SLOW_CONNECTIONS);
    double openedAfter = secondsSince(opening);

    // When Stripe posts a signed event
    Sample event = StripeEvents.paymentIntentSucceeded();
    long posting = System.nanoTime();
    HttpResponse<String> response = stripe.postSigned(event.body(), SECRET);
    double answeredAfter = secondsSince(posting);

    // Then it is answered 200 within a few seconds, while the slow ones are still held, and the
    // event is on the topic
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    assertThat(answeredAfter).isLessThan(5.0);
    assertThat(inFlight()).isGreaterThanOrEqualTo(SLOW_CONNECTIONS);
    assertThat(kafka.readAll(topics.stripeEvents()))
        .extracting(record -> header(record, "stripe-event-id").orElseThrow())
        .containsExactly(event.id());

    // And the gateway closes every slow connection once its body is past the deadline, not before
    for (Socket socket : slow) {
      awaitClosedByServer(socket, opening);
    }
    double droppedAfter = secondsSince(opening);
    assertThat(droppedAfter).isGreaterThanOrEqualTo(BODY_TIMEOUT.toSeconds());
    Await.until(Duration.ofSeconds(10), "no request in flight", () -> inFlight() == 0);
    // And each is counted as a body too slow, where Prometheus scrapes
    Await.until(
        Duration.ofSeconds(10),
        "every slow body counted",
        () ->
            counted("gateway_requests_rejected_total{", "reason=\"too_slow\"") == SLOW_CONNECTIONS
                && counted("http_server_body_timeouts_total{", "") == SLOW_CONNECTIONS);
    System.out.printf(
        "%d slow connections held after %.1f s; signed webhook answered 200 in %.2f s;"
            + " every slow connection closed by the server %.1f s after the first opened%n",
        SLOW_CONNECTIONS, openedAfter, answeredAfter, droppedAfter);
  }

  @Test
  void shouldRefuseAnAddressOverItsShareOfBodyMemoryWhileAnotherAddressIsAnswered()
      throws IOException {
    // Given one client address holding 1 MiB bodies it never finishes (a gateway with a long
    // body deadline, so that they stay), until the gateway refuses it room for more (a quarter
    // of the 64 MiB budget)
    gateway.close();
    gateway =
        WebhookGateway.start(
            new GatewayConfig(0, List.of(SECRET), TestInfra.kafkaConfig(topics))
                .withBodyTimeout(Duration.ofMinutes(2)));
    InetAddress greedy = InetAddress.getByName("127.0.0.1");
    String refused =
        Await.value(
            Duration.ofSeconds(60),
            "a body of 127.0.0.1 refused for want of room",
            () -> {
              try {
                Socket socket = almostWholeBody(greedy);
                socket.setSoTimeout(300);
                String answer = RawWebhook.readHead(socket);
                return answer.startsWith("HTTP/1.1 503") ? Optional.of(answer) : Optional.empty();
              } catch (SocketTimeoutException e) {
                return Optional.empty(); // held, still waiting for its last byte
              } catch (IOException e) {
                throw new UncheckedIOException(e);
              }
            });
    assertThat(refused).containsIgnoringCase("Retry-After");

    // When Stripe posts a signed event from another address
    Sample event = StripeEvents.paymentIntentSucceeded();
    try (Socket other = new Socket()) {
      other.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.2"), 0));
      other.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), gateway.port()));
      other.getOutputStream().write(signedRequest(event.body()));
      other.getOutputStream().flush();
      other.setSoTimeout(10_000);

      // Then it is answered 200, and the event is on the topic
      assertThat(RawWebhook.readHead(other)).startsWith("HTTP/1.1 200");
    }
    assertThat(kafka.readAll(topics.stripeEvents()))
        .extracting(record -> header(record, "stripe-event-id").orElseThrow())
        .containsExactly(event.id());
  }

  /** From {@code from}: a request declaring 1 MiB that sends all of it but the last byte. */
  private Socket almostWholeBody(InetAddress from) throws IOException {
    Socket socket = new Socket();
    slow.add(socket);
    socket.bind(new InetSocketAddress(from, 0));
    socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), gateway.port()));
    String head =
        "POST /webhooks/stripe HTTP/1.1\r\nHost: localhost\r\n"
            + "Content-Type: application/json; charset=utf-8\r\n"
            + "Content-Length: 1048576\r\n\r\n";
    socket.getOutputStream().write(head.getBytes(StandardCharsets.US_ASCII));
    byte[] body = new byte[1024 * 1024 - 1];
    Arrays.fill(body, (byte) 'x');
    socket.getOutputStream().write(body);
    socket.getOutputStream().flush();
    return socket;
  }

  private static byte[] signedRequest(byte[] body) {
    byte[] head = RawWebhook.signedHead(body, SECRET);
    byte[] request = Arrays.copyOf(head, head.length + body.length);
    System.arraycopy(body, 0, request, head.length, body.length);
    return request;
  }

  /** Opens a connection, sends a signed webhook's headers and the first byte of its body. */
  private Socket slowRequest(boolean chunked) throws IOException {
    Socket socket = new Socket(InetAddress.getLoopbackAddress(), gateway.port());
    String head =
        "POST /webhooks/stripe HTTP/1.1\r\nHost: localhost\r\n"
            + "Content-Type: application/json; charset=utf-8\r\n"
            + "Stripe-Signature: "
            + StripeSignatures.header(
                "{}".getBytes(StandardCharsets.UTF_8), System.currentTimeMillis() / 1000, SECRET)
            + "\r\n"
            + (chunked
                ? "Transfer-Encoding: chunked\r\n\r\n1\r\n{\r\n"
                : "Content-Length: 1048576\r\n\r\n{");
    socket.getOutputStream().write(head.getBytes(StandardCharsets.US_ASCII));
    socket.getOutputStream().flush();
    return socket;
  }

  /** Waits until the server closed {@code socket} (end of stream or reset), at most 40 s in all. */
  private static void awaitClosedByServer(Socket socket, long since) throws IOException {
    InputStream in = socket.getInputStream();
    while (true) {
      long left = Duration.ofSeconds(40).toMillis() - (System.nanoTime() - since) / 1_000_000;
      assertThat(left).as("a slow connection still open after 40 s").isPositive();
      socket.setSoTimeout((int) left);
      try {
        if (in.read() < 0) {
          return;
        }
      } catch (SocketTimeoutException e) {
        throw new AssertionError("a slow connection still open after 40 s", e);
      } catch (IOException e) {
        return; // reset by the server
      }
    }
  }

  /** {@code gateway_requests_inflight}, as Prometheus scrapes it from the admin port. */
  private long inFlight() {
    return monitoring
        .get("/metrics")
        .body()
        .lines()
        .filter(line -> line.startsWith("gateway_requests_inflight"))
        .map(line -> (long) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)))
        .findFirst()
        .orElseThrow();
  }

  /** The value of the series of {@code metric} whose labels contain {@code label}, or 0. */
  private long counted(String metric, String label) {
    return monitoring
        .get("/metrics")
        .body()
        .lines()
        .filter(line -> line.startsWith(metric) && line.contains(label))
        .map(line -> (long) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)))
        .findFirst()
        .orElse(0L);
  }

  private static double secondsSince(long nanos) {
    return (System.nanoTime() - nanos) / 1e9;
  }
}
