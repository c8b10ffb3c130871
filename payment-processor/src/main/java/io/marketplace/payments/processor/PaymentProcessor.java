package io.marketplace.payments.processor;

import io.javalin.Javalin;
import io.marketplace.payments.common.Closer;
import io.marketplace.payments.common.db.Database;
import io.marketplace.payments.common.http.HealthCheck;
import io.marketplace.payments.common.http.HttpServers;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.kafka.KafkaHealth;
import io.marketplace.payments.common.metrics.Metrics;
import io.marketplace.payments.common.outbox.OutboxRelay;
import io.marketplace.payments.common.time.Clocks;
import io.marketplace.payments.common.worker.StreamWorker;
import io.marketplace.payments.common.worker.WorkerOptions;
import io.marketplace.payments.processor.audit.WebhookEvents;
import io.marketplace.payments.processor.batch.CompleteBeforeCommit;
import io.marketplace.payments.processor.batch.EventBatch;
import io.marketplace.payments.processor.listing.ListingActivation;
import io.marketplace.payments.processor.payment.DeliveryCommandHandler;
import io.marketplace.payments.processor.payment.PaymentCanceledHandler;
import io.marketplace.payments.processor.payment.PaymentFailedHandler;
import io.marketplace.payments.processor.payment.PaymentMetrics;
import io.marketplace.payments.processor.payment.PaymentSucceededHandler;
import io.marketplace.payments.processor.promotion.Promotions;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.jdbi.v3.core.Jdbi;

/**
 * The payment processor: consumes {@code stripe.events.v1} and applies each Stripe event once
 * (payments, listings, promotions, with their {@code payments.events.v1} events and refund commands
 * through the outbox), and {@code payments.internal.delivery-commands.v1}, the refund worker's
 * requests to deliver a purchase held back while its money was gone (a consumer of its own, {@link
 * PaymentProcessorConfig#deliveryConsumer}); serves health and metrics on the admin port.
 */
public final class PaymentProcessor implements AutoCloseable {

  private static final Duration RELAY_IDLE = Duration.ofMillis(100);

  private final Closer closer;
  private final Javalin admin;
  private final List<StreamWorker> workers;

  private PaymentProcessor(Closer closer, Javalin admin, List<StreamWorker> workers) {
    this.closer = closer;
    this.admin = admin;
    this.workers = List.copyOf(workers);
  }

  public static PaymentProcessor start(PaymentProcessorConfig config) {
    return start(config, Clocks.systemUtc(), UnaryOperator.identity());
  }

  /**
   * Starts the service with an explicit clock and worker options (tests use them to fix time, to
   * shorten retries, and to stop the worker between its database commit and its offset commit).
   */
  public static PaymentProcessor start(
      PaymentProcessorConfig config, Clock clock, UnaryOperator<WorkerOptions> tuning) {
    Closer closer = new Closer();
    try {
      PrometheusMeterRegistry registry = Metrics.newRegistry(PaymentProcessorConfig.SERVICE);
      Database database =
          closer.add(Database.open(config.database(), PaymentProcessorConfig.SERVICE).migrate());
      KafkaHealth kafkaHealth =
          closer.add(new KafkaHealth(config.kafka(), PaymentProcessorConfig.SERVICE));
      Producer<String, byte[]> producer =
          closer.add(
              new KafkaProducer<>(
                  OutboxRelay.producerSettings(config.kafka(), PaymentProcessorConfig.SERVICE)));

      PaymentMetrics metrics = new PaymentMetrics(registry);
      OutboxRelay relay =
          new OutboxRelay(
              database.jdbi(),
              producer,
              config.kafka().topics(),
              RELAY_IDLE,
              registry,
              PaymentProcessorConfig.SERVICE);
      // what a worker's transaction wrote to the outbox is published at once, not at the next poll
      WorkerOptions options =
          tuning
              .apply(WorkerOptions.of(config.consumer(), config.kafka().topics().stripeEvents()))
              .withAfterApplied(relay::wakeUp);
      List<StreamWorker> workers = new ArrayList<>();
      for (int i = 0; i < config.workers(); i++) {
        StripeEventHandlers handlers = handlers(config, clock, database, metrics);
        workers.add(
            closer.add(
                new StreamWorker(
                        options,
                        config.kafka(),
                        handlers.jdbi(),
                        handlers,
                        producer,
                        registry,
                        clock)
                    .start()));
      }
      workers.add(
          closer.add(
              new StreamWorker(
                      tuning
                          .apply(
                              WorkerOptions.of(
                                  config.deliveryConsumer(),
                                  config.kafka().topics().deliveryCommands()))
                          .withAfterApplied(relay::wakeUp),
                      config.kafka(),
                      database.jdbi(),
                      new DeliveryCommandHandler(succeededHandler(config, clock, metrics)),
                      producer,
                      registry,
                      clock)
                  .start()));
      closer.add(relay.start());

      Javalin admin =
          HttpServers.create(
                  config.adminPort(),
                  config.http(),
                  registry,
                  List.of(
                      new HealthCheck("kafka", kafkaHealth::isReachable),
                      new HealthCheck("database", database::isReachable),
                      new HealthCheck(
                          "worker",
                          () -> workers.stream().allMatch(StreamWorker::isHealthy),
                          () -> workers.stream().allMatch(StreamWorker::isAlive))),
                  routes -> {})
              .start();
      closer.add(admin::stop);
      return new PaymentProcessor(closer, admin, workers);
    } catch (RuntimeException e) {
      closer.close();
      throw e;
    }
  }

  /**
   * One worker's table of handlers, on a Jdbi of its own whose transactions apply the poll's events
   * as one batch just before they commit (see {@link EventBatch}). Workers share nothing mutable.
   * Package-private for tests that run a worker's transactions themselves.
   */
  static StripeEventHandlers handlers(
      PaymentProcessorConfig config, Clock clock, Database database, PaymentMetrics metrics) {
    WebhookEvents audit = new WebhookEvents(clock);
    EventBatch batch = new EventBatch(audit);
    Jdbi jdbi = Database.jdbi(database.dataSource(), Json.mapper());
    jdbi.setTransactionHandler(new CompleteBeforeCommit(jdbi.getTransactionHandler(), batch));
    return new StripeEventHandlers(
        succeededHandler(config, clock, metrics),
        new PaymentFailedHandler(metrics),
        new PaymentCanceledHandler(),
        batch,
        audit,
        jdbi);
  }

  private static PaymentSucceededHandler succeededHandler(
      PaymentProcessorConfig config, Clock clock, PaymentMetrics metrics) {
    return new PaymentSucceededHandler(
        new ListingActivation(config.listingTtl()), new Promotions(), metrics, clock);
  }

  /** The admin port (health and metrics). */
  public int port() {
    return admin.port();
  }

  public String adminUrl() {
    return HttpServers.localUrl(admin);
  }

  /** True once the consumer group assigned every worker its partitions. */
  public boolean isAssigned() {
    return workers.stream().allMatch(StreamWorker::isAssigned);
  }

  /** False once any worker stopped on a fatal error. */
  public boolean isHealthy() {
    return workers.stream().allMatch(StreamWorker::isHealthy);
  }

  @Override
  public void close() {
    // the workers stop side by side; the closer then waits for each in turn
    workers.forEach(StreamWorker::requestStop);
    closer.close();
  }
}
