package io.marketplace.payments.common.worker;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.jdbi.v3.core.Handle;

/** The record of what each consumer has applied; written in the same transaction as the effect. */
public final class ProcessedEvents {

  private ProcessedEvents() {}

  /** Marks {@code key} applied by {@code consumer}; false when it already was. */
  public static boolean markIfNew(Handle tx, String consumer, String key) {
    return tx.createUpdate(
                """
                INSERT INTO processed_events (consumer, event_key) VALUES (:consumer, :key)
                ON CONFLICT DO NOTHING
                """)
            .bind("consumer", consumer)
            .bind("key", key)
            .execute()
        == 1;
  }

  /**
   * Marks every key of {@code keys} applied by {@code consumer} in one statement; returns those
   * that were not marked before (duplicates within {@code keys} are marked once).
   */
  public static Set<String> markNew(Handle tx, String consumer, List<String> keys) {
    if (keys.isEmpty()) {
      return new HashSet<>();
    }
    return new HashSet<>(
        tx.createQuery(
                """
                INSERT INTO processed_events (consumer, event_key)
                SELECT :consumer, k FROM unnest(:keys) AS k
                ON CONFLICT DO NOTHING
                RETURNING event_key
                """)
            .bind("consumer", consumer)
            .bind("keys", keys.toArray(String[]::new))
            .mapTo(String.class)
            .list());
  }

  public static boolean contains(Handle h, String consumer, String key) {
    return h.createQuery(
                "SELECT count(*) FROM processed_events WHERE consumer = :consumer AND event_key = :key")
            .bind("consumer", consumer)
            .bind("key", key)
            .mapTo(Long.class)
            .one()
        > 0;
  }
}
