package io.marketplace.payments.local;

import io.marketplace.payments.checkout.CheckoutApi;
import io.marketplace.payments.checkout.CheckoutApiConfig;
import io.marketplace.payments.common.Closer;
import io.marketplace.payments.common.config.Env;
import io.marketplace.payments.common.db.Migrations;
import io.marketplace.payments.common.kafka.Topic;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.common.time.Clocks;
import io.marketplace.payments.embedded.EmbeddedKafka;
import io.marketplace.payments.embedded.EmbeddedPostgresServer;
import io.marketplace.payments.embedded.KafkaTopics;
import io.marketplace.payments.embedded.PortInUseException;
import io.marketplace.payments.embedded.Ports;
import io.marketplace.payments.expirer.ExpirerConfig;
import io.marketplace.payments.expirer.PromotionExpirer;
import io.marketplace.payments.gateway.GatewayConfig;
import io.marketplace.payments.gateway.WebhookGateway;
import io.marketplace.payments.processor.PaymentProcessor;
import io.marketplace.payments.processor.PaymentProcessorConfig;
import io.marketplace.payments.refunds.RefundWorker;
import io.marketplace.payments.refunds.RefundWorkerConfig;
import io.marketplace.payments.risk.RiskConfig;
import io.marketplace.payments.risk.RiskService;
import io.marketplace.payments.stripeemulator.StripeEmulator;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/**
 * The whole system in one JVM: a real KRaft broker and a real PostgreSQL (both embedded, data under
 * {@code dataDir}), the Stripe emulator, the gateway, the API and every worker, wired together
 * exactly as the services are configured in production: through the SPEC §2 environment variables,
 * here handed over as a map. Used by {@code ./payments up} and by the end-to-end tests.
 */
public final class LocalStack implements AutoCloseable {

  static final String DATABASE = "payments";

  /** Where every server of the stack listens: this machine only. */
  static final String LOOPBACK = "127.0.0.1";

  private final Closer closer;
  private final Map<String, String> env;
  private final EmbeddedKafka kafka;
  private final EmbeddedPostgresServer postgres;
  private final StripeEmulator stripe;
  private final PaymentProcessor processor;
  private final RefundWorker refunds;

  private LocalStack(
      Closer closer,
      Map<String, String> env,
      EmbeddedKafka kafka,
      EmbeddedPostgresServer postgres,
      StripeEmulator stripe,
      PaymentProcessor processor,
      RefundWorker refunds) {
    this.closer = closer;
    this.env = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(env));
    this.kafka = kafka;
    this.postgres = postgres;
    this.stripe = stripe;
    this.processor = processor;
    this.refunds = refunds;
  }

  /** The workers {@code ./payments up --without} can leave stopped: those an operator replays. */
  public enum Worker {
    PAYMENT_PROCESSOR("payment-processor"),
    REFUND_WORKER("refund-worker");

    private final String wire;

    Worker(String wire) {
      this.wire = wire;
    }

    public String wire() {
      return wire;
    }

    /** By its service name, as the consumer groups of SPEC §4 are named. */
    public static Worker of(String name) {
      for (Worker worker : values()) {
        if (worker.wire.equals(name)) {
          return worker;
        }
      }
      throw new IllegalArgumentException(
          "'"
              + name
              + "' is not a worker that can be left stopped: payment-processor, refund-worker");
    }
  }

  /**
   * Starts everything in dependency order, reporting each step to {@code progress}. On a failure,
   * whatever had started is stopped again before the exception leaves.
   */
  public static LocalStack start(Path dataDir, StackPorts ports, Consumer<String> progress) {
    return start(dataDir, ports, Set.of(), progress);
  }

  /**
   * {@link #start(Path, StackPorts, Consumer)} leaving the workers of {@code without} stopped: a
   * worker's consumer group must have no member for {@code ./payments replay} to rewind it, and
   * under {@code up} every worker runs in this process.
   */
  public static LocalStack start(
      Path dataDir, StackPorts ports, Set<Worker> without, Consumer<String> progress) {
    Closer closer = new Closer();
    // released last: nothing of this stack touches the directory once it is let go
    closer.add(DataDirLock.acquire(dataDir));
    try {
      ports.requireDistinct();
      ports.requireFreeButPostgres();
      Files.createDirectories(dataDir);
      Secrets secrets = Secrets.loadOrCreate(dataDir.resolve("secrets.properties"));

      progress.accept("starting Kafka (KRaft) ...");
      EmbeddedKafka kafka =
          closer.add(EmbeddedKafka.start(dataDir.resolve("kafka"), ports.kafka()));
      Topics topics = Topics.standard();
      KafkaTopics.createTopics(
          kafka.bootstrapServers(),
          topics.all().stream().collect(Collectors.toMap(Topic::name, Topic::partitions)),
          Topics.configs());
      progress.accept("  Kafka ready at " + kafka.bootstrapServers());

      progress.accept("starting PostgreSQL ...");
      EmbeddedPostgresServer postgres;
      try {
        // stops a PostgreSQL that a killed run left on this data directory, then takes the port
        postgres =
            closer.add(
                EmbeddedPostgresServer.start(dataDir.resolve("postgres"), ports.postgres())
                    .withoutShutdownHook());
      } catch (PortInUseException e) {
        throw new StackPorts.PortTakenException(e.port(), "--postgres-port");
      }
      postgres.createDatabase(DATABASE);
      Migrations.migrate(postgres.dataSource(DATABASE));
      progress.accept("  PostgreSQL ready at " + postgres.jdbcUrl(DATABASE) + " (migrated)");

      int gatewayPort = ports.gateway() == 0 ? freePort() : ports.gateway();
      String webhookUrl = "http://" + LOOPBACK + ":" + gatewayPort + "/webhooks/stripe";

      progress.accept("starting the Stripe emulator ...");
      Files.createDirectories(dataDir.resolve("stripe"));
      StripeEmulator stripe =
          closer.add(
              StripeEmulator.startHoldingWebhooks(
                  StripeEmulator.Config.defaults()
                      .withPort(ports.stripe())
                      // its test controls take no key: not for the network, as Kafka and
                      // PostgreSQL here are not
                      .withHost(LOOPBACK)
                      .withSecretKey(secrets.stripeSecretKey())
                      .withWebhookEndpoint(webhookUrl, secrets.webhookSecret())
                      .withWebhookRetries(Duration.ofSeconds(1), 12)
                      .withDataDir(dataDir.resolve("stripe"))));
      progress.accept("  Stripe emulator ready at " + stripe.baseUrl());

      Map<String, String> env = new LinkedHashMap<>();
      env.put("KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrapServers());
      env.put("DATABASE_URL", postgres.jdbcUrl(DATABASE));
      env.put("DATABASE_USER", postgres.user());
      env.put("DATABASE_PASSWORD", postgres.password());
      env.put("STRIPE_API_BASE", stripe.baseUrl());
      env.put("STRIPE_SECRET_KEY", secrets.stripeSecretKey());
      env.put("STRIPE_WEBHOOK_SECRET", secrets.webhookSecret());
      env.put("AUTH_JWT_SECRET", secrets.jwtSecret());
      env.put("GATEWAY_PORT", Integer.toString(gatewayPort));
      env.put("API_PORT", Integer.toString(ports.api()));
      // a refund the emulator failed is tried again within seconds, not the 10 s to 20 s a
      // production janitor leaves between rounds: someone watching a local refund sees it land
      env.put("REFUND_RETRY_INTERVAL", "2s");
      // every server on the loopback only, as the broker, PostgreSQL and the emulator are: a
      // developer's machine does not serve the API or any worker to the network it is on
      Env base = Env.of(env).with(Map.of("HTTP_BIND_ADDRESS", LOOPBACK));

      progress.accept("starting the webhook gateway ...");
      WebhookGateway gateway =
          closer.add(
              WebhookGateway.start(
                  GatewayConfig.fromEnv(admin(base, ports.gatewayAdmin())), Clocks.systemUtc()));
      // deliveries the emulator owed before a restart go out now that they have somewhere to go
      stripe.resumeWebhooks();
      progress.accept("  gateway metrics at " + gateway.adminUrl() + "/metrics");
      progress.accept("starting the checkout API ...");
      CheckoutApi api =
          closer.add(CheckoutApi.start(CheckoutApiConfig.fromEnv(admin(base, ports.apiAdmin()))));
      progress.accept("  API metrics at " + api.adminUrl() + "/metrics");
      PaymentProcessor processor = null;
      if (without.contains(Worker.PAYMENT_PROCESSOR)) {
        progress.accept("not starting the payment processor (--without)");
      } else {
        progress.accept("starting the payment processor ...");
        processor =
            closer.add(
                PaymentProcessor.start(
                    PaymentProcessorConfig.fromEnv(admin(base, ports.processor()))));
      }
      RefundWorker refunds = null;
      if (without.contains(Worker.REFUND_WORKER)) {
        progress.accept("not starting the refund worker (--without)");
      } else {
        progress.accept("starting the refund worker ...");
        refunds =
            closer.add(
                RefundWorker.start(RefundWorkerConfig.fromEnv(admin(base, ports.refunds()))));
      }
      progress.accept("starting the promotion expirer ...");
      PromotionExpirer expirer =
          closer.add(
              PromotionExpirer.start(
                  ExpirerConfig.fromEnv(admin(base, ports.expirer())), Clocks.systemUtc()));

      progress.accept("starting the risk service ...");
      RiskService risk =
          closer.add(
              RiskService.start(
                  RiskConfig.fromEnv(
                      base.with(
                          Map.of(
                              "ADMIN_PORT",
                              Integer.toString(ports.risk()),
                              "RISK_STATE_DIR",
                              dataDir.resolve("risk").toString(),
                              // one embedded broker
                              "RISK_REPLICATION_FACTOR",
                              "1"))),
                  Clocks.systemUtc()));

      env.put("GATEWAY_URL", gateway.baseUrl());
      env.put("GATEWAY_ADMIN_URL", gateway.adminUrl());
      env.put("WEBHOOK_URL", gateway.webhookUrl());
      env.put("API_URL", api.baseUrl());
      env.put("API_ADMIN_URL", api.adminUrl());
      if (processor != null) {
        env.put("PAYMENT_PROCESSOR_URL", processor.adminUrl());
      }
      if (refunds != null) {
        env.put("REFUND_WORKER_URL", refunds.baseUrl());
      }
      env.put("PROMOTION_EXPIRER_URL", expirer.baseUrl());
      env.put("PAYMENT_RISK_URL", risk.adminUrl());
      return new LocalStack(closer, env, kafka, postgres, stripe, processor, refunds);
    } catch (IOException e) {
      closer.close();
      throw new UncheckedIOException(e);
    } catch (RuntimeException e) {
      closer.close();
      throw e;
    }
  }

  private static Env admin(Env base, int port) {
    return base.with(Map.of("ADMIN_PORT", Integer.toString(port)));
  }

  private static int freePort() {
    return Ports.free();
  }

  /**
   * Every address and credential of the running system, as SPEC §7 lists them for {@code
   * .payments/env}.
   */
  public Map<String, String> env() {
    return env;
  }

  /**
   * True once both workers (those running) were given their partitions: events sent from now on are
   * consumed.
   */
  public boolean workersAssigned() {
    return (processor == null || processor.isAssigned())
        && (refunds == null || refunds.isAssigned());
  }

  public EmbeddedKafka kafka() {
    return kafka;
  }

  public EmbeddedPostgresServer postgres() {
    return postgres;
  }

  public StripeEmulator stripe() {
    return stripe;
  }

  /**
   * Writes {@link #env()} as {@code KEY=value} lines, readable by a shell's {@code .} command and
   * by the file's owner only.
   */
  public void writeEnvFile(Path file) {
    String lines =
        env.entrySet().stream()
            .map(e -> e.getKey() + "=" + e.getValue())
            .collect(Collectors.joining("\n", "", "\n"));
    try {
      // it holds every credential of the stack: readable by its owner only
      PrivateFiles.write(file, lines);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file, e);
    }
  }

  /** Stops everything in the reverse order of starting. */
  @Override
  public void close() {
    closer.close();
  }
}
