package io.marketplace.payments.checkout.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.checkout.TestApi;
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
import org.eclipse.jetty.server.NetworkConnectionLimit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Clients that send a request's headers a byte at a time, never finishing them (slowloris on the
 * head, before any route or token check sees the request), through real sockets on loopback. The
 * API's port is as public as the gateway's: the idle timeout does not cut these clients (they are
 * never silent for long), and every connection they hold counts against {@code
 * HTTP_MAX_CONNECTIONS}: they must not keep buyers out.
 */
class SlowHeadersTest {

  /** A cap small enough that a handful of slow clients take all of it. */
  private static final int MAX_CONNECTIONS = 8;

  /** {@code HTTP_HEADER_TIMEOUT}, shorter than its 10 s default to keep the test short. */
  private static final Duration HEAD_DEADLINE = Duration.ofSeconds(5);

  /** Well inside the idle timeout (30 s): the slow clients are never idle. */
  private static final Duration TRICKLE_EVERY = Duration.ofMillis(500);

  private static TestApi app;
  private TrickleClients slow;

  @BeforeAll
  static void start() {
    app =
        TestApi.start(
            config ->
                config.withHttp(
                    new HttpConfig(MAX_CONNECTIONS, 64, Duration.ofSeconds(30))
                        .withHeaderTimeout(HEAD_DEADLINE)));
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
    NetworkConnectionLimit limit =
        app.api.javalin().jettyServer().server().getBean(NetworkConnectionLimit.class);
    Await.until(
        Duration.ofSeconds(5),
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
      // the slow heads are cut 2 s (HTTP_HEADER_TIMEOUT) after their first byte; generous for
      // 2 busy cores
      buyer.setSoTimeout(15_000);
      try {
        answer = readHead(buyer);
      } catch (SocketTimeoutException e) {
        answer = "no answer in 15 s";
      }
    }
    double answeredAfter = (System.nanoTime() - asking) / 1e9;

    // Then the buyer is answered once the slow heads are past their deadline
    assertThat(answer).as("answered after %.1f s", answeredAfter).startsWith("HTTP/1.1 200");

    // And the API closed every slow connection, and counts them where Prometheus scrapes
    for (Socket socket : slow.sockets()) {
      assertClosedByServer(socket);
    }
    assertThat(app.metrics().lines())
        .anySatisfy(
            line ->
                assertThat(line)
                    .startsWith("http_server_head_timeouts_total{")
                    .endsWith(" " + MAX_CONNECTIONS + ".0"));
    System.out.printf(
        "%d connections sending their heads a byte every %d ms; buyer answered 200 after %.1f s%n",
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
