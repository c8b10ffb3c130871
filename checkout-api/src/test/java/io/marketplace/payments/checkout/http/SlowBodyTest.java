package io.marketplace.payments.checkout.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.checkout.TestApi;
import io.marketplace.payments.checkout.Tokens;
import io.marketplace.payments.common.http.HttpConfig;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.TrickleClients;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.UUID;
import org.eclipse.jetty.server.NetworkConnectionLimit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Clients that send a whole request head at once and then its body a byte at a time (slowloris on
 * the body), through real sockets on loopback. Their head is complete and well formed, their token
 * valid, so the API's handler reads the body, and the idle timeout does not cut them (they are
 * never silent for long): every connection they hold counts against {@code HTTP_MAX_CONNECTIONS},
 * and they must not keep buyers out.
 */
class SlowBodyTest {

  /** A cap small enough that a handful of slow clients take all of it. */
  private static final int MAX_CONNECTIONS = 8;

  /** {@code HTTP_BODY_TIMEOUT}, shorter than its 10 s default to keep the test short. */
  private static final Duration BODY_DEADLINE = Duration.ofSeconds(5);

  /** How long the buyer waits for an answer: four times the deadline, for 2 busy cores. */
  private static final Duration BUYER_WAITS = BODY_DEADLINE.multipliedBy(4);

  /** Well inside the idle timeout (30 s): the slow clients are never idle. */
  private static final Duration TRICKLE_EVERY = Duration.ofMillis(500);

  /** The declared body: a few hundred bytes more than ever arrive within the test. */
  private static final int DECLARED_LENGTH = 1000;

  private static TestApi app;
  private TrickleClients slow;

  @BeforeAll
  static void start() {
    app =
        TestApi.start(
            config ->
                config.withHttp(
                    new HttpConfig(MAX_CONNECTIONS, 64, Duration.ofSeconds(30))
                        .withBodyTimeout(BODY_DEADLINE)));
  }

  @AfterAll
  static void stop() {
    app.close();
  }

  @AfterEach
  void closeSlowClients() {
    if (slow != null) {
      slow.close();
    }
  }

  @Test
  void shouldAnswerABuyerAndCloseEverySlowConnectionWhenSlowBodiesTakeEveryConnection()
      throws IOException {
    // Given as many connections as the API takes, each with the whole head of a listing's POST
    // (a valid token, Content-Length 1000) and then its body one byte every half second
    slow =
        TrickleClients.open(
            app.api.port(),
            MAX_CONNECTIONS,
            "POST /api/marketplace/listings HTTP/1.1\r\nHost: localhost\r\n"
                + "Authorization: Bearer "
                + Tokens.user(UUID.randomUUID())
                + "\r\nContent-Type: application/json\r\nContent-Length: "
                + DECLARED_LENGTH
                + "\r\n\r\n{\"title\":\"",
            TRICKLE_EVERY);
    NetworkConnectionLimit limit =
        app.api.javalin().jettyServer().server().getBean(NetworkConnectionLimit.class);
    Await.until(
        BUYER_WAITS,
        "the API holding every slow connection",
        () -> limit.getNetworkConnectionCount() == MAX_CONNECTIONS);

    // When a buyer asks for the categories on a new connection, which waits in the accept queue
    long asking = System.nanoTime();
    String answer;
    try (Socket buyer = new Socket(InetAddress.getLoopbackAddress(), app.api.port())) {
      buyer
          .getOutputStream()
          .write(
              "GET /api/marketplace/categories HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
                  .getBytes(US));
      buyer.getOutputStream().flush();
      buyer.setSoTimeout((int) BUYER_WAITS.toMillis());
      try {
        answer = readHead(buyer);
      } catch (SocketTimeoutException e) {
        answer = "no answer in " + BUYER_WAITS.toSeconds() + " s";
      }
    }
    double answeredAfter = (System.nanoTime() - asking) / 1e9;

    // Then the buyer is answered once the slow bodies are past their deadline
    assertThat(answer).as("answered after %.1f s", answeredAfter).startsWith("HTTP/1.1 200");

    // And the API closed every slow connection, and counts them where Prometheus scrapes
    for (Socket socket : slow.sockets()) {
      assertClosedByServer(socket);
    }
    assertThat(app.metrics().lines())
        .anySatisfy(
            line ->
                assertThat(line)
                    .startsWith("http_server_body_timeouts_total{")
                    .endsWith(" " + MAX_CONNECTIONS + ".0"));
    System.out.printf(
        "%d connections sending their bodies a byte every %d ms; buyer answered 200 after %.1f s%n",
        MAX_CONNECTIONS, TRICKLE_EVERY.toMillis(), answeredAfter);
  }

  private static String readHead(Socket socket) throws IOException {
    InputStream in = socket.getInputStream();
    StringBuilder head = new StringBuilder();
    while (head.indexOf("\r\n\r\n") < 0) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("connection closed after: " + head);
      }
      head.append((char) b);
    }
    return head.toString();
  }

  /** The server closes the connection within the buyer's wait; an answer it wrote is read past. */
  private static void assertClosedByServer(Socket socket) throws IOException {
    socket.setSoTimeout((int) BUYER_WAITS.toMillis());
    InputStream in = socket.getInputStream();
    try {
      while (in.read() >= 0) {
        // a 408 the server wrote before closing, if any
      }
    } catch (SocketTimeoutException e) {
      throw new AssertionError("a slow connection is still open", e);
    } catch (IOException e) {
      // reset by the server
    }
  }

  private static final Charset US = StandardCharsets.US_ASCII;
}
