package io.marketplace.payments.refunds.refund;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BiFunction;

/**
 * Where a {@link RefundJanitor.Pass} that takes at most a batch of its due rows a round goes on
 * from: after the last row the round before took, in the pass's order, and from the first again
 * once past the last. Rows that stay due round after round (ones it cannot handle, {@link
 * JanitorRows}) then do not keep the rows after them waiting for good, however many they are. Kept
 * in memory: a restarted worker, or another replica, starts from the first.
 *
 * @param <K> a row's key in the pass's order, with value equality (a record)
 */
public final class JanitorCursor<K> {

  private final AtomicReference<K> after = new AtomicReference<>();

  /**
   * Up to {@code limit} due rows: those after the cursor, then, past the last, those from the
   * first. {@code page} answers up to {@code limit} due rows after a key (null: from the first), in
   * order.
   */
  public List<K> due(BiFunction<K, Integer, List<K>> page, int limit) {
    K start = after.get();
    List<K> due = new ArrayList<>(page.apply(start, limit));
    if (due.size() < limit && start != null) {
      Set<K> taken = new HashSet<>(due);
      for (K key : page.apply(null, limit - due.size())) {
        if (taken.add(key)) {
          due.add(key);
        }
      }
    }
    return due;
  }

  /** The next round goes on after {@code last}; null: from the first. */
  public void reached(K last) {
    after.set(last);
  }
}
