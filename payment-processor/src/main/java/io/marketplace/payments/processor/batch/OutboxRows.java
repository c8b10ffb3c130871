package io.marketplace.payments.processor.batch;

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
            SELECT id, destination, key, type, payload
            FROM unnest(CAST(:ids AS uuid[]), CAST(:destinations AS text[]),
                        CAST(:keys AS text[]), CAST(:types AS text[]), CAST(:payloads AS text[]))
                 WITH ORDINALITY AS m(id, destination, key, type, payload, position)
            ORDER BY position
            ON CONFLICT (event_id) DO NOTHING
            """)
        .bind("ids", rows.stream().map(r -> r.id().toString()).toArray(String[]::new))
        .bind("destinations", rows.stream().map(r -> r.destination().name()).toArray(String[]::new))
        .bind("keys", rows.stream().map(Row::key).toArray(String[]::new))
        .bind("types", rows.stream().map(Row::type).toArray(String[]::new))
        .bind("payloads", rows.stream().map(Row::json).toArray(String[]::new))
        .execute();
  }
}
