package io.marketplace.payments.processor.batch;

import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.outbox.Destination;
import java.util.List;
import java.util.UUID;
import org.jdbi.v3.core.Handle;

/**
 * Appends many outbox messages in one statement, in order: the multi-row form of common's {@code
 * Outbox.append}, with the same table, columns and {@code ON CONFLICT (event_id) DO NOTHING}.
 */
final class OutboxRows {

  record Row(UUID id, Destination destination, String key, String type, String json) {}

  private OutboxRows() {}

  static void insert(Handle tx, List<Row> rows) {
    if (rows.isEmpty()) {
      return;
    }
    tx.createUpdate(
            """
            INSERT INTO outbox_events (event_id, destination, message_key, event_type, payload)
            SELECT m.id, m.destination, m.key, m.type, CAST(p.payload AS text)
            FROM unnest(CAST(:ids AS uuid[]), CAST(:destinations AS text[]),
                        CAST(:keys AS text[]), CAST(:types AS text[]))
                 WITH ORDINALITY AS m(id, destination, key, type, position)
            JOIN json_array_elements(CAST(:payloads AS json))
                 WITH ORDINALITY AS p(payload, position) USING (position)
            ORDER BY position
            ON CONFLICT (event_id) DO NOTHING
            """)
        .bind("ids", rows.stream().map(r -> r.id().toString()).toArray(String[]::new))
        .bind("destinations", rows.stream().map(r -> r.destination().name()).toArray(String[]::new))
        .bind("keys", rows.stream().map(Row::key).toArray(String[]::new))
        .bind("types", rows.stream().map(Row::type).toArray(String[]::new))
        // json, not jsonb: each element comes back as the very text that went in
        .bind("payloads", Json.arrayOf(rows.stream().map(Row::json).toList()))
        .execute();
  }
}
