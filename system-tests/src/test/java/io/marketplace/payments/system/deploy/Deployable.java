package io.marketplace.payments.system.deploy;

import io.marketplace.payments.checkout.CheckoutApi;
import io.marketplace.payments.checkout.CheckoutApiConfig;
import io.marketplace.payments.common.config.Env;
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
