package io.marketplace.payments.expirer;

import io.marketplace.payments.common.config.Env;
import io.marketplace.payments.common.config.InvalidConfigException;
import io.marketplace.payments.common.db.DbConfig;
import io.marketplace.payments.common.http.HttpConfig;
import io.marketplace.payments.common.kafka.KafkaConfig;
import io.marketplace.payments.expirer.schedule.Schedule;
import java.time.Duration;
import java.util.Objects;

/**
 * What the promotion expirer needs.
 *
 * @param adminPort health and metrics ({@code ADMIN_PORT}, default 8084; 0 picks a free port)
 * @param schedule when passes run ({@code EXPIRER_INTERVAL} or {@code EXPIRER_CRON_TIME})
 * @param batchSize rows ended per transaction ({@code EXPIRER_BATCH_SIZE}, default 1000): bounds
 *     how long row locks are held and how much a crash can roll back
 * @param checkInterval how often the scheduler looks at the clock; a pass is at most this late
 * @param publishTimeout how long {@code --once} waits for the relay to publish the pass's events
 * @param webhookEventsRetention how long the audit rows of Stripe events ({@code webhook_events})
 *     are kept ({@code WEBHOOK_EVENTS_RETENTION}, default 90 days, at least a day); each pass
 *     deletes older ones in batches
 * @param http the admin server's limits and bind address ({@code HTTP_*})
 */
public record ExpirerConfig(
    DbConfig db,
    KafkaConfig kafka,
    int adminPort,
    Schedule schedule,
    int batchSize,
    Duration checkInterval,
    Duration publishTimeout,
    Duration webhookEventsRetention,
    HttpConfig http) {

  public static final int DEFAULT_ADMIN_PORT = 8084;
  public static final int DEFAULT_BATCH_SIZE = 1000;
  static final int MAX_BATCH_SIZE = 10_000;
  public static final Duration DEFAULT_RETENTION = Duration.ofDays(90);
  static final Duration MIN_RETENTION = Duration.ofDays(1);

  public ExpirerConfig {
    Objects.requireNonNull(db, "db");
    Objects.requireNonNull(kafka, "kafka");
    Objects.requireNonNull(schedule, "schedule");
    Objects.requireNonNull(checkInterval, "checkInterval");
    Objects.requireNonNull(publishTimeout, "publishTimeout");
    Objects.requireNonNull(http, "http");
    if (webhookEventsRetention.compareTo(MIN_RETENTION) < 0) {
      throw new IllegalArgumentException("webhook events are kept at least " + MIN_RETENTION);
    }
    if (batchSize < 1 || batchSize > MAX_BATCH_SIZE) {
      throw new IllegalArgumentException("batch size must be between 1 and " + MAX_BATCH_SIZE);
    }
  }

  /** A configuration whose admin server has the default limits, on every interface. */
  public ExpirerConfig(
      DbConfig db,
      KafkaConfig kafka,
      int adminPort,
      Schedule schedule,
      int batchSize,
      Duration checkInterval,
      Duration publishTimeout,
      Duration webhookEventsRetention) {
    this(
        db,
        kafka,
        adminPort,
        schedule,
        batchSize,
        checkInterval,
        publishTimeout,
        webhookEventsRetention,
        HttpConfig.defaults());
  }

  public static ExpirerConfig fromEnv(Env env) {
    int adminPort = env.integer("ADMIN_PORT", DEFAULT_ADMIN_PORT);
    if (adminPort < 0 || adminPort > 65_535) {
      throw new InvalidConfigException("ADMIN_PORT", "must be a TCP port (0 to 65535)");
    }
    int batchSize = env.integer("EXPIRER_BATCH_SIZE", DEFAULT_BATCH_SIZE);
    if (batchSize < 1 || batchSize > MAX_BATCH_SIZE) {
      throw new InvalidConfigException(
          "EXPIRER_BATCH_SIZE", "must be between 1 and " + MAX_BATCH_SIZE);
    }
    Duration retention = env.duration("WEBHOOK_EVENTS_RETENTION", DEFAULT_RETENTION);
    if (retention.compareTo(MIN_RETENTION) < 0) {
      throw new InvalidConfigException("WEBHOOK_EVENTS_RETENTION", "must be at least 1d");
    }
    return new ExpirerConfig(
        DbConfig.fromEnv(env),
        KafkaConfig.fromEnv(env),
        adminPort,
        Schedule.fromEnv(env),
        batchSize,
        Duration.ofSeconds(1),
        Duration.ofMinutes(10),
        retention,
        HttpConfig.fromEnv(env));
  }

  public ExpirerConfig withSchedule(Schedule value) {
    return new ExpirerConfig(
        db,
        kafka,
        adminPort,
        value,
        batchSize,
        checkInterval,
        publishTimeout,
        webhookEventsRetention,
        http);
  }

  public ExpirerConfig withBatchSize(int value) {
    return new ExpirerConfig(
        db,
        kafka,
        adminPort,
        schedule,
        value,
        checkInterval,
        publishTimeout,
        webhookEventsRetention,
        http);
  }

  public ExpirerConfig withCheckInterval(Duration value) {
    return new ExpirerConfig(
        db,
        kafka,
        adminPort,
        schedule,
        batchSize,
        value,
        publishTimeout,
        webhookEventsRetention,
        http);
  }

  public ExpirerConfig withWebhookEventsRetention(Duration value) {
    return new ExpirerConfig(
        db, kafka, adminPort, schedule, batchSize, checkInterval, publishTimeout, value, http);
  }

  public ExpirerConfig withPublishTimeout(Duration value) {
    return new ExpirerConfig(
        db,
        kafka,
        adminPort,
        schedule,
        batchSize,
        checkInterval,
        value,
        webhookEventsRetention,
        http);
  }
}
