package io.marketplace.payments.common.kafka;

import java.util.List;
import java.util.Map;
import org.apache.kafka.common.config.TopicConfig;

/**
 * The topics of the system (SPEC §4). Production uses {@link #standard()}; tests isolate themselves
 * with {@link #withPrefix(String)}, which keeps every name's shape and only prepends the prefix.
 *
 * <p>Partition counts: Stripe events and payment events are keyed by PaymentIntent or listing, so
 * the count bounds how many replicas of a worker can share the work; 6 fits the fleet we run and
 * leaves room.
 *
 * <p>Record size. The gateway publishes webhook bodies of up to 1 MiB byte for byte, and a worker
 * dead-letters such a record with more headers. A topic takes 1 MiB and 12 bytes by default, which
 * a 1 MiB body that does not compress exceeds once its key and headers are added, so every topic is
 * created with {@link #MAX_MESSAGE_BYTES}, and every producer and consumer is sized for it ({@link
 * KafkaConfig}). {@code k8s/base/create-topics.sh} sets the same value.
 */
public record Topics(
    Topic stripeEvents,
    Topic paymentEvents,
    Topic moderation,
    Topic refundCommands,
    Topic deliveryCommands,
    Topic riskSignals) {

  public static final int DEFAULT_PARTITIONS = 6;

  /**
   * The largest record batch every topic takes ({@code max.message.bytes}). The largest record is a
   * 1 MiB body with the headers the gateway and a dead letter add; this leaves nearly as much
   * again.
   */
  public static final int MAX_MESSAGE_BYTES = 2 * 1024 * 1024;

  public static Topics standard() {
    return withPrefix("");
  }

  public static Topics withPrefix(String prefix) {
    return new Topics(
        new Topic(prefix + "stripe.events.v1", DEFAULT_PARTITIONS),
        new Topic(prefix + "payments.events.v1", DEFAULT_PARTITIONS),
        new Topic(prefix + "marketplace.moderation.v1", DEFAULT_PARTITIONS),
        new Topic(prefix + "payments.internal.refund-commands.v1", DEFAULT_PARTITIONS),
        new Topic(prefix + "payments.internal.delivery-commands.v1", DEFAULT_PARTITIONS),
        new Topic(prefix + "risk.signals.v1", DEFAULT_PARTITIONS));
  }

  /**
   * The settings every topic of the system is created with, beside its partitions, as {@code
   * kafka-topics.sh --config} takes them.
   */
  public static Map<String, String> configs() {
    return Map.of(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, Integer.toString(MAX_MESSAGE_BYTES));
  }

  /** Every topic the system uses, with the dead-letter topics of those that workers consume. */
  public List<Topic> all() {
    return List.of(
        stripeEvents,
        stripeEvents.dlq(),
        paymentEvents,
        moderation,
        moderation.dlq(),
        refundCommands,
        refundCommands.dlq(),
        deliveryCommands,
        deliveryCommands.dlq(),
        riskSignals,
        riskSignals.dlq());
  }
}
