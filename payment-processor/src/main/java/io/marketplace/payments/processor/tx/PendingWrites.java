package io.marketplace.payments.processor.tx;

import io.marketplace.payments.common.events.PaymentEvent;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.outbox.Destination;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import org.jdbi.v3.core.Handle;

/**
 * The append-only rows of one worker transaction (outbox messages and audit rows), written together
 * in two multi-row statements just before the transaction commits, instead of one round trip each.
 * Nothing in the transaction reads them back, so writing them last changes no decision; they commit
 * with the state change they belong to or not at all.
 *
 * <p>Only valid inside a transaction opened by {@link FlushBeforeCommit} on the worker's thread:
 * appending through any other handle throws rather than losing the row.
 */
public final class PendingWrites {

  private final List<OutboxRow> outbox = new ArrayList<>();
  private final Map<String, AuditRow> audit = new LinkedHashMap<>();
  private Handle open;

  /** A {@code payments.events.v1} event keyed by listing (or user) id. */
  public void append(Handle tx, PaymentEvent event, String key) {
    append(
        tx,
        Destination.PAYMENT_EVENTS,
        event.id(),
        key,
        event.type().wireName(),
        Json.write(event));
  }

  /** Any outbox message with a stable id. */
  public void append(
      Handle tx, Destination destination, UUID id, String key, String type, String json) {
    check(tx);
    outbox.add(new OutboxRow(id, destination, key, type, json));
  }

  /** The outcome of one Stripe event for {@code webhook_events}; the last one per event wins. */
  public void audit(
      Handle tx,
      String eventId,
      String eventType,
      String payload,
      Instant receivedAt,
      Instant processedAt,
      String status,
      String error) {
    check(tx);
    audit.put(
        eventId, new AuditRow(eventId, eventType, payload, receivedAt, processedAt, status, error));
  }

  boolean isOpenOn(Handle tx) {
    return open == tx;
  }

  void open(Handle tx) {
    open = tx;
  }

  /** Writes what was appended, through the transaction about to commit. */
  void flush(Handle tx) {
    if (!outbox.isEmpty()) {
      tx.createUpdate(
              """
              INSERT INTO outbox_events (event_id, destination, message_key, event_type, payload)
              SELECT id, destination, key, type, payload
              FROM unnest(CAST(:ids AS uuid[]), CAST(:destinations AS text[]),
                          CAST(:keys AS text[]), CAST(:types AS text[]),
                          CAST(:payloads AS text[]))
                   WITH ORDINALITY AS m(id, destination, key, type, payload, position)
              ORDER BY position
              ON CONFLICT (event_id) DO NOTHING
              """)
          .bind("ids", outbox.stream().map(r -> r.id().toString()).toArray(String[]::new))
          .bind(
              "destinations",
              outbox.stream().map(r -> r.destination().name()).toArray(String[]::new))
          .bind("keys", outbox.stream().map(OutboxRow::key).toArray(String[]::new))
          .bind("types", outbox.stream().map(OutboxRow::type).toArray(String[]::new))
          .bind("payloads", outbox.stream().map(OutboxRow::json).toArray(String[]::new))
          .execute();
    }
    if (!audit.isEmpty()) {
      List<AuditRow> rows = List.copyOf(audit.values());
      // A later outcome replaces an earlier one only where that one was not final: a
      // dead-lettered event that is re-driven and then applies becomes processed; a processed or
      // ignored event never becomes failed.
      tx.createUpdate(
              """
              INSERT INTO webhook_events
                  (event_id, event_type, payload, received_at, processed_at, status, error_message)
              SELECT id, type, CAST(payload AS jsonb), received, processed, status, error
              FROM unnest(CAST(:ids AS text[]), CAST(:types AS text[]),
                          CAST(:payloads AS text[]), CAST(:received AS timestamptz[]),
                          CAST(:processed AS timestamptz[]), CAST(:statuses AS text[]),
                          CAST(:errors AS text[]))
                   AS e(id, type, payload, received, processed, status, error)
              ON CONFLICT (event_id) DO UPDATE
              SET status = EXCLUDED.status,
                  processed_at = EXCLUDED.processed_at,
                  error_message = EXCLUDED.error_message
              WHERE webhook_events.status IN ('received', 'failed')
              """)
          .bind("ids", rows.stream().map(AuditRow::eventId).toArray(String[]::new))
          .bind("types", rows.stream().map(AuditRow::eventType).toArray(String[]::new))
          .bind("payloads", rows.stream().map(AuditRow::payload).toArray(String[]::new))
          .bind(
              "received", rows.stream().map(r -> r.receivedAt().toString()).toArray(String[]::new))
          .bind(
              "processed",
              rows.stream().map(r -> r.processedAt().toString()).toArray(String[]::new))
          .bind("statuses", rows.stream().map(AuditRow::status).toArray(String[]::new))
          .bind("errors", rows.stream().map(AuditRow::error).toArray(String[]::new))
          .execute();
    }
    discard();
  }

  /** Forgets everything appended: the transaction ended (rolled back, or flushed). */
  void discard() {
    outbox.clear();
    audit.clear();
    open = null;
  }

  private void check(Handle tx) {
    if (open == null || open != Objects.requireNonNull(tx, "tx")) {
      throw new IllegalStateException(
          "pending writes used outside the worker transaction that flushes them");
    }
  }

  private record OutboxRow(
      UUID id, Destination destination, String key, String type, String json) {}

  private record AuditRow(
      String eventId,
      String eventType,
      String payload,
      Instant receivedAt,
      Instant processedAt,
      String status,
      String error) {}
}
