package io.marketplace.payments.common.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.javalin.Javalin;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.eclipse.jetty.server.NetworkConnectionLimit;
import org.eclipse.jetty.server.ServerConnector;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The connection limits of every service's HTTP server, seen from a client's socket: what is
 * served, what waits, and what is closed.
 */
class HttpServersTest {

  /** How long a client waits for an answer it must get: generous, for 2 busy cores. */
  private static final Duration ANSWER = Duration.ofSeconds(10);

  /**
   * How long a client waits for an answer it must not get. A slow machine can only make this pass
   * wrongly, never fail wrongly: a served request answers within milliseconds when nothing holds
   * it.
   */
  private static final Duration NO_ANSWER = Duration.ofMillis(500);

  private final PrometheusMeterRegistry registry =
      new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private Javalin server;

  @AfterEach
  void stop() {
    if (server != null) {
      server.stop();
    }
    registry.close();
  }

  @Test
  void shouldServeAThirdConnectionOnlyOnceOneClosesWhenCappedAtTwo() throws IOException {
    // Given a server that holds at most two connections, and two clients connected and served
    start(new HttpConfig(2, 16, Duration.ofSeconds(30)));
    try (Socket first = connect();
        Socket second = connect();
        Socket third = connect()) {
      assertThat(get(first, ANSWER)).startsWith("HTTP/1.1 200");
      assertThat(get(second, ANSWER)).startsWith("HTTP/1.1 200");

      // When a third client connects and asks, while the two keep their connections open
      send(third);

      // Then its connection is made (the kernel queues it) but it is not served
      assertThatThrownBy(() -> read(third, NO_ANSWER)).isInstanceOf(SocketTimeoutException.class);
      // And the two connected clients are still served
      assertThat(get(second, ANSWER)).startsWith("HTTP/1.1 200");

      // When the first client closes its connection
      first.close();

      // Then the third is taken in and answered, and the second is still served
      assertThat(read(third, ANSWER)).startsWith("HTTP/1.1 200");
      assertThat(get(second, ANSWER)).startsWith("HTTP/1.1 200");
    }
  }

  @Test
  void shouldCloseAConnectionWhenItStaysSilentForTheIdleTimeout() throws IOException {
    // Given a server that closes connections silent for 300 ms, and a client it has served
    start(new HttpConfig(8, 16, Duration.ofMillis(300)));
    try (Socket client = connect()) {
      assertThat(get(client, ANSWER)).startsWith("HTTP/1.1 200");

      // When the client sends nothing more

      // Then the server closes the connection (the client reads the end of the stream)
      client.setSoTimeout((int) ANSWER.toMillis());
      assertThat(client.getInputStream().read()).isEqualTo(-1);
    }
  }

  @Test
  void shouldCloseAConnectionAndCountItWhenItsHeadTricklesPastTheHeaderTimeout()
      throws IOException {
    // Given a server whose request heads must arrive within 500 ms (idle connections: 30 s)
    start(new HttpConfig(8, 16, Duration.ofSeconds(30)).withHeaderTimeout(Duration.ofMillis(500)));
    ScheduledExecutorService trickle = Executors.newSingleThreadScheduledExecutor();
    try (Socket slow = connect()) {
      // When a client sends a head a byte every 100 ms, never ending it: never silent for long
      long started = System.nanoTime();
      slow.getOutputStream()
          .write(
              "GET /health/live HTTP/1.1\r\nHost: localhost\r\nX-Pad: "
                  .getBytes(StandardCharsets.US_ASCII));
      slow.getOutputStream().flush();
      trickle.scheduleAtFixedRate(
          () -> {
            try {
              slow.getOutputStream().write('a');
              slow.getOutputStream().flush();
            } catch (IOException e) {
              // closed by the server: what should happen
            }
          },
          100,
          100,
          TimeUnit.MILLISECONDS);

      // Then the server closes the connection, not before the deadline, and counts it
      slow.setSoTimeout((int) ANSWER.toMillis());
      try {
        while (slow.getInputStream().read() >= 0) {
          // an error answer written before closing, if any
        }
      } catch (SocketTimeoutException e) {
        throw new AssertionError("the slow connection is still open", e);
      } catch (IOException e) {
        // reset by the server
      }
      assertThat(Duration.ofNanos(System.nanoTime() - started))
          .isGreaterThanOrEqualTo(Duration.ofMillis(500));
      assertThat(registry.get("http.server.head.timeouts").counter().count()).isEqualTo(1.0);
    } finally {
      trickle.shutdownNow();
    }

    // And a client that sends its head at once is still served
    try (Socket client = connect()) {
      assertThat(get(client, ANSWER)).startsWith("HTTP/1.1 200");
    }
  }

  @Test
  void shouldCloseAConnectionAndCountItWhenItsBodyTricklesPastTheBodyTimeout() throws IOException {
    // Given a server whose request bodies must arrive within 3 s of their first read (idle
    // connections: 30 s), with a route that reads its body and one that works for longer than
    // the deadline before it reads a body sent at once
    Duration deadline = Duration.ofSeconds(3);
    HttpConfig limits = new HttpConfig(8, 16, Duration.ofSeconds(30)).withBodyTimeout(deadline);
    server =
        HttpServers.create(
                0,
                limits,
                registry,
                List.of(),
                routes -> {
                  routes.routes.post("/echo", ctx -> ctx.result(ctx.bodyAsBytes()));
                  routes.routes.post(
                      "/slow-handler",
                      ctx -> {
                        LockSupport.parkNanos(deadline.plusSeconds(1).toNanos());
                        ctx.result(ctx.bodyAsBytes());
                      });
                  // reads the declared length and no further (no end-of-body read), as the
                  // gateway does, then works past the deadline (waits for Kafka's answer)
                  routes.routes.post(
                      "/read-then-work",
                      ctx -> {
                        byte[] body =
                            ctx.req()
                                .getInputStream()
                                .readNBytes((int) ctx.req().getContentLengthLong());
                        LockSupport.parkNanos(deadline.plusSeconds(1).toNanos());
                        ctx.result(body);
                      });
                })
            .start();
    ScheduledExecutorService trickle = Executors.newSingleThreadScheduledExecutor();
    try (Socket slow = connect()) {
      // When a client sends a whole head declaring 1,000 bytes, then the body a byte every 200 ms
      long started = System.nanoTime();
      slow.getOutputStream()
          .write(
              ("POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\n"
                      + "Content-Length: 1000\r\n\r\n")
                  .getBytes(StandardCharsets.US_ASCII));
      slow.getOutputStream().flush();
      trickle.scheduleAtFixedRate(
          () -> {
            try {
              slow.getOutputStream().write('a');
              slow.getOutputStream().flush();
            } catch (IOException e) {
              // closed by the server: what should happen
            }
          },
          0,
          200,
          TimeUnit.MILLISECONDS);

      // Then the server closes the connection, not before the deadline, and counts it
      slow.setSoTimeout((int) deadline.multipliedBy(4).toMillis());
      try {
        while (slow.getInputStream().read() >= 0) {
          // an error answer written before closing, if any
        }
      } catch (SocketTimeoutException e) {
        throw new AssertionError("the slow connection is still open", e);
      } catch (IOException e) {
        // reset by the server
      }
      assertThat(Duration.ofNanos(System.nanoTime() - started)).isGreaterThanOrEqualTo(deadline);
      assertThat(registry.get("http.server.body.timeouts").counter().count()).isEqualTo(1.0);
    } finally {
      trickle.shutdownNow();
    }

    // And the cut-off request is recorded as the client's timeout, not as a server error
    long until = System.nanoTime() + ANSWER.toNanos();
    while (registry.find("http.server.requests").tag("route", "/echo").timer() == null) {
      assertThat(System.nanoTime() - until)
          .as("the cut-off request recorded in http.server.requests within %s", ANSWER)
          .isNegative();
      LockSupport.parkNanos(Duration.ofMillis(20).toNanos());
    }
    assertThat(registry.find("http.server.requests").tag("route", "/echo").timers())
        .extracting(timer -> timer.getId().getTag("status"))
        .containsExactly("408");

    // And a body sent at once is served, even by a handler that reads it after the deadline
    try (Socket client = connect()) {
      client
          .getOutputStream()
          .write(
              ("POST /slow-handler HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\n"
                      + "Content-Length: 5\r\n\r\nhello")
                  .getBytes(StandardCharsets.US_ASCII));
      client.getOutputStream().flush();
      assertThat(read(client, deadline.multipliedBy(4)))
          .startsWith("HTTP/1.1 200")
          .endsWith("hello");
    }
    // And a body read in full at once is over, however long the handler then works: its answer
    // is not cut off at the body's deadline
    try (Socket client = connect()) {
      client
          .getOutputStream()
          .write(
              ("POST /read-then-work HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\n"
                      + "Content-Length: 5\r\n\r\nhello")
                  .getBytes(StandardCharsets.US_ASCII));
      client.getOutputStream().flush();
      assertThat(read(client, deadline.multipliedBy(4)))
          .startsWith("HTTP/1.1 200")
          .endsWith("hello");
    }
    assertThat(registry.get("http.server.body.timeouts").counter().count()).isEqualTo(1.0);
  }

  @Test
  void shouldListenWithProductionLimitsWhenNoneAreGiven() {
    // Given a server created without limits, as the workers' admin servers are
    server = HttpServers.create(0, registry, List.of(), routes -> {}).start();

    // When its connector is looked at
    ServerConnector connector = (ServerConnector) server.jettyServer().server().getConnectors()[0];

    // Then it has the default accept queue, idle timeout and connection limit, not Jetty's
    assertThat(connector.getAcceptQueueSize()).isEqualTo(HttpConfig.DEFAULT_ACCEPT_QUEUE_SIZE);
    assertThat(connector.getIdleTimeout()).isEqualTo(HttpConfig.DEFAULT_IDLE_TIMEOUT.toMillis());
    assertThat(connector.getBean(RequestDeadlines.class)).isNotNull();
    assertThat(server.jettyServer().server().getBean(NetworkConnectionLimit.class))
        .extracting(NetworkConnectionLimit::getMaxNetworkConnectionCount)
        .isEqualTo(HttpConfig.DEFAULT_MAX_CONNECTIONS);
  }

  @Test
  void shouldAnswerLivenessDownOnlyWhenAPartStoppedForGood() throws IOException {
    // Given a worker that is not ready but can become so (waiting for its dead-letter topic) and
    // a dependency that is down (the database)
    java.util.concurrent.atomic.AtomicBoolean alive =
        new java.util.concurrent.atomic.AtomicBoolean(true);
    server =
        HttpServers.create(
                0,
                registry,
                List.of(
                    new HealthCheck("database", () -> false),
                    new HealthCheck("worker", () -> false, alive::get)),
                routes -> {})
            .start();

    // Then readiness is down, but liveness is up: a restart would not bring either back sooner
    try (Socket socket = connect()) {
      assertThat(get(socket, ANSWER)).startsWith("HTTP/1.1 200").endsWith("{\"status\":\"UP\"}");
    }

    // When the worker stops for good (a fatal error ended it)
    alive.set(false);

    // Then liveness is down, naming the worker, so the process is restarted
    try (Socket socket = connect()) {
      assertThat(get(socket, ANSWER))
          .startsWith("HTTP/1.1 503")
          .endsWith("{\"status\":\"DOWN\",\"checks\":{\"worker\":\"DOWN\"}}");
    }
  }

  @Test
  void shouldCountARequestWhoseClientWentAwayMidBodyAsTheClientsNotAServerError()
      throws IOException {
    // Given a route that reads its body
    server =
        HttpServers.create(
                0,
                registry,
                List.of(),
                routes -> routes.routes.post("/echo", ctx -> ctx.result(ctx.bodyAsBytes())))
            .start();

    // When a client declares 1,000 bytes, sends 10 and goes away
    try (Socket client = connect()) {
      client
          .getOutputStream()
          .write(
              ("POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\n"
                      + "Content-Length: 1000\r\n\r\n0123456789")
                  .getBytes(StandardCharsets.US_ASCII));
      client.getOutputStream().flush();
    }

    // Then the request is recorded as the client's error, not as the server's (a 5xx pages)
    long deadline = System.nanoTime() + ANSWER.toNanos();
    while (registry.find("http.server.requests").tag("route", "/echo").timer() == null) {
      assertThat(System.nanoTime() - deadline)
          .as("the cut-off request recorded in http.server.requests within %s", ANSWER)
          .isNegative();
      LockSupport.parkNanos(Duration.ofMillis(20).toNanos());
    }
    assertThat(registry.find("http.server.requests").tag("route", "/echo").timers())
        .extracting(timer -> timer.getId().getTag("status"))
        .containsExactly("400");
  }

  @Test
  void shouldAnswerProblemJsonNamingNoServerWhenJettyRefusesTheRequestItself() throws IOException {
    // Given a server
    start(HttpConfig.defaults());

    // When requests are refused before any route sees them: a bad escape, headers too large,
    // also with methods other than GET and POST (Jetty answers those with no body by default)
    List<String> requests =
        List.of(
            "GET /%zz HTTP/1.1\r\nHost: localhost\r\n\r\n",
            "PUT /%zz HTTP/1.1\r\nHost: localhost\r\n\r\n",
            "OPTIONS * HTTP/1.1\r\nHost: localhost\r\n\r\n",
            "GET /health/live HTTP/1.1\r\nHost: localhost\r\nX-Big: "
                + "x".repeat(64 * 1024)
                + "\r\n\r\n");
    for (String request : requests) {
      try (Socket client = connect()) {
        client.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
        client.getOutputStream().flush();
        String answer = read(client, ANSWER);

        // Then the answer is a problem in the API's format, and names neither server nor version
        assertThat(answer).as(answer).startsWith("HTTP/1.1 4");
        assertThat(answer.toLowerCase(Locale.ROOT))
            .as(answer)
            .contains("content-type: application/problem+json")
            .doesNotContain("jetty");
      }
    }
  }

  // ---- helpers

  private void start(HttpConfig limits) {
    server = HttpServers.create(0, limits, registry, List.of(), routes -> {}).start();
  }

  private Socket connect() throws IOException {
    return new Socket(InetAddress.getLoopbackAddress(), server.port());
  }

  /** Asks for {@code /health/live} on the connection and reads the answer, keeping it open. */
  private static String get(Socket socket, Duration timeout) throws IOException {
    send(socket);
    return read(socket, timeout);
  }

  private static void send(Socket socket) throws IOException {
    socket
        .getOutputStream()
        .write(
            "GET /health/live HTTP/1.1\r\nHost: localhost\r\n\r\n"
                .getBytes(StandardCharsets.US_ASCII));
    socket.getOutputStream().flush();
  }

  /** Reads one whole response (head and Content-Length body), waiting at most {@code timeout}. */
  private static String read(Socket socket, Duration timeout) throws IOException {
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
    return text + new String(in.readNBytes(length), StandardCharsets.US_ASCII);
  }
}
