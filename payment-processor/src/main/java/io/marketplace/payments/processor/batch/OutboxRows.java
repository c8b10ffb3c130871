package io.marketplace.payments.processor.batch;

import io.marketplace.payments.common.db.RecordSeparated;
import io.marketplace.payments.common.db.Writes;
import io.marketplace.payments.common.outbox.Destination;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * Appends a transaction's outbox messages as one outbox row (the {@code batch_} columns), in order,
 * as a part of the batch's one write statement. The relay publishes them one by one, in that order,
 * each under its own id, as if each were a row of its own: one row instead of two per Stripe event
 * spares PostgreSQL a heap tuple and two index entries per message when written, and a tuple per
 * message when the relay reads and deletes it. The messages skip the unique index on single rows'
 * ids, which only ever caught a repeat while its first copy was still unpublished: a handler
 * announces a fact when its change to the batch's rows makes it, once, and subscribers dedupe by id
 * the copies an at-least-once relay may send anyway.
 */
final class OutboxRows {

  record Row(UUID id, Destination destination, String key, String type, String json) {}

  private OutboxRows() {}

  /** The insert of {@code rows}, in order, as one outbox row; empty when there are none. */
  static Optional<Writes.Part> insert(List<Row> rows) {
    if (rows.isEmpty()) {
      return Optional.empty();
    }
    List<Row> copy = List.copyOf(rows);
    return Optional.of(
        new Writes.Part(
            """
            INSERT INTO outbox_events
                (batch_ids, batch_destinations, batch_keys, batch_types, batch_payloads)
            VALUES (CAST(:outbox_ids AS uuid[]), CAST(:outbox_destinations AS text[]),
                    CAST(:outbox_keys AS text[]), CAST(:outbox_types AS text[]),
                    :outbox_payloads)
            """,
            update ->
                update
                    .bind(
                        "outbox_ids",
                        copy.stream().map(r -> r.id().toString()).toArray(String[]::new))
                    .bind(
                        "outbox_destinations",
                        copy.stream().map(r -> r.destination().name()).toArray(String[]::new))
                    .bind("outbox_keys", copy.stream().map(Row::key).toArray(String[]::new))
                    .bind("outbox_types", copy.stream().map(Row::type).toArray(String[]::new))
                    .bind(
                        "outbox_payloads",
                        RecordSeparated.join(copy.stream().map(Row::json).toList()))));
  }
}
