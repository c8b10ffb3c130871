package io.marketplace.payments.ops.dlq;

import io.marketplace.payments.ops.OperatorError;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;

/**
 * The record of redriven dead letters ({@code dlq_redrives}, migration V3 in common): a dead letter
 * is claimed in the transaction that stays open while its record is sent back, so two operators
 * redriving at once send it once, and a redrive that failed to send leaves no claim behind.
 */
public final class Redrives {

  private final Jdbi jdbi;

  public Redrives(Jdbi jdbi) {
    this.jdbi = jdbi;
  }

  /** When each dead letter of {@code dlqTopics} was redriven, by its coordinates. */
  public Map<String, Instant> redriven(Collection<String> dlqTopics) {
    try {
      return jdbi.withHandle(
          h -> {
            Map<String, Instant> redriven = new HashMap<>();
            h.createQuery(
                    """
                    SELECT dlq_topic, dlq_partition, dlq_offset, redriven_at FROM dlq_redrives
                    WHERE dlq_topic = ANY(:topics)
                    """)
                .bindArray("topics", String.class, List.copyOf(dlqTopics))
                .map(
                    (rs, ctx) ->
                        Map.entry(
                            rs.getString(1) + "/" + rs.getInt(2) + "/" + rs.getLong(3),
                            rs.getObject(4, OffsetDateTime.class).toInstant()))
                .forEach(e -> redriven.put(e.getKey(), e.getValue()));
            return redriven;
          });
    } catch (UnableToExecuteStatementException e) {
      throw missingTable(e);
    }
  }

  /** Claims {@code letter} for a redrive in {@code tx}; false when it was redriven before. */
  static boolean claim(Handle tx, DeadLetter letter, String operator) {
    return tx.createUpdate(
                """
                INSERT INTO dlq_redrives
                  (dlq_topic, dlq_partition, dlq_offset, source_topic, event_id, consumer, redriven_by)
                VALUES (:topic, :partition, :offset, :source, :eventId, :consumer, :by)
                ON CONFLICT DO NOTHING
                """)
            .bind("topic", letter.dlqTopic())
            .bind("partition", letter.partition())
            .bind("offset", letter.offset())
            .bind("source", letter.sourceTopic())
            .bind("eventId", letter.eventId())
            .bind("consumer", letter.consumer())
            .bind("by", operator)
            .execute()
        == 1;
  }

  static void sentTo(Handle tx, DeadLetter letter, int partition, long offset) {
    tx.createUpdate(
            """
            UPDATE dlq_redrives SET target_partition = :p, target_offset = :o
            WHERE dlq_topic = :topic AND dlq_partition = :partition AND dlq_offset = :offset
            """)
        .bind("p", partition)
        .bind("o", offset)
        .bind("topic", letter.dlqTopic())
        .bind("partition", letter.partition())
        .bind("offset", letter.offset())
        .execute();
  }

  static OperatorError missingTable(RuntimeException e) {
    String message = String.valueOf(e.getMessage());
    if (message.contains("dlq_redrives") && message.contains("does not exist")) {
      return new OperatorError(
          "the database has no table dlq_redrives: its schema is older than this command line;"
              + " start a service of this release (it applies the migrations) and try again",
          e);
    }
    throw e;
  }
}
