package io.marketplace.payments.common.db;

import java.util.UUID;
import org.jdbi.v3.core.Handle;

/**
 * Serializes what changes a user's risk flags: payment-risk recording a signal and an admin
 * clearing the user's flags. Each reads what the other writes (a signal raised before a clear is
 * recorded as cleared; a clear clears the flags there are), so the two must not interleave: under
 * PostgreSQL's READ COMMITTED, a clear that committed while a signal's transaction was between its
 * read and its insert would leave that signal's flag active after the clear. A transaction-level
 * advisory lock per user, taken first by both, orders them; it is released at commit or rollback.
 */
public final class UserRiskLock {

  /** Keeps these locks apart from every other advisory lock of the database. */
  private static final String NAMESPACE = "user-risk:";

  private UserRiskLock() {}

  /** Takes the lock of {@code userId} until {@code tx} ends, waiting for a holder to finish. */
  public static void lock(Handle tx, UUID userId) {
    tx.createQuery("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0)) IS NULL")
        .bind("key", NAMESPACE + userId)
        .mapTo(Boolean.class)
        .one();
  }
}
