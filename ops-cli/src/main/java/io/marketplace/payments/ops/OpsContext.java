package io.marketplace.payments.ops;

import io.marketplace.payments.common.config.Env;
import io.marketplace.payments.common.config.InvalidConfigException;
import io.marketplace.payments.common.db.Database;
import io.marketplace.payments.common.db.DbConfig;
import io.marketplace.payments.common.kafka.KafkaConfig;
import io.marketplace.payments.common.stripe.StripeConfig;
import java.time.Clock;
import java.time.Duration;

/**
 * What every command is given: the environment it reads its configuration from (SPEC §2) and a
 * clock. Each command reads only the variables it needs, when it runs, so {@code payments token}
 * works without Kafka and {@code payments replay} without Stripe.
 */
public record OpsContext(Env env, Clock clock) {

  public static OpsContext system() {
    return new OpsContext(Env.system(), Clock.systemUTC());
  }

  public KafkaConfig kafka() {
    return KafkaConfig.fromEnv(env);
  }

  /** A small pool: a command line holds one or two connections at a time. */
  public DbConfig database() {
    return DbConfig.fromEnv(env).withPoolSize(2);
  }

  /**
   * Opens the database without migrating it: an operator's command never changes the schema as a
   * side effect; the services apply migrations when they start.
   */
  public Database openDatabase() {
    return Database.open(database(), "payments-cli");
  }

  /**
   * How long a command waits for Kafka to answer (a lookup, an acknowledgement) before it says in
   * one line that Kafka did not answer: {@code KAFKA_COMMAND_TIMEOUT}, 30 s unless set. None or
   * less is refused: every answer would be missed, a record Kafka took reported not sent.
   */
  public Duration kafkaTimeout() {
    Duration timeout = env.duration("KAFKA_COMMAND_TIMEOUT", Duration.ofSeconds(30));
    if (timeout.isZero() || timeout.isNegative()) {
      throw new InvalidConfigException("KAFKA_COMMAND_TIMEOUT", "must be positive, such as 30s");
    }
    return timeout;
  }

  public StripeConfig stripe() {
    return StripeConfig.fromEnv(env);
  }

  public String jwtSecret() {
    return env.required("AUTH_JWT_SECRET");
  }
}
