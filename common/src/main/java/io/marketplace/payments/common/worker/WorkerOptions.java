package io.marketplace.payments.common.worker;

import io.marketplace.payments.common.kafka.Topic;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * How one consumer loop runs.
 *
 * @param consumer the consumer group, and the name under which applied events are recorded
 * @param topics what it consumes
 * @param maxAttempts tries of a failing record before it is dead-lettered
 * @param initialBackoff first pause between tries; doubles up to {@code maxBackoff}
 * @param beforeOffsetCommit called after the database commit and before the offset commit; tests
 *     throw from it to crash the worker at exactly that point
 * @param afterApplied called after each database commit that applied records: a service wakes its
 *     outbox relay with it, so what the transaction wrote is published without waiting for a poll
 */
public record WorkerOptions(
    String consumer,
    List<Topic> topics,
    int maxAttempts,
    Duration initialBackoff,
    Duration maxBackoff,
    Runnable beforeOffsetCommit,
    Runnable afterApplied) {

  public WorkerOptions {
    Objects.requireNonNull(consumer, "consumer");
    topics = List.copyOf(topics);
    if (topics.isEmpty()) {
      throw new IllegalArgumentException("a worker consumes at least one topic");
    }
    if (maxAttempts < 1) {
      throw new IllegalArgumentException("maxAttempts must be at least 1");
    }
    Objects.requireNonNull(beforeOffsetCommit, "beforeOffsetCommit");
    Objects.requireNonNull(afterApplied, "afterApplied");
  }

  public static WorkerOptions of(String consumer, Topic... topics) {
    return new WorkerOptions(
        consumer,
        List.of(topics),
        5,
        Duration.ofMillis(100),
        Duration.ofSeconds(5),
        () -> {},
        () -> {});
  }

  public WorkerOptions withRetries(int attempts, Duration initial, Duration max) {
    return new WorkerOptions(
        consumer, topics, attempts, initial, max, beforeOffsetCommit, afterApplied);
  }

  public WorkerOptions withBeforeOffsetCommit(Runnable hook) {
    return new WorkerOptions(
        consumer, topics, maxAttempts, initialBackoff, maxBackoff, hook, afterApplied);
  }

  public WorkerOptions withAfterApplied(Runnable hook) {
    return new WorkerOptions(
        consumer, topics, maxAttempts, initialBackoff, maxBackoff, beforeOffsetCommit, hook);
  }
}
