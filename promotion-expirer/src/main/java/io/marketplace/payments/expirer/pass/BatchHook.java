package io.marketplace.payments.expirer.pass;

/**
 * Called inside each batch's transaction, after its rows and events are written and before the
 * commit. Production passes none; tests throw from it to interrupt a pass at exactly that point.
 */
@FunctionalInterface
public interface BatchHook {

  BatchHook NONE = (expiry, batchNumber, rows) -> {};

  /**
   * @param expiry the {@link Expiry#name()} of the batch
   * @param batchNumber 1 for the first batch of the pass, counting every kind
   * @param rows how many rows the batch ended
   */
  void beforeCommit(String expiry, int batchNumber, int rows);
}
