package io.marketplace.payments.risk;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.TimestampedKeyValueStore;
import org.apache.kafka.streams.state.ValueAndTimestamp;

/**
 * What the risk service remembers of each PaymentIntent (its user, or its category), for as long as
 * a dispute of it may still come: {@code RISK_PAYMENT_INTENT_RETENTION} (180 days by default;
 * Stripe accepts disputes up to 120 days after the charge) after the PaymentIntent was last
 * confirmed, then forgotten.
 *
 * <p>Confirmed means: named by a {@code payment_intent.*} event (its metadata), or looked up by any
 * later event of the PaymentIntent (a refund, a dispute and its escalation), each stamping the
 * entry with its event time, never moving it back; a look-up re-stamps an entry only once it is a
 * day old, so the events of one payment write it once. Its age is measured in event time (the
 * Stripe events' {@code created}, as the dispute window and the service's windows are), against the
 * latest event this task has processed, never later than the wall clock. By the wall clock alone, a
 * replay into fresh state, or a backlog caught up, would forget the PaymentIntents of the old
 * events at once, before the disputes that follow them in the topic; by event time alone, one event
 * dated in the future would make everything look expired. A task that has processed no event since
 * it started forgets nothing.
 *
 * <p>A {@link #sweep} walks the store a bounded number of entries at a time, from where the last
 * one stopped, and deletes the expired ones: the deletes are logged, tombstones of the store's
 * compacted changelog, so a restore does not bring them back. The store is a timestamped one under
 * the name it always had: its changelog topic keeps its name and format (the value as a plain
 * string, the time as the record's timestamp), so entries written before the retention existed are
 * restored with the time they were written (the Kafka time of the event that wrote them); a local
 * store of that time is read in Kafka Streams' upgrade mode, its entries without a time, which a
 * sweep or a look-up stamps with the current one (kept a whole retention from then, never dropped
 * for want of a time).
 */
final class PaymentIntentMemory {

  /** How much older than its stamp an event must be to re-stamp an entry it only looks up. */
  static final Duration RESTAMP_STEP = Duration.ofDays(1);

  private final TimestampedKeyValueStore<String, String> store;
  private final long retentionMs;

  /** The last key the sweep looked at, null to start from the first. */
  private String sweptTo;

  PaymentIntentMemory(TimestampedKeyValueStore<String, String> store, Duration retention) {
    this.store = store;
    this.retentionMs = retention.toMillis();
  }

  /** What is remembered of {@code paymentIntent}, or null. */
  String get(String paymentIntent) {
    return ValueAndTimestamp.getValueOrNull(store.get(paymentIntent));
  }

  /** Remembers {@code value} of {@code paymentIntent}, named by an event of {@code at}. */
  void remember(String paymentIntent, String value, long at) {
    ValueAndTimestamp<String> known = store.get(paymentIntent);
    if (known == null || !known.value().equals(value)) {
      store.put(paymentIntent, ValueAndTimestamp.make(value, stamp(known, at)));
    } else {
      confirm(paymentIntent, known, at);
    }
  }

  /** Keeps what is known of {@code paymentIntent}, if anything, from an event of {@code at}. */
  void confirm(String paymentIntent, long at) {
    ValueAndTimestamp<String> known = store.get(paymentIntent);
    if (known != null) {
      confirm(paymentIntent, known, at);
    }
  }

  private void confirm(String paymentIntent, ValueAndTimestamp<String> known, long at) {
    if (known.timestamp() < 0 || at - known.timestamp() >= RESTAMP_STEP.toMillis()) {
      store.put(paymentIntent, ValueAndTimestamp.make(known.value(), stamp(known, at)));
    }
  }

  private static long stamp(ValueAndTimestamp<String> known, long at) {
    return known == null ? at : Math.max(known.timestamp(), at);
  }

  /**
   * Looks at up to {@code limit} entries, from where the last sweep stopped (from the first after
   * the last), deleting those last confirmed more than the retention before {@code now} and
   * stamping those without a time with {@code now}.
   *
   * @return the entries deleted
   */
  int sweep(long now, int limit) {
    long expiredBefore = now - retentionMs;
    List<String> expired = new ArrayList<>();
    List<KeyValue<String, String>> undated = new ArrayList<>();
    String last = null;
    int seen = 0;
    try (KeyValueIterator<String, ValueAndTimestamp<String>> entries = store.range(sweptTo, null)) {
      while (entries.hasNext() && seen < limit) {
        KeyValue<String, ValueAndTimestamp<String>> entry = entries.next();
        if (entry.key.equals(sweptTo)) {
          continue; // looked at by the last sweep
        }
        seen++;
        last = entry.key;
        long stamp = entry.value.timestamp();
        if (stamp < 0) { // written before entries had a time: Kafka Streams' upgrade gives -1
          undated.add(KeyValue.pair(entry.key, entry.value.value()));
        } else if (stamp < expiredBefore) {
          expired.add(entry.key);
        }
      }
      sweptTo = entries.hasNext() ? last : null; // at the end: the next sweep starts over
    }
    // changed once the iterator is closed
    for (String key : expired) {
      store.delete(key);
    }
    for (KeyValue<String, String> entry : undated) {
      store.put(entry.key, ValueAndTimestamp.make(entry.value, now));
    }
    return expired.size();
  }
}
