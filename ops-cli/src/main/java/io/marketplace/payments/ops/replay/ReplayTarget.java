package io.marketplace.payments.ops.replay;

import io.marketplace.payments.ops.UsageError;
import java.time.Instant;
import java.util.List;

/** Where a replay rewinds a consumer group to. */
public sealed interface ReplayTarget {

  /** The oldest record each partition still holds. */
  record Earliest() implements ReplayTarget {}

  /** The first record written at or after {@code time}, on each partition. */
  record AtTime(Instant time) implements ReplayTarget {}

  /** Explicit offsets; partitions not named keep their committed offset. */
  record Offsets(List<PartitionOffset> offsets) implements ReplayTarget {}

  /**
   * One {@code [TOPIC:]PARTITION:OFFSET}; topic null when the group reads a single topic.
   *
   * @param topic as typed: with or without the deployment's topic prefix
   */
  record PartitionOffset(String topic, int partition, long offset) {

    public static PartitionOffset parse(String text) {
      String[] parts = text.strip().split(":");
      PartitionOffset parsed = null;
      try {
        if (parts.length == 2) {
          parsed = new PartitionOffset(null, Integer.parseInt(parts[0]), Long.parseLong(parts[1]));
        } else if (parts.length == 3 && !parts[0].isBlank()) {
          parsed =
              new PartitionOffset(parts[0], Integer.parseInt(parts[1]), Long.parseLong(parts[2]));
        }
      } catch (NumberFormatException e) {
        // falls through to the message below
      }
      if (parsed == null) {
        throw new UsageError("'" + text + "' is not PARTITION:OFFSET or TOPIC:PARTITION:OFFSET");
      }
      // told before Kafka is asked: not "the topic has no partition -1", which reads as the
      // cluster's fault, nor an offset outside the records it holds
      if (parsed.partition() < 0) {
        throw new UsageError(
            "'" + text + "': partition " + parsed.partition() + " is negative; they count from 0");
      }
      if (parsed.offset() < 0) {
        throw new UsageError(
            "'" + text + "': offset " + parsed.offset() + " is negative; they count from 0");
      }
      return parsed;
    }
  }
}
