package io.marketplace.payments.risk;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.streams.state.RocksDBConfigSetter;
import org.rocksdb.BlockBasedTableConfig;
import org.rocksdb.Cache;
import org.rocksdb.LRUCache;
import org.rocksdb.Options;
import org.rocksdb.WriteBufferManager;

/**
 * Bounds the native memory of every RocksDB store of the service by one budget ({@code
 * RISK_STORE_MEMORY_MB}), as Kafka Streams' memory management guide does it: one block cache shared
 * by all stores, with index and filter blocks in it, and their memtables charged to that cache by
 * one write buffer manager. Left to their defaults, each store instance, and each segment of a
 * window store, has a block cache of its own (50 MiB) and up to three 16 MiB memtables, outside the
 * Java heap and outside {@code -XX:MaxRAMPercentage}: with a task's stores, their segments and the
 * standby copies, that grows past the pod's memory limit under load, and the kernel kills the
 * process.
 *
 * <p>Kafka Streams makes an instance per store by reflection; the cache and the manager are shared
 * by every store of the JVM with the same budget, and never closed (stores come and go with
 * rebalances, the budget stays).
 */
public final class BoundedStoreMemory implements RocksDBConfigSetter {

  /** The budget in bytes, passed among the application's settings. */
  public static final String BYTES_CONFIG = "payments.risk.store.memory.bytes";

  /** The share of the budget that memtables may take; the rest caches blocks. */
  private static final double MEMTABLE_SHARE = 0.25;

  /** The share of the cache kept for index and filter blocks, evicted last. */
  private static final double INDEX_FILTER_SHARE = 0.1;

  private record Shared(Cache cache, WriteBufferManager writeBuffers) {}

  private static final Map<Long, Shared> SHARED = new ConcurrentHashMap<>();

  @Override
  public void setConfig(String storeName, Options options, Map<String, Object> configs) {
    long budget = budget(configs);
    Shared shared =
        SHARED.computeIfAbsent(
            budget,
            bytes -> {
              Cache cache = new LRUCache(bytes, -1, false, INDEX_FILTER_SHARE);
              return new Shared(
                  cache, new WriteBufferManager((long) (bytes * MEMTABLE_SHARE), cache));
            });
    BlockBasedTableConfig table = (BlockBasedTableConfig) options.tableFormatConfig();
    table.setBlockCache(shared.cache());
    table.setCacheIndexAndFilterBlocks(true);
    table.setCacheIndexAndFilterBlocksWithHighPriority(true);
    table.setPinTopLevelIndexAndFilter(true);
    options.setTableFormatConfig(table);
    options.setWriteBufferManager(shared.writeBuffers());
  }

  @Override
  public void close(String storeName, Options options) {
    // the cache and the write buffer manager are every store's: they outlive this one
  }

  private static long budget(Map<String, Object> configs) {
    Object value = configs.get(BYTES_CONFIG);
    if (value == null) {
      throw new IllegalStateException(BYTES_CONFIG + " is not among the application's settings");
    }
    return value instanceof Number n ? n.longValue() : Long.parseLong(value.toString());
  }
}
