package io.marketplace.payments.processor.batch;

import io.marketplace.payments.common.db.Writes;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.outbox.Destination;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * Appends many outbox messages in one statement, in order: the multi-row form of common's {@code
 * Outbox.append}, with the same table, columns and {@code ON CONFLICT (event_id) DO NOTHING}, as a
 * part of the batch's one write statement.
 */
final class OutboxRows {

  record Row(UUID id, Destination destination, String key, String type, String json) {}

  private OutboxRows() {}

  /** The insert of {@code rows}, in order; empty when there are none. */
  static Optional<Writes.Part> insert(List<Row> rows) {
    if (rows.isEmpty()) {
      return Optional.empty();
    }
    List<Row> copy = List.copyOf(rows);
    return Optional.of(
        new Writes.Part(
            """
            INSERT INTO outbox_events (event_id, destination, message_key, event_type, payload)
            SELECT m.id, m.destination, m.key, m.type, CAST(p.payload AS text)
            FROM unnest(CAST(:outbox_ids AS uuid[]), CAST(:outbox_destinations AS text[]),
                        CAST(:outbox_keys AS text[]), CAST(:outbox_types AS text[]))
                 WITH ORDINALITY AS m(id, destination, key, type, position)
            JOIN json_array_elements(CAST(:outbox_payloads AS json))
                 WITH ORDINALITY AS p(payload, position) USING (position)
            ORDER BY position
            ON CONFLICT (event_id) DO NOTHING
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
                    // json, not jsonb: each element comes back as the very text that went in
                    .bind("outbox_payloads", Json.arrayOf(copy.stream().map(Row::json).toList()))));
  }
}
