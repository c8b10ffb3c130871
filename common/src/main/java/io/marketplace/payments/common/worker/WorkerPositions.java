package io.marketplace.payments.common.worker;

import java.time.Instant;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.common.TopicPartition;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.statement.PreparedBatch;

/**
 * How far each consumer group has applied each partition ({@code worker_positions}), written in the
 * transaction of the records applied, or on its own for records only passed over. Kafka's committed
 * offsets say where a group resumes, and Kafka forgets them once the group has been empty for
 * {@code offsets.retention.minutes}; this outlives that, so a worker finding no committed offset
 * can tell the records its group never applied that retention deleted meanwhile. Never moves back
 * (a replay rewinds only Kafka).
 */
final class WorkerPositions {

  /** Where {@code consumer} had applied a partition up to, and when it last got there. */
  record Position(long nextOffset, Instant at) {}

  private WorkerPositions() {}

  /**
   * Records that {@code consumer} applied or passed over every record of each partition below its
   * offset in {@code reached}. In partition order, so two members writing the same rows (one
   * revoked, not yet told) wait for each other rather than deadlock.
   */
  static void record(Handle tx, String consumer, Map<TopicPartition, Long> reached) {
    if (reached.isEmpty()) {
      return;
    }
    PreparedBatch batch =
        tx.prepareBatch(
            """
            INSERT INTO worker_positions (consumer, topic, partition, next_offset)
            VALUES (:consumer, :topic, :partition, :offset)
            ON CONFLICT (consumer, topic, partition) DO UPDATE
            SET next_offset = greatest(worker_positions.next_offset, excluded.next_offset),
                updated_at = now()
            """);
    reached.entrySet().stream()
        .sorted(
            Map.Entry.comparingByKey(
                Comparator.comparing(TopicPartition::topic)
                    .thenComparingInt(TopicPartition::partition)))
        .forEach(
            entry ->
                batch
                    .bind("consumer", consumer)
                    .bind("topic", entry.getKey().topic())
                    .bind("partition", entry.getKey().partition())
                    .bind("offset", entry.getValue())
                    .add());
    batch.execute();
  }

  /**
   * Where {@code consumer} had applied each of {@code partitions} up to; none for one it never
   * read.
   */
  static Map<TopicPartition, Position> read(
      Handle h, String consumer, Collection<TopicPartition> partitions) {
    Map<TopicPartition, Position> positions = new HashMap<>();
    h.createQuery(
            """
            SELECT topic, partition, next_offset, updated_at FROM worker_positions
            WHERE consumer = :consumer AND topic = ANY(:topics)
            """)
        .bind("consumer", consumer)
        .bind(
            "topics",
            partitions.stream().map(TopicPartition::topic).distinct().toArray(String[]::new))
        .map(
            (rs, ctx) ->
                Map.entry(
                    new TopicPartition(rs.getString("topic"), rs.getInt("partition")),
                    new Position(
                        rs.getLong("next_offset"),
                        rs.getObject("updated_at", java.time.OffsetDateTime.class).toInstant())))
        .forEach(
            entry -> {
              if (partitions.contains(entry.getKey())) {
                positions.put(entry.getKey(), entry.getValue());
              }
            });
    return positions;
  }
}
