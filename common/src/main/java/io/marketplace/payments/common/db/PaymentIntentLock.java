package io.marketplace.payments.common.db;

import org.jdbi.v3.core.Handle;

/**
 * Serializes, for one PaymentIntent we have no {@code payments} row for, the payment processor
 * rebuilding that row from the PaymentIntent's metadata and the refund worker keeping a Stripe
 * refund of it until the row exists ({@code refunds_awaiting_payment}), or a dispute of it without
 * a user ({@code payment_disputes}). The processor counts the kept refunds and the kept disputes'
 * chargebacks as money gone back when it decides whether to deliver; with no row to lock, under
 * PostgreSQL's READ COMMITTED a refund kept while the processor was between its read and its insert
 * would be seen by neither: the purchase delivered and the refund recorded after it. A
 * transaction-level advisory lock per PaymentIntent, taken by both before they look again, orders
 * them; it is released at commit or rollback. The processor takes it once it holds the rows of its
 * batch; a worker transaction that holds one of those rows while it waits for the lock deadlocks
 * with it, and PostgreSQL fails one of the two, which its worker retries.
 */
public final class PaymentIntentLock {

  /** Keeps these locks apart from every other advisory lock of the database. */
  private static final String NAMESPACE = "payment-intent:";

  private PaymentIntentLock() {}

  /**
   * Takes the lock of {@code paymentIntentId} until {@code tx} ends, waiting for a holder to
   * finish.
   */
  public static void lock(Handle tx, String paymentIntentId) {
    tx.createQuery("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0)) IS NULL")
        .bind("key", NAMESPACE + paymentIntentId)
        .mapTo(Boolean.class)
        .one();
  }
}
