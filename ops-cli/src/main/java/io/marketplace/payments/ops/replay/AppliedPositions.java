package io.marketplace.payments.ops.replay;

import io.marketplace.payments.common.config.ConfigException;
import io.marketplace.payments.common.db.Database;
import io.marketplace.payments.ops.OpsContext;
import java.io.PrintWriter;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.common.TopicPartition;

/**
 * How far each consumer group had applied or passed over each partition, as its workers record it
 * in {@code worker_positions} (a replay rewinds only Kafka's offsets). {@code lag} asks it only for
 * partitions whose committed offset is below the log start, to tell records applied before a replay
 * from records lost. When the database is not configured or does not answer, that is said once, and
 * every record below the log start is told as deleted unread, as before.
 */
final class AppliedPositions implements AutoCloseable {

  private final OpsContext context;
  private final PrintWriter err;
  private Database database;
  private boolean unknown;

  AppliedPositions(OpsContext context, PrintWriter err) {
    this.context = context;
    this.err = err;
  }

  /** Where {@code group} had got on each of {@code partitions}; none when it cannot be told. */
  Map<TopicPartition, Long> of(String group, Collection<TopicPartition> partitions) {
    Map<TopicPartition, Long> positions = new HashMap<>();
    if (partitions.isEmpty() || unknown) {
      return positions;
    }
    try {
      if (database == null) {
        database = context.openDatabase();
      }
      database
          .jdbi()
          .useHandle(
              h ->
                  h.createQuery(
                          """
                          SELECT topic, partition, next_offset FROM worker_positions
                          WHERE consumer = :consumer AND topic = ANY(:topics)
                          """)
                      .bind("consumer", group)
                      .bind(
                          "topics",
                          partitions.stream()
                              .map(TopicPartition::topic)
                              .distinct()
                              .toArray(String[]::new))
                      .map(
                          (rs, ctx) ->
                              Map.entry(
                                  new TopicPartition(rs.getString(1), rs.getInt(2)), rs.getLong(3)))
                      .forEach(
                          e -> {
                            if (partitions.contains(e.getKey())) {
                              positions.put(e.getKey(), e.getValue());
                            }
                          }));
    } catch (RuntimeException e) {
      unknown = true;
      err.println(
          "records applied before a replay cannot be told from records lost: the database "
              + (e instanceof ConfigException
                  ? "is not configured (" + e.getMessage() + ")"
                  : "failed (" + e.getMessage() + ")")
              + "; every record deleted below a committed offset is counted as deleted unread");
      err.flush();
    }
    return positions;
  }

  @Override
  public void close() {
    if (database != null) {
      database.close();
    }
  }
}
