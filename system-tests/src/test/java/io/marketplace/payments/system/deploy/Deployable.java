package io.marketplace.payments.system.deploy;

import io.marketplace.payments.checkout.CheckoutApi;
import io.marketplace.payments.checkout.CheckoutApiConfig;
import io.marketplace.payments.common.config.Env;
import io.marketplace.payments.common.db.DbConfig;
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
import java.time.Clock;
import java.util.function.Function;
import java.util.function.ToIntFunction;

/**
 * The services as the code defines them: the module an image is built from, the class its container
 * runs, how it reads its configuration, the port it then listens on, and how it starts. The
 * manifests are checked against these, never against each other alone.
 */
enum Deployable {
  WEBHOOK_GATEWAY(
      "webhook-gateway",
      io.marketplace.payments.gateway.Main.class,
      env -> GatewayConfig.fromEnv(env).port(),
      env -> {
        WebhookGateway gateway =
            WebhookGateway.start(GatewayConfig.fromEnv(env), Clock.systemUTC());
        return new Running(gateway, gateway.port(), gateway.adminPort());
      }),
  CHECKOUT_API(
      "checkout-api",
      io.marketplace.payments.checkout.Main.class,
      env -> CheckoutApiConfig.fromEnv(env).port(),
      env -> {
        CheckoutApi api = CheckoutApi.start(CheckoutApiConfig.fromEnv(env));
        return new Running(api, api.port(), api.adminPort());
      }),
  PAYMENT_PROCESSOR(
      "payment-processor",
      io.marketplace.payments.processor.Main.class,
      env -> PaymentProcessorConfig.fromEnv(env).adminPort(),
      env -> {
        PaymentProcessor processor = PaymentProcessor.start(PaymentProcessorConfig.fromEnv(env));
        return new Running(processor, processor.port(), processor.port());
      }),
  REFUND_WORKER(
      "refund-worker",
      io.marketplace.payments.refunds.Main.class,
      env -> RefundWorkerConfig.fromEnv(env).adminPort(),
      env -> {
        RefundWorker worker = RefundWorker.start(RefundWorkerConfig.fromEnv(env));
        return new Running(worker, worker.port(), worker.port());
      }),
  PROMOTION_EXPIRER(
      "promotion-expirer",
      io.marketplace.payments.expirer.Main.class,
      env -> ExpirerConfig.fromEnv(env).adminPort(),
      env -> {
        PromotionExpirer expirer =
            PromotionExpirer.start(ExpirerConfig.fromEnv(env), Clock.systemUTC());
        return new Running(expirer, expirer.port(), expirer.port());
      }),
  PAYMENT_RISK(
      "payment-risk",
      io.marketplace.payments.risk.Main.class,
      env -> RiskConfig.fromEnv(env).adminPort(),
      env -> {
        RiskService risk = RiskService.start(RiskConfig.fromEnv(env), Clock.systemUTC());
        return new Running(risk, risk.adminPort(), risk.adminPort());
      });

  /**
   * A started service, the port it listens on and its admin port (health and metrics; the same port
   * but for the gateway and the API, whose public ports serve no metrics).
   */
  record Running(AutoCloseable service, int port, int adminPort) implements AutoCloseable {
    @Override
    public void close() throws Exception {
      service.close();
    }
  }

  final String module;
  final Class<?> mainClass;
  private final ToIntFunction<Env> port;
  private final Function<Env, Running> starter;

  Deployable(
      String module, Class<?> mainClass, ToIntFunction<Env> port, Function<Env, Running> starter) {
    this.module = module;
    this.mainClass = mainClass;
    this.port = port;
    this.starter = starter;
  }

  /**
   * Reads the configuration exactly as the service's {@code Main} does; throws as it would at
   * start, e.g. with "missing required environment variable X". Returns the port it would use.
   */
  int configuredPort(Env env) {
    return port.applyAsInt(env);
  }

  /**
   * The port Prometheus scrapes {@code /metrics} on and the kubelet probes: the admin port, which
   * for the workers is the only one; the gateway's and the API's public ports serve no metrics.
   */
  int metricsPort(Env env) {
    return switch (this) {
      case WEBHOOK_GATEWAY -> GatewayConfig.fromEnv(env).adminPort();
      case CHECKOUT_API -> CheckoutApiConfig.fromEnv(env).adminPort();
      default -> configuredPort(env);
    };
  }

  /**
   * Where and with how large a pool the service connects to PostgreSQL, read from {@code env} as
   * its {@code Main} reads it; null for the gateway, which has no database.
   */
  DbConfig database(Env env) {
    return switch (this) {
      case WEBHOOK_GATEWAY -> null;
      case CHECKOUT_API -> CheckoutApiConfig.fromEnv(env).db();
      case PAYMENT_PROCESSOR -> PaymentProcessorConfig.fromEnv(env).database();
      case REFUND_WORKER -> RefundWorkerConfig.fromEnv(env).db();
      case PROMOTION_EXPIRER -> ExpirerConfig.fromEnv(env).db();
      case PAYMENT_RISK -> RiskConfig.fromEnv(env).db();
    };
  }

  /**
   * How many pooled connections the service's threads hold at once at most, with the configuration
   * {@code env} gives it: each of those threads holds one at a time (none takes a second connection
   * while it holds one), so a pool of at least this many never starves one of them. Counted from
   * the code that starts them; a thread that queries PostgreSQL added there is added here.
   */
  int threadsUsingThePool(Env env) {
    return switch (this) {
      case WEBHOOK_GATEWAY -> 0;
      // the outbox relay; the housekeeping thread (idempotency keys purged and released); the
      // readiness checks of the API server and of the admin server, each one at a time; and one
      // request at least: requests share what is left of the pool (a request that waits 5 s for a
      // connection is answered 503 with Retry-After), since Jetty runs up to 250 at once
      case CHECKOUT_API -> 1 + 1 + 2 + 1;
      // a consumer of stripe.events.v1 per PROCESSOR_WORKERS, the consumer of delivery commands,
      // the outbox relay, the readiness check
      case PAYMENT_PROCESSOR -> PaymentProcessorConfig.fromEnv(env).workers() + 1 + 1 + 1;
      // a consumer per topic (Stripe events, moderation, refund commands), the outbox relay, the
      // janitor, the two threads that run approved refunds (RefundWorker.EXECUTOR_THREADS), the
      // readiness check
      case REFUND_WORKER -> 3 + 1 + 1 + 2 + 1;
      // the scheduler's pass, the outbox relay, the readiness check
      case PROMOTION_EXPIRER -> 1 + 1 + 1;
      // the flag worker's consumer of risk.signals.v1, its outbox relay, the readiness check
      // (Kafka Streams keeps its state in Kafka and RocksDB, not in PostgreSQL)
      case PAYMENT_RISK -> 1 + 1 + 1;
    };
  }

  /**
   * The sessions the service opens beside its pool, at most at once: checkout-api's lock that shows
   * its Idempotency-Key claims alive (ClaimOwner), the expirer's lock of a pass (PassLock). The
   * schema migration's session at start (one: Flyway's lock is taken per session, see Migrations)
   * is closed before anything else uses the database, while the pool has opened at most its two
   * idle connections, so it never adds to a pool of three or more.
   */
  int sessionsBesideThePool() {
    return switch (this) {
      case CHECKOUT_API, PROMOTION_EXPIRER -> 1;
      default -> 0;
    };
  }

  Running start(Env env) {
    return starter.apply(env);
  }

  static Deployable ofModule(String module) {
    for (Deployable deployable : values()) {
      if (deployable.module.equals(module)) {
        return deployable;
      }
    }
    throw new IllegalArgumentException("no service module " + module);
  }
}
