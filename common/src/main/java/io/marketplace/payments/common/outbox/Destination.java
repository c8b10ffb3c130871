package io.marketplace.payments.common.outbox;

import io.marketplace.payments.common.kafka.Topic;
import io.marketplace.payments.common.kafka.Topics;

/** Where an outbox row is published; stored by name so a row outlives a change of topic prefix. */
public enum Destination {
  PAYMENT_EVENTS,
  MODERATION,
  REFUND_COMMANDS,
  DELIVERY_COMMANDS;

  public Topic topicIn(Topics topics) {
    return switch (this) {
      case PAYMENT_EVENTS -> topics.paymentEvents();
      case MODERATION -> topics.moderation();
      case REFUND_COMMANDS -> topics.refundCommands();
      case DELIVERY_COMMANDS -> topics.deliveryCommands();
    };
  }
}
