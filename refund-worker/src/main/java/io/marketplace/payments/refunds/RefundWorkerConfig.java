package io.marketplace.payments.refunds;

import io.marketplace.payments.common.config.Env;
import io.marketplace.payments.common.db.DbConfig;
import io.marketplace.payments.common.http.HttpConfig;
import io.marketplace.payments.common.kafka.KafkaConfig;
import io.marketplace.payments.common.stripe.StripeConfig;
import java.time.Duration;

/**
 * Everything the refund worker reads from the environment (SPEC §2).
 *
 * @param adminPort health and metrics ({@code ADMIN_PORT}, default 8083; 0 picks a free port)
 * @param retryInterval how often approved refunds that Stripe has not confirmed are retried ({@code
 *     REFUND_RETRY_INTERVAL}, default 10 s)
 * @param refusedRetryInterval how often a refund Stripe refused is tried again ({@code
 *     REFUND_REFUSED_RETRY_INTERVAL}, default 1 h)
 * @param http the admin server's limits and bind address ({@code HTTP_*})
 */
public record RefundWorkerConfig(
    KafkaConfig kafka,
    DbConfig db,
    StripeConfig stripe,
    int adminPort,
    Duration retryInterval,
    Duration refusedRetryInterval,
    HttpConfig http) {

  public static final int DEFAULT_ADMIN_PORT = 8083;

  /** A configuration whose admin server has the default limits, on every interface. */
  public RefundWorkerConfig(
      KafkaConfig kafka,
      DbConfig db,
      StripeConfig stripe,
      int adminPort,
      Duration retryInterval,
      Duration refusedRetryInterval) {
    this(kafka, db, stripe, adminPort, retryInterval, refusedRetryInterval, HttpConfig.defaults());
  }

  public static RefundWorkerConfig fromEnv(Env env) {
    return new RefundWorkerConfig(
        KafkaConfig.fromEnv(env),
        DbConfig.fromEnv(env),
        StripeConfig.fromEnv(env),
        env.integer("ADMIN_PORT", DEFAULT_ADMIN_PORT),
        env.duration("REFUND_RETRY_INTERVAL", Duration.ofSeconds(10)),
        env.duration("REFUND_REFUSED_RETRY_INTERVAL", Duration.ofHours(1)),
        HttpConfig.fromEnv(env));
  }

  public RefundWorkerConfig withAdminPort(int port) {
    return new RefundWorkerConfig(
        kafka, db, stripe, port, retryInterval, refusedRetryInterval, http);
  }

  public RefundWorkerConfig withRetryInterval(Duration interval) {
    return new RefundWorkerConfig(
        kafka, db, stripe, adminPort, interval, refusedRetryInterval, http);
  }
}
