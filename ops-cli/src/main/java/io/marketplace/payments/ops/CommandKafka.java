package io.marketplace.payments.ops;

import io.marketplace.payments.common.kafka.KafkaConfig;
import io.marketplace.payments.common.kafka.Topics;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

/**
 * What a command that writes to Kafka needs beyond a worker's producer: it gives up within the
 * operator's {@code KAFKA_COMMAND_TIMEOUT}, and it does not write to a topic the cluster lacks.
 */
public final class CommandKafka {

  private CommandKafka() {}

  /**
   * The producer of {@code kafka}, bounded by {@code timeout}: a send waits at most that long for
   * the topic's metadata or for Kafka's acknowledgement. Left at the client's defaults, a command
   * would block a minute on a topic it cannot find, and a record could still be retried into the
   * topic for two minutes after the command reported it not sent.
   */
  public static Properties producer(KafkaConfig kafka, String clientId, Duration timeout) {
    Properties props = kafka.producer(clientId);
    long millis = Math.max(1, timeout.toMillis());
    long linger = Long.parseLong(props.get(ProducerConfig.LINGER_MS_CONFIG).toString());
    int request = (int) Math.min(millis, Duration.ofSeconds(30).toMillis());
    props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, millis);
    props.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, request);
    // the client refuses a delivery timeout shorter than a linger plus one request
    props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) Math.max(millis, request + linger));
    return props;
  }

  /** The deployment's {@code KAFKA_TOPIC_PREFIX}, as the topic names show it; empty when none. */
  public static String topicPrefix(KafkaConfig kafka) {
    return topicPrefix(kafka.topics());
  }

  /** The {@code KAFKA_TOPIC_PREFIX} that {@code topics} were named with; empty when none. */
  public static String topicPrefix(Topics topics) {
    String name = topics.stripeEvents().name();
    return name.substring(0, name.length() - Topics.standard().stripeEvents().name().length());
  }

  /**
   * Asks whether the prefix in use is the workers', naming it: where a topic is missing or not a
   * worker's, a wrong {@code KAFKA_TOPIC_PREFIX} is the likely cause, and its value shows it.
   */
  public static String prefixQuestion(Topics topics) {
    return "KAFKA_TOPIC_PREFIX is \"" + topicPrefix(topics) + "\", is that the workers' prefix?";
  }

  /**
   * Refuses to write to a topic the cluster does not have (a missing or wrong {@code
   * KAFKA_TOPIC_PREFIX}, or a topic deleted since): no worker would read the records, or a broker
   * that creates topics on first use would create one for them, and the command would still report
   * them written. {@code outcome} says what was left undone.
   */
  public static void requireTopics(
      KafkaConfig kafka, Collection<String> topics, Duration timeout, String outcome) {
    Admin admin = Admin.create(kafka.admin("payments-cli-topics"));
    try {
      admin
          .describeTopics(List.copyOf(topics))
          .allTopicNames()
          .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof UnknownTopicOrPartitionException) {
        throw new OperatorError(
            "the cluster has no topic "
                + String.join(" or ", topics)
                + ": "
                + prefixQuestion(kafka.topics())
                + " "
                + outcome);
      }
      throw new OperatorError("could not look up " + topics + ": " + e.getCause(), e);
    } catch (TimeoutException e) {
      throw OperatorError.kafkaDidNotAnswer(kafka.bootstrapServers(), timeout, outcome, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new OperatorError("interrupted: " + outcome, e);
    } finally {
      // at once: a close that waits lets the abandoned lookup run out its own minute first
      admin.close(Duration.ZERO);
    }
  }
}
