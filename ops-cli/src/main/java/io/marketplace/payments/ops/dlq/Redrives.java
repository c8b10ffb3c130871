package io.marketplace.payments.ops.dlq;

import io.marketplace.payments.ops.OperatorError;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;

/**
 * The record of redriven dead letters ({@code dlq_redrives}, migrations V3 and V33 in common): a
 * dead letter is claimed in the transaction that stays open while its record is sent back, so two
 * operators redriving at once send it once, and a redrive that failed to send leaves no claim
 * behind.
 *
 * <p>A dead letter is known by its position, its event id and when the worker gave up on it: a
 * dead-letter topic deleted and created again restarts its offsets at 0, and a new dead letter at
 * the position of one redriven before must not read as redriven. Rows written before V33 have no
 * failed-at and stand for the dead letter at their position with their event id.
 */
public final class Redrives {

  private final Jdbi jdbi;

  public Redrives(Jdbi jdbi) {
    this.jdbi = jdbi;
  }

  /** When the dead letters of some dead-letter topics were redriven. */
  public record Marks(Map<Key, Instant> redrivenAt) {

    /** When {@code letter} was redriven, or null when it waits. */
    public Instant of(DeadLetter letter) {
      Instant when = redrivenAt.get(Key.of(letter));
      return when != null ? when : redrivenAt.get(Key.of(letter).beforeFailedAtWasKept());
    }
  }

  /** What tells one dead letter from another; {@code failedAt} is null in rows before V33. */
  public record Key(String topic, int partition, long offset, String eventId, Instant failedAt) {

    static Key of(DeadLetter letter) {
      return new Key(
          letter.dlqTopic(),
          letter.partition(),
          letter.offset(),
          letter.eventId(),
          Redrives.storedFailedAt(letter));
    }

    Key beforeFailedAtWasKept() {
      return new Key(topic, partition, offset, eventId, null);
    }
  }

  /** The redrives of the dead letters of {@code dlqTopics}. */
  public Marks redriven(Collection<String> dlqTopics) {
    try {
      return jdbi.withHandle(
          h -> {
            Map<Key, Instant> redriven = new HashMap<>();
            h.createQuery(
                    """
                    SELECT dlq_topic, dlq_partition, dlq_offset, event_id, failed_at, redriven_at
                    FROM dlq_redrives
                    WHERE dlq_topic = ANY(:topics)
                    """)
                .bindArray("topics", String.class, List.copyOf(dlqTopics))
                .map(
                    (rs, ctx) ->
                        Map.entry(
                            new Key(
                                rs.getString(1),
                                rs.getInt(2),
                                rs.getLong(3),
                                rs.getString(4),
                                Optional.ofNullable(rs.getObject(5, OffsetDateTime.class))
                                    .map(OffsetDateTime::toInstant)
                                    .orElse(null)),
                            rs.getObject(6, OffsetDateTime.class).toInstant()))
                .forEach(e -> redriven.put(e.getKey(), e.getValue()));
            return new Marks(redriven);
          });
    } catch (UnableToExecuteStatementException e) {
      throw missingTable(e);
    }
  }

  /**
   * Claims {@code letter} for a redrive in {@code tx}; false when it was redriven before, also by a
   * row written before V33 (no failed-at) at its position with its event id.
   */
  static boolean claim(Handle tx, DeadLetter letter, String operator) {
    return tx.createUpdate(
                """
                INSERT INTO dlq_redrives
                  (dlq_topic, dlq_partition, dlq_offset, source_topic, event_id, consumer,
                   failed_at, redriven_by)
                SELECT :topic, :partition, :offset, :source, :eventId, :consumer, :failedAt, :by
                WHERE NOT EXISTS (
                  SELECT 1 FROM dlq_redrives
                  WHERE dlq_topic = :topic AND dlq_partition = :partition AND dlq_offset = :offset
                    AND event_id IS NOT DISTINCT FROM :eventId AND failed_at IS NULL)
                ON CONFLICT DO NOTHING
                """)
            .bind("topic", letter.dlqTopic())
            .bind("partition", letter.partition())
            .bind("offset", letter.offset())
            .bind("source", letter.sourceTopic())
            .bind("eventId", letter.eventId())
            .bind("consumer", letter.consumer())
            .bind("failedAt", storedFailedAt(letter).atOffset(ZoneOffset.UTC))
            .bind("by", operator)
            .execute()
        == 1;
  }

  static void sentTo(Handle tx, DeadLetter letter, int partition, long offset) {
    tx.createUpdate(
            """
            UPDATE dlq_redrives SET target_partition = :p, target_offset = :o
            WHERE dlq_topic = :topic AND dlq_partition = :partition AND dlq_offset = :offset
              AND event_id IS NOT DISTINCT FROM :eventId AND failed_at = :failedAt
            """)
        .bind("p", partition)
        .bind("o", offset)
        .bind("topic", letter.dlqTopic())
        .bind("partition", letter.partition())
        .bind("offset", letter.offset())
        .bind("eventId", letter.eventId())
        .bind("failedAt", storedFailedAt(letter).atOffset(ZoneOffset.UTC))
        .execute();
  }

  /** The dead letter's failed-at as PostgreSQL keeps it: to the microsecond. */
  private static Instant storedFailedAt(DeadLetter letter) {
    return letter.failedAt().truncatedTo(ChronoUnit.MICROS);
  }

  /**
   * Whether a statement ended because it waited too long for a lock: its {@code lock_timeout}
   * ({@code 55P03}), or the session's {@code statement_timeout} ({@code 57014}) when that is the
   * shorter.
   */
  static boolean isWaitGivenUp(RuntimeException e) {
    for (Throwable cause = e; cause != null; cause = cause.getCause()) {
      if (cause instanceof SQLException sql
          && ("55P03".equals(sql.getSQLState()) || "57014".equals(sql.getSQLState()))) {
        return true;
      }
    }
    return false;
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
