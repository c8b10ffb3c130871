package io.marketplace.payments.refunds;

import com.stripe.StripeClient;
import io.javalin.Javalin;
import io.marketplace.payments.common.Closer;
import io.marketplace.payments.common.db.Database;
import io.marketplace.payments.common.http.HealthCheck;
import io.marketplace.payments.common.http.HttpServers;
import io.marketplace.payments.common.kafka.KafkaHealth;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.common.metrics.Metrics;
import io.marketplace.payments.common.outbox.OutboxRelay;
import io.marketplace.payments.common.refund.RefundExecutor;
import io.marketplace.payments.common.time.Clocks;
import io.marketplace.payments.common.worker.StreamWorker;
import io.marketplace.payments.common.worker.StripeEventRouter;
import io.marketplace.payments.common.worker.WorkerOptions;
import io.marketplace.payments.refunds.blocked.BlockedUsersPaymentIntents;
import io.marketplace.payments.refunds.chargeback.DisputeHandler;
import io.marketplace.payments.refunds.chargeback.DisputesAwaitingPayment;
import io.marketplace.payments.refunds.moderation.ClosedListingsPaymentIntents;
import io.marketplace.payments.refunds.moderation.ModerationHandler;
import io.marketplace.payments.refunds.refund.AwaitingRoom;
import io.marketplace.payments.refunds.refund.ExternalRefunds;
import io.marketplace.payments.refunds.refund.RefundCommandHandler;
import io.marketplace.payments.refunds.refund.RefundDecisions;
import io.marketplace.payments.refunds.refund.RefundDispatcher;
import io.marketplace.payments.refunds.refund.RefundJanitor;
import io.marketplace.payments.refunds.refund.RefundsAwaitingPayment;
import io.marketplace.payments.refunds.refund.RoomOffers;
import io.marketplace.payments.refunds.refund.StripeRefundHandler;
import io.marketplace.payments.refunds.refund.WithheldDeliveries;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.jdbi.v3.core.Jdbi;

/**
 * The refund worker: automatic and manual refunds, refunds made in Stripe's dashboard, chargebacks
 * and bans. Three consumer loops, each its own consumer group so that a stuck record on one topic
 * never holds back the others, and each dedupes under its own name:
 *
 * <table>
 *   <tr><th>consumer</th><th>consumes</th><th>dedupe key</th></tr>
 *   <tr><td>{@value #STRIPE_CONSUMER}</td><td>{@code stripe.events.v1}</td>
 *       <td>Stripe event id</td></tr>
 *   <tr><td>{@value #MODERATION_CONSUMER}</td><td>{@code marketplace.moderation.v1}</td>
 *       <td>listing id, decision and decidedAt</td></tr>
 *   <tr><td>{@value #COMMANDS_CONSUMER}</td><td>{@code payments.internal.refund-commands.v1}</td>
 *       <td>command id</td></tr>
 * </table>
 *
 * Decisions commit first; Stripe is called after commit by the {@link RefundDispatcher}, and
 * whatever is left {@code approved} is retried by the {@link RefundJanitor}, whose passes also
 * count the disputes and record the dashboard refunds whose payment's row came after their events,
 * and cancel the open PaymentIntents of banned and flagged users ({@link
 * BlockedUsersPaymentIntents}) and of rejected listings ({@link ClosedListingsPaymentIntents}). An
 * {@link OutboxRelay} publishes {@code refund.requested}, {@code refund.processed}, {@code
 * refund.failed}, {@code listing.rejected}, {@code chargeback.recorded} and {@code user.banned},
 * and the payment processor's delivery commands ({@link WithheldDeliveries}).
 */
public final class RefundWorker implements AutoCloseable {

  public static final String SERVICE = "refund-worker";
  public static final String STRIPE_CONSUMER = "refund-worker";
  public static final String MODERATION_CONSUMER = "refund-worker-moderation";
  public static final String COMMANDS_CONSUMER = "refund-worker-commands";

  private static final Duration RELAY_IDLE = Duration.ofMillis(200);
  private static final int EXECUTOR_THREADS = 2;

  private final Closer closer;
  private final Javalin http;
  private final List<StreamWorker> workers;
  private final RefundJanitor janitor;
  private final RefundExecutor executor;
  private final PrometheusMeterRegistry registry;
  private final StripeEventRouter stripeRouter;

  private RefundWorker(
      Closer closer,
      Javalin http,
      List<StreamWorker> workers,
      RefundJanitor janitor,
      RefundExecutor executor,
      PrometheusMeterRegistry registry,
      StripeEventRouter stripeRouter) {
    this.closer = closer;
    this.http = http;
    this.workers = workers;
    this.janitor = janitor;
    this.executor = executor;
    this.registry = registry;
    this.stripeRouter = stripeRouter;
  }

  public static RefundWorker start(RefundWorkerConfig config) {
    PrometheusMeterRegistry registry = Metrics.newRegistry(SERVICE);
    return start(
        config,
        Clocks.systemUtc(),
        config.stripe().client(registry),
        UnaryOperator.identity(),
        registry);
  }

  /**
   * Starts with a given clock and Stripe client; {@code options} adjusts each consumer's {@link
   * WorkerOptions} (tests shorten retries).
   */
  public static RefundWorker start(
      RefundWorkerConfig config,
      Clock clock,
      StripeClient stripe,
      UnaryOperator<WorkerOptions> options) {
    return start(config, clock, stripe, options, Metrics.newRegistry(SERVICE));
  }

  private static RefundWorker start(
      RefundWorkerConfig config,
      Clock clock,
      StripeClient stripe,
      UnaryOperator<WorkerOptions> options,
      PrometheusMeterRegistry registry) {
    Closer closer = new Closer();
    try {
      Database database = closer.add(Database.open(config.db(), SERVICE)).migrate();
      Jdbi jdbi = database.jdbi();
      Topics topics = config.kafka().topics();
      Producer<String, byte[]> producer =
          closer.add(new KafkaProducer<>(OutboxRelay.producerSettings(config.kafka(), SERVICE)));
      KafkaHealth kafkaHealth = closer.add(new KafkaHealth(config.kafka(), SERVICE));

      RefundExecutor executor = new RefundExecutor(jdbi, stripe, clock, registry);
      RefundDispatcher dispatcher = closer.add(new RefundDispatcher(executor, EXECUTOR_THREADS));
      RefundDecisions decisions = new RefundDecisions(dispatcher, clock, registry);
      ExternalRefunds externalRefunds = new ExternalRefunds(executor, decisions, clock, registry);
      AwaitingRoom awaitingRoom =
          new AwaitingRoom(externalRefunds, decisions, new WithheldDeliveries(clock), clock);
      StripeRefundHandler refunds =
          new StripeRefundHandler(executor, externalRefunds, awaitingRoom, clock, registry);
      DisputeHandler disputes = new DisputeHandler(clock, awaitingRoom, registry);
      StripeEventRouter stripeRouter = stripeEvents(refunds, disputes);

      OutboxRelay relay =
          closer.add(
              new OutboxRelay(jdbi, producer, topics, RELAY_IDLE, registry, SERVICE).start());
      // what a worker's transaction wrote to the outbox is published at once, not at the next poll
      UnaryOperator<WorkerOptions> tuned = o -> options.apply(o).withAfterApplied(relay::wakeUp);
      List<StreamWorker> workers =
          List.of(
              new StreamWorker(
                  tuned.apply(WorkerOptions.of(STRIPE_CONSUMER, topics.stripeEvents())),
                  config.kafka(),
                  jdbi,
                  stripeRouter,
                  producer,
                  registry,
                  clock),
              new StreamWorker(
                  tuned.apply(WorkerOptions.of(MODERATION_CONSUMER, topics.moderation())),
                  config.kafka(),
                  jdbi,
                  new ModerationHandler(decisions, clock),
                  producer,
                  registry,
                  clock),
              new StreamWorker(
                  tuned.apply(WorkerOptions.of(COMMANDS_CONSUMER, topics.refundCommands())),
                  config.kafka(),
                  jdbi,
                  new RefundCommandHandler(decisions),
                  producer,
                  registry,
                  clock));
      for (StreamWorker worker : workers) {
        closer.add(worker).start();
      }
      RefundJanitor janitor =
          closer.add(
              new RefundJanitor(
                      jdbi,
                      executor,
                      clock,
                      config.retryInterval(),
                      config.refusedRetryInterval(),
                      List.of(
                          new DisputesAwaitingPayment(jdbi, disputes, registry),
                          new RefundsAwaitingPayment(jdbi, externalRefunds, registry),
                          new RoomOffers(jdbi, awaitingRoom, clock, registry),
                          new BlockedUsersPaymentIntents(
                              jdbi, stripe, clock, config.retryInterval(), registry),
                          new ClosedListingsPaymentIntents(
                              jdbi,
                              stripe,
                              clock,
                              config.retryInterval(),
                              config.retryInterval(),
                              registry)),
                      registry)
                  .start());
      Javalin http =
          HttpServers.create(
                  config.adminPort(),
                  config.http(),
                  registry,
                  List.of(
                      new HealthCheck("kafka", kafkaHealth::isReachable),
                      new HealthCheck("database", database::isReachable),
                      new HealthCheck(
                          "workers",
                          () -> workers.stream().allMatch(StreamWorker::isHealthy),
                          () -> workers.stream().allMatch(StreamWorker::isAlive)),
                      // retries approved refunds and runs the catch-up passes: one that stopped
                      // for good is restarted with the process
                      new HealthCheck("janitor", janitor::isAlive, janitor::isAlive)),
                  routes -> {})
              .start();
      closer.add(http::stop);
      return new RefundWorker(closer, http, workers, janitor, executor, registry, stripeRouter);
    } catch (RuntimeException e) {
      closer.close();
      throw e;
    }
  }

  /** What happens on each Stripe event type; every other type is passed over untouched. */
  static StripeEventRouter stripeEvents(StripeRefundHandler refunds, DisputeHandler disputes) {
    return StripeEventRouter.of(
        Map.of(
            "refund.created", refunds::onRefund,
            "refund.updated", refunds::onRefund,
            "refund.failed", refunds::onRefund,
            "charge.refund.updated", refunds::onRefund,
            "charge.refunded", refunds::onChargeRefunded,
            "charge.dispute.created", disputes::onDispute,
            "charge.dispute.updated", disputes::onDispute,
            "charge.dispute.closed", disputes::onDispute,
            "charge.dispute.funds_withdrawn", disputes::onDispute,
            "charge.dispute.funds_reinstated", disputes::onDispute));
  }

  /** True for the Stripe event types this worker acts on; it passes over every other type. */
  public boolean handlesStripeEvent(String type) {
    return stripeRouter.handles(type);
  }

  /** The admin port (health and metrics). */
  public int port() {
    return http.port();
  }

  public String baseUrl() {
    return HttpServers.localUrl(http);
  }

  /** True once every consumer has its partitions: tests wait for it before producing. */
  public boolean isAssigned() {
    return workers.stream().allMatch(StreamWorker::isAssigned);
  }

  public boolean isHealthy() {
    return workers.stream().allMatch(StreamWorker::isHealthy);
  }

  /** The executor this worker uses, for an operator's or a test's direct retry. */
  public RefundExecutor executor() {
    return executor;
  }

  /** Runs one janitor pass now. */
  public int retryApprovedRefunds() {
    return janitor.runOnce();
  }

  public PrometheusMeterRegistry registry() {
    return registry;
  }

  @Override
  public void close() {
    // the workers stop side by side; the closer then waits for each in turn
    workers.forEach(StreamWorker::requestStop);
    closer.close();
  }
}
