package io.marketplace.payments.processor;

import io.marketplace.payments.common.config.Env;
import io.marketplace.payments.common.config.InvalidConfigException;
import io.marketplace.payments.common.db.DbConfig;
import io.marketplace.payments.common.http.HttpConfig;
import io.marketplace.payments.common.kafka.KafkaConfig;
import java.time.Duration;
import java.util.Objects;

/**
 * What the payment processor needs (SPEC §2).
 *
 * @param consumer the consumer group, also the name under which applied events are recorded
 * @param listingTtl how long a listing stays active after its posting fee is paid
 * @param adminPort health and metrics port (0 picks a free one)
 * @param workers consumer threads in the group (PROCESSOR_WORKERS, default 2): each takes a share
 *     of the partitions and its own database connection, so applying events uses both cores
 * @param http the admin server's limits and bind address ({@code HTTP_*})
 */
public record PaymentProcessorConfig(
    KafkaConfig kafka,
    DbConfig database,
    String consumer,
    Duration listingTtl,
    int adminPort,
    int workers,
    HttpConfig http) {

  public static final String SERVICE = "payment-processor";

  /**
   * The consumer group of {@code payments.internal.delivery-commands.v1}, after {@link #consumer}.
   */
  public static final String DELIVERIES_SUFFIX = "-deliveries";

  /** Consumer threads unless PROCESSOR_WORKERS says otherwise: one per core of a 2-core host. */
  public static final int DEFAULT_WORKERS = 2;

  /** The longest listing lifetime: ten years, well inside what PostgreSQL stores. */
  public static final int MAX_LISTING_TTL_DAYS = 3650;

  public PaymentProcessorConfig {
    Objects.requireNonNull(kafka, "kafka");
    Objects.requireNonNull(database, "database");
    Objects.requireNonNull(consumer, "consumer");
    if (listingTtl.isNegative() || listingTtl.isZero()) {
      throw new IllegalArgumentException("listingTtl must be positive");
    }
    if (workers < 1) {
      throw new IllegalArgumentException("at least one worker");
    }
    Objects.requireNonNull(http, "http");
  }

  /** A configuration whose admin server has the default limits, on every interface. */
  public PaymentProcessorConfig(
      KafkaConfig kafka,
      DbConfig database,
      String consumer,
      Duration listingTtl,
      int adminPort,
      int workers) {
    this(kafka, database, consumer, listingTtl, adminPort, workers, HttpConfig.defaults());
  }

  /** A configuration with the default number of workers. */
  public PaymentProcessorConfig(
      KafkaConfig kafka, DbConfig database, String consumer, Duration listingTtl, int adminPort) {
    this(kafka, database, consumer, listingTtl, adminPort, DEFAULT_WORKERS);
  }

  /**
   * The consumer group, and the name applied commands are recorded under, of the worker that reads
   * {@code payments.internal.delivery-commands.v1}: {@code payment-processor-deliveries}.
   */
  public String deliveryConsumer() {
    return consumer + DELIVERIES_SUFFIX;
  }

  /** The same configuration with {@code count} consumer threads. */
  public PaymentProcessorConfig withWorkers(int count) {
    return new PaymentProcessorConfig(
        kafka, database, consumer, listingTtl, adminPort, count, http);
  }

  public static PaymentProcessorConfig fromEnv(Env env) {
    int ttlDays = env.integer("LISTING_TTL_DAYS", 30);
    if (ttlDays < 1) {
      throw new InvalidConfigException("LISTING_TTL_DAYS", "must be at least 1");
    }
    if (ttlDays > MAX_LISTING_TTL_DAYS) {
      // extra zeros by mistake: an expiry past PostgreSQL's last timestamp fails every activation,
      // and every paid listing would go to the dead-letter topic
      throw new InvalidConfigException(
          "LISTING_TTL_DAYS", "must be at most " + MAX_LISTING_TTL_DAYS + " (ten years)");
    }
    int workers = env.integer("PROCESSOR_WORKERS", DEFAULT_WORKERS);
    if (workers < 1) {
      throw new InvalidConfigException("PROCESSOR_WORKERS", "must be at least 1");
    }
    return new PaymentProcessorConfig(
        KafkaConfig.fromEnv(env),
        DbConfig.fromEnv(env),
        SERVICE,
        Duration.ofDays(ttlDays),
        env.integer("ADMIN_PORT", 8082),
        workers,
        HttpConfig.fromEnv(env));
  }
}
