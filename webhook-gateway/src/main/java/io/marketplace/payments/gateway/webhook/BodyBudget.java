package io.marketplace.payments.gateway.webhook;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;

/**
 * Bounds the memory that request bodies hold at once, counted as the bytes arrive: a client that
 * declares 1 MiB (or sends chunks) and then one byte holds a KiB of it, not a MiB. Every request
 * runs on a virtual thread of its own, so concurrency alone does not bound memory: without this, a
 * few hundred 1 MiB uploads in flight would exhaust the heap. A Stripe event is a few KB, so in
 * normal traffic the budget never binds.
 *
 * <p>One client address holds at most a share of the budget in unfinished bodies, so that one
 * address cannot take the room all others need. The address is the peer of the TCP connection:
 * behind a proxy that is the proxy, and the share then bounds all that comes through that proxy.
 */
final class BodyBudget {

  static final int KIB = 1024;

  private final Semaphore kibibytes;
  private final long perAddressKib;
  private final ConcurrentHashMap<String, Long> heldByAddress = new ConcurrentHashMap<>();

  /**
   * {@code maxBytes} for all bodies at once, and {@code maxBytesPerAddress} for the bodies of one
   * client address.
   */
  BodyBudget(long maxBytes, long maxBytesPerAddress) {
    this.kibibytes = new Semaphore((int) Math.max(1, maxBytes / KIB), false);
    this.perAddressKib = Math.max(1, maxBytesPerAddress / KIB);
  }

  /** Room for one body from {@code address}, empty until the body grows into it. */
  Reservation open(String address) {
    return new Reservation(address);
  }

  /**
   * Room of the whole budget, not of any address's share, lent for the moment of some work on a
   * body (its signature check): empty when the budget has none left. The share bounds what one
   * address holds in unfinished bodies; behind an ingress every sender is one address, so the
   * work's room is not charged to it.
   */
  java.util.Optional<Loan> lend(long bytes) {
    int kib = (int) Math.max(1, (bytes + KIB - 1) / KIB);
    return kibibytes.tryAcquire(kib)
        ? java.util.Optional.of(new Loan(kib))
        : java.util.Optional.empty();
  }

  /** Room lent by {@link #lend}; close it when the work is done. */
  final class Loan implements AutoCloseable {
    private int kib;

    private Loan(int kib) {
      this.kib = kib;
    }

    @Override
    public void close() {
      if (kib > 0) {
        kibibytes.release(kib);
        kib = 0;
      }
    }
  }

  /** KiB of the whole budget free now. */
  int availableKib() {
    return kibibytes.availablePermits();
  }

  /** Room held for one body; close it once the body is no longer needed. */
  final class Reservation implements AutoCloseable {
    private final String address;
    private long heldKib;

    private Reservation(String address) {
      this.address = address;
    }

    /**
     * Grows the room to {@code bytes} in all; false, holding what it held, when the budget or this
     * address's share of it has no room for more.
     */
    boolean growTo(long bytes) {
      long neededKib = Math.max(1, (bytes + KIB - 1) / KIB) - heldKib;
      if (neededKib <= 0) {
        return true;
      }
      boolean[] granted = new boolean[1];
      heldByAddress.compute(
          address,
          (key, held) -> {
            long now = held == null ? 0 : held;
            if (now + neededKib > perAddressKib) {
              return held;
            }
            granted[0] = true;
            return now + neededKib;
          });
      if (!granted[0]) {
        return false;
      }
      if (!kibibytes.tryAcquire((int) neededKib)) {
        releaseFromAddress(neededKib);
        return false;
      }
      heldKib += neededKib;
      return true;
    }

    @Override
    public void close() {
      if (heldKib > 0) {
        kibibytes.release((int) heldKib);
        releaseFromAddress(heldKib);
        heldKib = 0;
      }
    }

    private void releaseFromAddress(long kib) {
      heldByAddress.computeIfPresent(address, (key, held) -> held - kib <= 0 ? null : held - kib);
    }
  }
}
