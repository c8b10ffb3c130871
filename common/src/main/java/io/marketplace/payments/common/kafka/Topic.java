package io.marketplace.payments.common.kafka;

import java.util.Objects;

/**
 * A Kafka topic by name. Services take topics from a {@link Topics} registry, never as bare
 * strings, so a test can run the whole system on its own prefixed set of topics.
 */
public record Topic(String name, int partitions) {

  public Topic {
    Objects.requireNonNull(name, "name");
    if (name.isBlank()) {
      throw new IllegalArgumentException("topic name is blank");
    }
    if (partitions < 1) {
      throw new IllegalArgumentException("partitions must be positive: " + partitions);
    }
  }

  /**
   * The dead-letter topic of this topic (SPEC §4: {@code <topic>.dlq}), with as many partitions.
   */
  public Topic dlq() {
    return new Topic(name + ".dlq", partitions);
  }

  @Override
  public String toString() {
    return name;
  }
}
