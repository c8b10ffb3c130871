package io.marketplace.payments.expirer.pass;

import java.util.List;
import java.util.UUID;
import org.jdbi.v3.core.Handle;

/**
 * Where a batch's events sit in the outbox, so {@code --once} can wait until they are published.
 */
public final class OutboxSeqs {

  private OutboxSeqs() {}

  /** The highest outbox sequence number among {@code eventIds} (0 when none is there). */
  public static long last(Handle tx, List<UUID> eventIds) {
    return tx.createQuery(
            "SELECT coalesce(max(seq), 0) FROM outbox_events WHERE event_id = ANY(:ids)")
        .bindArray("ids", UUID.class, eventIds)
        .mapTo(Long.class)
        .one();
  }

  /** True when every outbox row up to {@code seq} is published, whoever's relay published it. */
  public static boolean publishedThrough(Handle h, long seq) {
    return h.createQuery(
            """
            SELECT NOT EXISTS (
              SELECT 1 FROM outbox_events WHERE published_at IS NULL AND seq <= :seq)
            """)
        .bind("seq", seq)
        .mapTo(Boolean.class)
        .one();
  }
}
