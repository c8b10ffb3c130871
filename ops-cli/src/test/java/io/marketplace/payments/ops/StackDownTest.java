package io.marketplace.payments.ops;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * The commands against a system that is not running (a fresh machine before {@code ./payments up},
 * a wrong address): each says in one line which address did not answer, without a stack trace.
 */
class StackDownTest {

  private final int closed = closedPort();
  private final String kafka = "127.0.0.1:" + closed;
  private final String stripe = "http://127.0.0.1:" + closed;
  private final Cli cli =
      new Cli()
          .set("KAFKA_BOOTSTRAP_SERVERS", kafka)
          .set("DATABASE_URL", "jdbc:postgresql://127.0.0.1:" + closed + "/payments")
          .set("DATABASE_USER", "payments")
          .set("DATABASE_PASSWORD", "Vq8yT3nKp0ZrW6sLx2Jd")
          .stripe(stripe, "sk_test_" + HexFormat.of().formatHex(randomBytes()));

  @Test
  void shouldNameTheConfiguredStripeAddressWhenStripeDoesNotAnswer() {
    // When
    Cli.Result reconcile = cli.run("reconcile", "--since", "1h", "--dry-run");

    // Then the address named is STRIPE_API_BASE, where the requests went, not Stripe's default
    assertThat(reconcile.exitCode()).as(reconcile.toString()).isEqualTo(PaymentsCli.REFUSED);
    assertThat(lines(reconcile.err()))
        .last()
        .asString()
        .startsWith("payments reconcile: Stripe at " + stripe + " did not answer")
        .contains("STRIPE_API_BASE");
    assertThat(reconcile.err()).doesNotContain("api.stripe.com").doesNotContain("Exception");
  }

  @Test
  void shouldSendToTheConfiguredStripeAddressWhenReconciling() throws IOException {
    // Given something answering at STRIPE_API_BASE, as Stripe does to a key it does not know
    List<String> asked = new CopyOnWriteArrayList<>();
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext(
        "/",
        exchange -> {
          asked.add(exchange.getRequestMethod() + " " + exchange.getRequestURI().getPath());
          byte[] body =
              "{\"error\":{\"type\":\"invalid_request_error\",\"message\":\"Invalid API Key\"}}"
                  .getBytes(StandardCharsets.UTF_8);
          exchange.getResponseHeaders().add("Content-Type", "application/json");
          exchange.sendResponseHeaders(401, body.length);
          exchange.getResponseBody().write(body);
          exchange.close();
        });
    server.start();
    try {
      String base = "http://127.0.0.1:" + server.getAddress().getPort();

      // When
      Cli.Result reconcile =
          cli.stripe(base, "sk_test_" + HexFormat.of().formatHex(randomBytes()))
              .run("reconcile", "--since", "1h", "--dry-run");

      // Then the request went there, not to Stripe's default address
      assertThat(reconcile.exitCode()).as(reconcile.toString()).isEqualTo(PaymentsCli.REFUSED);
      assertThat(asked).first().asString().startsWith("GET /v1/payment_intents");
    } finally {
      server.stop(0);
    }
  }

  private static List<String> lines(String text) {
    return Arrays.stream(text.split("\n")).filter(line -> !line.isBlank()).toList();
  }

  private static byte[] randomBytes() {
    byte[] bytes = new byte[24];
    new SecureRandom().nextBytes(bytes);
    return bytes;
  }

  /** A port nothing listens on: taken from the system, then given back. */
  static int closedPort() {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
