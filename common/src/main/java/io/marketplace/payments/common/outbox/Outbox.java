package io.marketplace.payments.common.outbox;

import io.marketplace.payments.common.events.PaymentEvent;
import io.marketplace.payments.common.json.Json;
import java.util.UUID;
import org.jdbi.v3.core.Handle;

/**
 * Appends messages to publish, inside the caller's transaction, so a state change and its
 * announcement commit together or not at all. The {@link OutboxRelay} publishes them.
 */
public final class Outbox {

  private Outbox() {}

  /**
   * Appends a {@code payments.events.v1} event keyed by {@code key} (the listing id, or the user id
   * for user events). Returns false when an event with this id was appended before: the fact was
   * already announced.
   */
  public static boolean append(Handle tx, PaymentEvent event, String key) {
    return append(
        tx,
        Destination.PAYMENT_EVENTS,
        event.id(),
        key,
        event.type().wireName(),
        Json.write(event));
  }

  /** Appends any message with a stable id to a destination; false when that id is already there. */
  public static boolean append(
      Handle tx, Destination destination, UUID id, String key, String type, String json) {
    return tx.createUpdate(
                """
                INSERT INTO outbox_events (event_id, destination, message_key, event_type, payload)
                VALUES (:id, :destination, :key, :type, :payload)
                ON CONFLICT (event_id) DO NOTHING
                """)
            .bind("id", id)
            .bind("destination", destination.name())
            .bind("key", key)
            .bind("type", type)
            .bind("payload", json)
            .execute()
        == 1;
  }
}
