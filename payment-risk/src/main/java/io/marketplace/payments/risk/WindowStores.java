package io.marketplace.payments.risk;

import java.time.Duration;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.kstream.Windowed;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.Stores;
import org.apache.kafka.streams.state.TimestampedBytesStore;
import org.apache.kafka.streams.state.WindowBytesStoreSupplier;
import org.apache.kafka.streams.state.WindowStore;
import org.apache.kafka.streams.state.WindowStoreIterator;
import org.apache.kafka.streams.state.internals.WrappedStateStore;

/**
 * The window stores of the risk service: RocksDB's, as {@link Stores} makes them, whose changelog
 * offset Kafka Streams keeps in a checkpoint file beside the store instead of inside it.
 *
 * <p>Since Kafka Streams 4.3 a RocksDB store keeps the changelog offset of its last commit inside
 * itself, and a window store keeps it in each of its segments. A window store without a segment
 * (nothing counted on its partition yet, or all of it expired: a user's tallies after a quiet
 * quarter of an hour) has nowhere to keep it, and after a clean stop reports none. Under {@code
 * exactly_once_v2}, a task whose directory holds files while one of its stores knows no offset is
 * taken for one that crashed mid-transaction: every start found every task corrupted, wiped it and
 * restored each of its stores from its changelog.
 *
 * <p>These stores say that they do not manage their offsets, so Kafka Streams keeps them itself, in
 * a {@code .checkpoint_<store>} file of the task's directory: written when the task closes clean,
 * deleted when the store opens under exactly-once (so a crash leaves none, and the task is rebuilt
 * as it must be).
 */
final class WindowStores {

  private WindowStores() {}

  /** {@link Stores#persistentWindowStore} without duplicates, its offset in a checkpoint file. */
  static WindowBytesStoreSupplier persistent(String name, Duration retention, Duration windowSize) {
    return new Checkpointed(Stores.persistentWindowStore(name, retention, windowSize, false));
  }

  /**
   * {@link Stores#persistentTimestampedWindowStore} without duplicates, its offset in a checkpoint
   * file: the store a windowed aggregation materializes by default.
   */
  static WindowBytesStoreSupplier persistentTimestamped(
      String name, Duration retention, Duration windowSize) {
    return new Checkpointed(
        Stores.persistentTimestampedWindowStore(name, retention, windowSize, false));
  }

  /** {@code rocksDb}'s stores, each in an {@link OffsetsNotManaged}. */
  private record Checkpointed(WindowBytesStoreSupplier rocksDb)
      implements WindowBytesStoreSupplier {

    @Override
    public String name() {
      return rocksDb.name();
    }

    @Override
    public WindowStore<Bytes, byte[]> get() {
      WindowStore<Bytes, byte[]> store = rocksDb.get();
      // the format of the values is told by this marker: an adapter would convert them again
      return store instanceof TimestampedBytesStore
          ? new TimestampedOffsetsNotManaged(store)
          : new OffsetsNotManaged(store);
    }

    @Override
    public String metricsScope() {
      return rocksDb.metricsScope();
    }

    @Override
    public long segmentIntervalMs() {
      return rocksDb.segmentIntervalMs();
    }

    @Override
    public long windowSize() {
      return rocksDb.windowSize();
    }

    @Override
    public boolean retainDuplicates() {
      return rocksDb.retainDuplicates();
    }

    @Override
    public long retentionPeriod() {
      return rocksDb.retentionPeriod();
    }
  }

  /**
   * A window store that leaves its changelog offsets to Kafka Streams' checkpoint file; in all else
   * the store it wraps (a {@link WrappedStateStore}, which Kafka Streams looks through for the
   * store's format).
   */
  private static class OffsetsNotManaged
      extends WrappedStateStore<WindowStore<Bytes, byte[]>, Bytes, byte[]>
      implements WindowStore<Bytes, byte[]> {

    OffsetsNotManaged(WindowStore<Bytes, byte[]> wrapped) {
      super(wrapped);
    }

    @Override
    @SuppressWarnings("deprecation") // the way a store opts out of managing its offsets
    public boolean managesOffsets() {
      return false;
    }

    @Override
    public Long committedOffset(TopicPartition partition) {
      return null; // a store that does not manage its offsets knows none
    }

    @Override
    public void put(Bytes key, byte[] value, long windowStartTimestamp) {
      wrapped().put(key, value, windowStartTimestamp);
    }

    @Override
    public byte[] fetch(Bytes key, long time) {
      return wrapped().fetch(key, time);
    }

    @Override
    public WindowStoreIterator<byte[]> fetch(Bytes key, long timeFrom, long timeTo) {
      return wrapped().fetch(key, timeFrom, timeTo);
    }

    @Override
    public WindowStoreIterator<byte[]> backwardFetch(Bytes key, long timeFrom, long timeTo) {
      return wrapped().backwardFetch(key, timeFrom, timeTo);
    }

    @Override
    public KeyValueIterator<Windowed<Bytes>, byte[]> fetch(
        Bytes keyFrom, Bytes keyTo, long timeFrom, long timeTo) {
      return wrapped().fetch(keyFrom, keyTo, timeFrom, timeTo);
    }

    @Override
    public KeyValueIterator<Windowed<Bytes>, byte[]> backwardFetch(
        Bytes keyFrom, Bytes keyTo, long timeFrom, long timeTo) {
      return wrapped().backwardFetch(keyFrom, keyTo, timeFrom, timeTo);
    }

    @Override
    public KeyValueIterator<Windowed<Bytes>, byte[]> fetchAll(long timeFrom, long timeTo) {
      return wrapped().fetchAll(timeFrom, timeTo);
    }

    @Override
    public KeyValueIterator<Windowed<Bytes>, byte[]> backwardFetchAll(long timeFrom, long timeTo) {
      return wrapped().backwardFetchAll(timeFrom, timeTo);
    }

    @Override
    public KeyValueIterator<Windowed<Bytes>, byte[]> all() {
      return wrapped().all();
    }

    @Override
    public KeyValueIterator<Windowed<Bytes>, byte[]> backwardAll() {
      return wrapped().backwardAll();
    }
  }

  /** {@link OffsetsNotManaged} of a store whose values carry their timestamp. */
  private static final class TimestampedOffsetsNotManaged extends OffsetsNotManaged
      implements TimestampedBytesStore {

    TimestampedOffsetsNotManaged(WindowStore<Bytes, byte[]> wrapped) {
      super(wrapped);
    }
  }
}
