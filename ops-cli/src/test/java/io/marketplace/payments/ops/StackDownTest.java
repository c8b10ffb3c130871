package io.marketplace.payments.ops;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;

/**
 * The commands against a system that is not running (a fresh machine before {@code ./payments up},
 * a wrong address): each says in one line which address did not answer, and after how long (the
 * {@code KAFKA_COMMAND_TIMEOUT} given), without a stack trace. They run at the same time: each only
 * waits for a client to give up.
 */
@Execution(ExecutionMode.CONCURRENT)
class StackDownTest {

  private final int closed = Cli.closedPort();
  private final String kafka = "127.0.0.1:" + closed;
  private final String stripe = "http://127.0.0.1:" + closed;
  private final Cli cli =
      new Cli()
          .set("KAFKA_BOOTSTRAP_SERVERS", kafka)
          .set("KAFKA_COMMAND_TIMEOUT", "3s")
          .set("DATABASE_URL", "jdbc:postgresql://127.0.0.1:" + closed + "/payments")
          .set("DATABASE_USER", "payments")
          .set("DATABASE_PASSWORD", "Vq8yT3nKp0ZrW6sLx2Jd")
          .stripe(stripe, "sk_test_" + HexFormat.of().formatHex(randomBytes()));

  @Test
  void shouldSayInOneLineThatKafkaDidNotAnswerWhenListingDeadLetters() {
    // When
    Cli.Result list = cli.run("dlq", "list");

    // Then
    assertKafkaDidNotAnswer(list, "payments dlq list");
  }

  @Test
  void shouldSayInOneLineThatKafkaDidNotAnswerWhenRedrivingDeadLetters() {
    // When
    Cli.Result redrive = cli.run("dlq", "redrive", "--all", "--dry-run");

    // Then
    assertKafkaDidNotAnswer(redrive, "payments dlq redrive");
  }

  @Test
  void shouldSayInOneLineThatTheDatabaseFailedWhenRedrivingDeadLetters() {
    // Given Kafka up, with the deployment's topics, and PostgreSQL down
    Cli kafkaUp =
        new Cli()
            .kafka(io.marketplace.payments.testsupport.TestInfra.freshTopics())
            .set("KAFKA_COMMAND_TIMEOUT", "3s")
            .set("DATABASE_URL", "jdbc:postgresql://127.0.0.1:" + closed + "/payments")
            .set("DATABASE_USER", "payments")
            .set("DATABASE_PASSWORD", "Vq8yT3nKp0ZrW6sLx2Jd");

    // When
    Cli.Result redrive = kafkaUp.run("dlq", "redrive", "--all");

    // Then one line says the database failed and that nothing was sent, without a stack trace
    assertThat(redrive.exitCode()).as(redrive.toString()).isEqualTo(PaymentsCli.REFUSED);
    List<String> lines = lines(redrive.err());
    assertThat(lines.getLast())
        .as(redrive.toString())
        .startsWith("payments dlq redrive: the database failed")
        .contains("DATABASE_URL")
        .contains("nothing else was sent");
    assertThat(redrive.err()).doesNotContain("\tat ");
  }

  @Test
  void shouldSayInOneLineThatKafkaDidNotAnswerWhenReplaying() {
    // When
    Cli.Result replay =
        cli.run("replay", "--consumer", "payment-processor", "--to-earliest", "--dry-run");

    // Then
    assertKafkaDidNotAnswer(replay, "payments replay");
  }

  @Test
  void shouldSayInOneLineThatKafkaCannotBeFoundWhenItsHostNameDoesNotResolve() {
    // Given a bootstrap address whose host name resolves to nothing (a typo in the env file)
    Cli typo = cli.set("KAFKA_BOOTSTRAP_SERVERS", "kafak.invalid:9092");

    // When
    Cli.Result list = typo.run("dlq", "list");

    // Then one line names the variable and the address, and nothing else is printed
    assertThat(list.exitCode()).as(list.toString()).isEqualTo(PaymentsCli.USAGE);
    assertThat(lines(list.err()))
        .as(list.toString())
        .singleElement()
        .asString()
        .startsWith("payments dlq list: KAFKA_BOOTSTRAP_SERVERS (kafak.invalid:9092)")
        .contains("resolv");
  }

  @Test
  void shouldRefuseAKafkaCommandTimeoutThatIsNotPositive() {
    // Given a timeout of nothing: every answer of Kafka, an acknowledgement included, would be
    // reported missing, a record sent reported not sent
    for (String timeout : List.of("0s", "-5s")) {
      cli.set("KAFKA_COMMAND_TIMEOUT", timeout);

      // When
      Cli.Result lag = cli.run("lag");
      Cli.Result redrive = cli.run("dlq", "redrive", "--all");
      Cli.Result reconcile = cli.run("reconcile", "--since", "1h");

      // Then each names the variable in one line, before it asks anything of Kafka or Stripe
      for (Cli.Result result : List.of(lag, redrive, reconcile)) {
        assertThat(result.exitCode()).as(result.toString()).isEqualTo(PaymentsCli.USAGE);
        assertThat(lines(result.err()))
            .as(result.toString())
            .singleElement()
            .asString()
            .contains("invalid environment variable KAFKA_COMMAND_TIMEOUT: must be positive");
      }
    }
  }

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

  private void assertKafkaDidNotAnswer(Cli.Result result, String command) {
    assertThat(result.exitCode()).as(result.toString()).isEqualTo(PaymentsCli.REFUSED);
    // one line says why, after what the command was doing
    List<String> lines = lines(result.err());
    assertThat(lines.stream().filter(line -> line.startsWith(command + ":")))
        .as(result.toString())
        .hasSize(1);
    assertThat(lines.getLast())
        .startsWith(command + ": Kafka at " + kafka + " did not answer within 3 s")
        .contains("KAFKA_BOOTSTRAP_SERVERS");
    assertThat(result.err()).doesNotContain("Exception");
  }

  private static List<String> lines(String text) {
    return Arrays.stream(text.split("\n")).filter(line -> !line.isBlank()).toList();
  }

  private static byte[] randomBytes() {
    byte[] bytes = new byte[24];
    new SecureRandom().nextBytes(bytes);
    return bytes;
  }
}
