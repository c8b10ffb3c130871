package io.marketplace.payments.ops;

import java.time.Duration;
import java.util.Optional;
import org.apache.kafka.common.config.ConfigException;

/**
 * A command could not do what was asked, for a reason the operator can act on (a worker still
 * running, an unknown consumer group, Stripe unreachable). Its message is printed as it is, without
 * a stack trace, and the command exits with status 1.
 */
public final class OperatorError extends RuntimeException {

  public OperatorError(String message) {
    super(message);
  }

  public OperatorError(String message, Throwable cause) {
    super(message, cause);
  }

  /**
   * Kafka did not answer: what every command says then, naming the address it tried. {@code within}
   * is how long it waited, when known; {@code outcome} what was left undone, or empty.
   */
  public static OperatorError kafkaDidNotAnswer(
      String bootstrapServers, Duration within, String outcome, Throwable cause) {
    return new OperatorError(
        "Kafka at "
            + bootstrapServers
            + " did not answer"
            + (within == null ? "" : " within " + within.toSeconds() + " s")
            + (outcome.isEmpty() ? "" : " (" + outcome + ")")
            + ": is KAFKA_BOOTSTRAP_SERVERS right, and is Kafka running?",
        cause);
  }

  /** Whether {@code error} is, or was caused by, a Kafka client giving up waiting for Kafka. */
  public static boolean isKafkaTimeout(Throwable error) {
    for (Throwable t = error; t != null; t = t.getCause()) {
      if (t instanceof org.apache.kafka.common.errors.TimeoutException) {
        return true;
      }
    }
    return false;
  }

  /**
   * The setting a Kafka client refused while being built ({@code bootstrap.servers} naming a host
   * that resolves to nothing, say), if that is what {@code error} is or was caused by.
   */
  public static Optional<ConfigException> kafkaConfigRefused(Throwable error) {
    for (Throwable t = error; t != null; t = t.getCause()) {
      if (t instanceof ConfigException refused) {
        return Optional.of(refused);
      }
    }
    return Optional.empty();
  }
}
