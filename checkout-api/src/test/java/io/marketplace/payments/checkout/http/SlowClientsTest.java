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
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.UUID;
import org.eclipse.jetty.server.NetworkConnectionLimit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Slowloris against the API, through real sockets on loopback: clients that send a request's head a
 * byte at a time (before any route or token check sees the request), or a whole head and then its
 * body a byte at a time (a valid token: the handler reads the body). The API's port is as public as
 * the gateway's; the idle timeout does not cut these clients (they are never silent for long), and
 * every connection they hold counts against {@code HTTP_MAX_CONNECTIONS}: they must not keep buyers
 * out.
 */
class SlowClientsTest {

  /** A cap small enough that a handful of slow clients take all of it. */
  private static final int MAX_CONNECTIONS = 8;

  /**
   * {@code HTTP_HEADER_TIMEOUT} and {@code HTTP_BODY_TIMEOUT}, shorter than their 10 s defaults to
   * keep the test short.
   */
  private static final Duration DEADLINE = Duration.ofSeconds(5);

  /** How long the buyer waits for an answer: four times the deadline, for 2 busy cores. */
  private static final Duration BUYER_WAITS = DEADLINE.multipliedBy(4);

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
                        .withHeaderTimeout(DEADLINE)
                        .withBodyTimeout(DEADLINE)));
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
  void shouldAnswerABuyerAndCloseEverySlowConnectionWhenSlowHeadersTakeEveryConnection()
      throws IOException {
    // Given as many connections as the API takes, each sending the head of a request one byte
    // every half second and never ending it
    slow =
        TrickleClients.open(
            app.api.port(),
            MAX_CONNECTIONS,
            "POST /api/marketplace/listings HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ",
            TRICKLE_EVERY);

    // When a buyer asks for the categories, Then the buyer is answered and every slow
    // connection closed and counted
    assertBuyerAnsweredAndSlowClientsCutOff("http_server_head_timeouts_total", "heads");
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

    // When a buyer asks for the categories, Then the buyer is answered and every slow
    // connection closed and counted
    assertBuyerAnsweredAndSlowClientsCutOff("http_server_body_timeouts_total", "bodies");
  }

  /**
   * Once the slow clients hold every connection, a buyer asks for the categories on a new one,
   * which waits in the accept queue: it is answered 200 once the slow ones are past their deadline,
   * and the API closed every slow connection and counts them (in {@code counter}, where Prometheus
   * scrapes).
   */
  private void assertBuyerAnsweredAndSlowClientsCutOff(String counter, String what)
      throws IOException {
    NetworkConnectionLimit limit =
        app.api.javalin().jettyServer().server().getBean(NetworkConnectionLimit.class);
    Await.until(
        DEADLINE,
        "the API holding every slow connection",
        () -> limit.getNetworkConnectionCount() == MAX_CONNECTIONS);

    long asking = System.nanoTime();
    String answer;
    try (Socket buyer = new Socket(InetAddress.getLoopbackAddress(), app.api.port())) {
      buyer
          .getOutputStream()
          .write(
              "GET /api/marketplace/categories HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
                  .getBytes(StandardCharsets.US_ASCII));
      buyer.getOutputStream().flush();
      buyer.setSoTimeout((int) BUYER_WAITS.toMillis());
      try {
        answer = readHead(buyer);
      } catch (SocketTimeoutException e) {
        answer = "no answer in " + BUYER_WAITS.toSeconds() + " s";
      }
    }
    double answeredAfter = (System.nanoTime() - asking) / 1e9;

    assertThat(answer).as("answered after %.1f s", answeredAfter).startsWith("HTTP/1.1 200");
    for (Socket socket : slow.sockets()) {
      assertClosedByServer(socket);
    }
    assertThat(app.metrics().lines())
        .anySatisfy(
            line ->
                assertThat(line).startsWith(counter + "{").endsWith(" " + MAX_CONNECTIONS + ".0"));
    System.out.printf(
        "%d connections sending their %s a byte every %d ms; buyer answered 200 after %.1f s%n",
        MAX_CONNECTIONS, what, TRICKLE_EVERY.toMillis(), answeredAfter);
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
        // a 408 or 400 the server wrote before closing, if any
      }
    } catch (SocketTimeoutException e) {
      throw new AssertionError("a slow connection is still open", e);
    } catch (IOException e) {
      // reset by the server
    }
  }
}
