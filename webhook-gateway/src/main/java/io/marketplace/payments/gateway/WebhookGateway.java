package io.marketplace.payments.gateway;

import io.javalin.Javalin;
import io.javalin.compression.CompressionStrategy;
import io.javalin.config.JavalinConfig;
import io.marketplace.payments.common.Closer;
import io.marketplace.payments.common.http.HealthCheck;
import io.marketplace.payments.common.http.HttpServers;
import io.marketplace.payments.common.kafka.KafkaHealth;
import io.marketplace.payments.common.metrics.Metrics;
import io.marketplace.payments.gateway.webhook.EventPublisher;
import io.marketplace.payments.gateway.webhook.GatewayMetrics;
import io.marketplace.payments.gateway.webhook.SignatureVerifier;
import io.marketplace.payments.gateway.webhook.WebhookController;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The webhook gateway: verifies Stripe's webhooks and publishes them durably to {@code
 * stripe.events.v1} (SPEC §3, §4). Stateless; it holds a Kafka producer and nothing else, so any
 * number of replicas can run side by side.
 */
public final class WebhookGateway implements AutoCloseable {

  public static final String SERVICE = "webhook-gateway";

  private static final Logger log = LoggerFactory.getLogger(WebhookGateway.class);

  /** Larger than the 1 MiB SPEC allows, so that our own check answers first, as a problem. */
  private static final long JAVALIN_MAX_REQUEST_SIZE = 2L * 1024 * 1024;

  private final Javalin app;
  private final Javalin admin;
  private final Closer closer;

  private WebhookGateway(Javalin app, Javalin admin, Closer closer) {
    this.app = app;
    this.admin = admin;
    this.closer = closer;
  }

  public static WebhookGateway start(GatewayConfig config) {
    return start(config, Clock.systemUTC());
  }

  /** Starts the gateway; {@code clock} decides which signature timestamps are stale. */
  public static WebhookGateway start(GatewayConfig config, Clock clock) {
    Closer closer = new Closer();
    try {
      PrometheusMeterRegistry registry = Metrics.newRegistry(SERVICE);
      closer.add(registry::close);
      GatewayMetrics metrics = new GatewayMetrics(registry);
      KafkaHealth kafkaHealth = closer.add(new KafkaHealth(config.kafka(), SERVICE));
      EventPublisher publisher =
          closer.add(EventPublisher.create(config.kafka(), SERVICE, metrics));
      ExecutorService requests =
          closer.add(
              Executors.newThreadPerTaskExecutor(
                  Thread.ofVirtual().name("gateway-request-", 0).factory()));
      WebhookController webhooks =
          new WebhookController(
              new SignatureVerifier(config.webhookSecrets(), clock),
              publisher,
              metrics,
              clock,
              config.liveModeOnly());
      List<HealthCheck> readiness = List.of(new HealthCheck("kafka", kafkaHealth::isReachable));
      // metrics on the admin port only: the public port is open to the internet (SPEC §3)
      Javalin admin =
          HttpServers.createAdmin(
              config.adminPort(), config.http().bindAddress(), registry, readiness);
      closer.add(admin::stop);
      admin.start();
      // a webhook's body must arrive within GATEWAY_BODY_TIMEOUT: the public port's body deadline
      Javalin app =
          HttpServers.createPublic(
              config.port(),
              config.http().withBodyTimeout(config.bodyTimeout()),
              registry,
              readiness,
              http -> {
                serverSettings(http, requests);
                webhooks.routes(http);
              });
      // the server stops first, so requests waiting for an acknowledgement still get it
      closer.add(app::stop);
      app.start();
      log.info(
          "{} listening on port {} (admin port {}), publishing to {} with {} webhook secret(s)",
          SERVICE,
          app.port(),
          admin.port(),
          config.kafka().topics().stripeEvents(),
          config.webhookSecrets().size());
      return new WebhookGateway(app, admin, closer);
    } catch (RuntimeException e) {
      closer.close();
      throw e;
    }
  }

  /**
   * Jetty's selectors on a few platform threads and every request on a virtual thread of its own: a
   * request blocks only while it waits for the broker, and thousands can wait at once for the price
   * of their stacks.
   */
  private static void serverSettings(JavalinConfig config, ExecutorService requests) {
    QueuedThreadPool pool = new QueuedThreadPool(64, 4);
    pool.setName("gateway-http");
    pool.setVirtualThreadsExecutor(requests);
    config.jetty.threadPool = pool;
    // on shutdown, stop accepting and let requests that wait for the broker get their answer
    config.jetty.modifyServer(
        server -> server.setStopTimeout(EventPublisher.ACK_TIMEOUT.plusSeconds(1).toMillis()));
    config.http.maxRequestSize = JAVALIN_MAX_REQUEST_SIZE;
    // answers are a few bytes, and compressing a Prometheus scrape is not worth a wrapper around
    // every response
    config.http.compressionStrategy = CompressionStrategy.NONE;
  }

  public int port() {
    return app.port();
  }

  /** The admin port: health and metrics. */
  public int adminPort() {
    return admin.port();
  }

  /** Where Prometheus scrapes {@code /metrics}. */
  public String adminUrl() {
    return HttpServers.localUrl(admin);
  }

  public String baseUrl() {
    return HttpServers.localUrl(app);
  }

  /** Where Stripe (or the emulator) sends webhooks. */
  public String webhookUrl() {
    return baseUrl() + WebhookController.PATH;
  }

  @Override
  public void close() {
    closer.close();
  }
}
