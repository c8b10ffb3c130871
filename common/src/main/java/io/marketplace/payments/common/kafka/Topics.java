package io.marketplace.payments.common.kafka;

import java.util.List;

/**
 * The topics of the system (SPEC §4). Production uses {@link #standard()}; tests isolate themselves
 * with {@link #withPrefix(String)}, which keeps every name's shape and only prepends the prefix.
 *
 * <p>Partition counts: Stripe events and payment events are keyed by PaymentIntent or listing, so
 * the count bounds how many replicas of a worker can share the work; 6 fits the fleet we run and
 * leaves room.
 */
public record Topics(
    Topic stripeEvents, Topic paymentEvents, Topic moderation, Topic refundCommands) {

  public static final int DEFAULT_PARTITIONS = 6;

  public static Topics standard() {
    return withPrefix("");
  }

  public static Topics withPrefix(String prefix) {
    return new Topics(
        new Topic(prefix + "stripe.events.v1", DEFAULT_PARTITIONS),
        new Topic(prefix + "payments.events.v1", DEFAULT_PARTITIONS),
        new Topic(prefix + "marketplace.moderation.v1", DEFAULT_PARTITIONS),
        new Topic(prefix + "payments.internal.refund-commands.v1", DEFAULT_PARTITIONS));
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
        refundCommands.dlq());
  }
}
