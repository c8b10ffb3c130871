package io.marketplace.payments.expirer.pass;

import java.time.Instant;
import java.util.List;
import org.jdbi.v3.core.Handle;

/** One kind of thing a pass ends on time: featured promotions, listings. */
public interface Expiry {

  /** The names of the two kinds, as counted in {@code expirer_runs} and the metrics. */
  String PROMOTIONS = "promotions";

  String LISTINGS = "listings";

  /** Names the kind in logs, metrics ({@code payments.expirer.<name>.expired}) and results. */
  String name();

  /**
   * Ends at most {@code limit} rows whose end is at or before {@code now}, and appends their events
   * to the outbox, all inside {@code tx}: the rows and their announcements commit together or not
   * at all. Rows another transaction holds are skipped, not waited for.
   */
  Batch expireBatch(Handle tx, Instant now, int limit);

  /**
   * How many rows due at {@code now} are still running, asked once the batches of this kind came
   * back short: then every due row no other transaction held is ended, so what is left is what one
   * held (a payment worker, a moderator) when the pass came to it. A pass that leaves such rows is
   * not complete, and is tried again soon rather than at the next scheduled pass. Reads without
   * locking, so it never waits for the holder either.
   */
  long stillDue(Handle handle, Instant now);

  /**
   * What one batch ended.
   *
   * @param expired how many rows it ended
   * @param outboxSeqs the outbox sequence numbers of its events (none when it announces nothing)
   */
  record Batch(int expired, List<Long> outboxSeqs) {

    public static final Batch EMPTY = new Batch(0, List.of());

    public Batch {
      outboxSeqs = List.copyOf(outboxSeqs);
    }
  }
}
