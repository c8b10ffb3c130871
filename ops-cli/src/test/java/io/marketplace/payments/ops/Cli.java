package io.marketplace.payments.ops;

import io.marketplace.payments.common.config.Env;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.testsupport.TestDatabase;
import io.marketplace.payments.testsupport.TestInfra;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.time.Clock;
import java.util.HashMap;
import java.util.Map;
import picocli.CommandLine;

/** Runs {@code payments} in the test JVM as an operator would, and captures what it prints. */
public final class Cli {

  /** What a run printed and how it exited. */
  public record Result(int exitCode, String out, String err) {
    @Override
    public String toString() {
      return "exit " + exitCode + "\n--- out\n" + out + "--- err\n" + err;
    }
  }

  private final Map<String, String> env = new HashMap<>();
  private Clock clock = Clock.systemUTC();

  public Cli set(String name, String value) {
    env.put(name, value);
    return this;
  }

  public Cli clock(Clock clock) {
    this.clock = clock;
    return this;
  }

  /** The variables a deployment with {@code topics} on the test broker exports. */
  public Cli kafka(Topics topics) {
    String stripe = topics.stripeEvents().name();
    set("KAFKA_BOOTSTRAP_SERVERS", TestInfra.kafka().bootstrapServers());
    return set(
        "KAFKA_TOPIC_PREFIX", stripe.substring(0, stripe.length() - "stripe.events.v1".length()));
  }

  public Cli database(TestDatabase db) {
    set("DATABASE_URL", db.url());
    set("DATABASE_USER", db.user());
    return set("DATABASE_PASSWORD", db.password());
  }

  public Cli stripe(String apiBase, String secretKey) {
    set("STRIPE_API_BASE", apiBase);
    return set("STRIPE_SECRET_KEY", secretKey);
  }

  /** A port nothing listens on, for the address of a system that is not running. */
  public static int closedPort() {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public Result run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli = PaymentsCli.commandLine(new OpsContext(Env.of(Map.copyOf(env)), clock));
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    int code = cli.execute(args);
    Result result = new Result(code, out.toString(), err.toString());
    // into the test's output file: what the operator would have seen
    System.out.println("$ payments " + String.join(" ", args) + "\n" + result);
    return result;
  }
}
