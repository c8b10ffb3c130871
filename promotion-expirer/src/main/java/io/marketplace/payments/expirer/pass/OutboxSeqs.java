package io.marketplace.payments.expirer.pass;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.jdbi.v3.core.Handle;

/** Where a pass's events sit in the outbox, so {@code --once} can wait until they are published. */
public final class OutboxSeqs {

  /** Sequence numbers asked about per statement. */
  private static final int CHUNK = 10_000;

  private OutboxSeqs() {}

  /**
   * The outbox sequence numbers of {@code eventIds} (an event appended before, not yet published,
   * keeps its first row's), in order.
   */
  public static List<Long> of(Handle tx, List<UUID> eventIds) {
    return tx.createQuery("SELECT seq FROM outbox_events WHERE event_id = ANY(:ids) ORDER BY seq")
        .bindArray("ids", UUID.class, eventIds)
        .mapTo(Long.class)
        .list();
  }

  /**
   * Those of {@code seqs} whose rows are not yet published. Only these rows are asked about: a row
   * another service wrote, which the relay keeps because the broker refuses it (the relay's alert
   * tells of it), is no event of the pass's, and does not hold back the answer.
   */
  public static List<Long> unpublished(Handle h, List<Long> seqs) {
    List<Long> left = new ArrayList<>();
    for (int from = 0; from < seqs.size(); from += CHUNK) {
      left.addAll(
          h.createQuery(
                  """
                  SELECT seq FROM outbox_events
                  WHERE seq = ANY(:seqs) AND published_at IS NULL ORDER BY seq
                  """)
              .bindArray(
                  "seqs", Long.class, seqs.subList(from, Math.min(seqs.size(), from + CHUNK)))
              .mapTo(Long.class)
              .list());
    }
    return left;
  }
}
