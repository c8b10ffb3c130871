package io.marketplace.payments.processor.tx;

import java.sql.SQLException;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.HandleCallback;
import org.jdbi.v3.core.transaction.TransactionHandler;
import org.jdbi.v3.core.transaction.TransactionIsolationLevel;

/**
 * Jdbi's transaction handling, plus one step: the transaction's {@link PendingWrites} are written
 * at the end of the transaction's work, inside it, before the commit. A failure there rolls the
 * whole transaction back like any other. Installed only on the worker's own Jdbi, whose
 * transactions all run on the worker thread.
 */
public final class FlushBeforeCommit implements TransactionHandler {

  private final TransactionHandler delegate;
  private final PendingWrites pending;

  public FlushBeforeCommit(TransactionHandler delegate, PendingWrites pending) {
    this.delegate = delegate;
    this.pending = pending;
  }

  @Override
  public <R, X extends Exception> R inTransaction(Handle handle, HandleCallback<R, X> callback)
      throws X {
    return delegate.inTransaction(handle, h -> flushing(h, callback));
  }

  @Override
  public <R, X extends Exception> R inTransaction(
      Handle handle, TransactionIsolationLevel level, HandleCallback<R, X> callback) throws X {
    return delegate.inTransaction(handle, level, h -> flushing(h, callback));
  }

  private <R, X extends Exception> R flushing(Handle h, HandleCallback<R, X> callback) throws X {
    if (pending.isOpenOn(h)) {
      return callback.withHandle(h); // nested: the outermost transaction flushes
    }
    pending.open(h);
    try {
      R result = callback.withHandle(h);
      pending.flush(h);
      return result;
    } finally {
      pending.discard();
    }
  }

  @Override
  public TransactionHandler specialize(Handle handle) throws SQLException {
    return new FlushBeforeCommit(delegate.specialize(handle), pending);
  }

  @Override
  public void begin(Handle handle) {
    delegate.begin(handle);
  }

  @Override
  public void commit(Handle handle) {
    delegate.commit(handle);
  }

  @Override
  public void rollback(Handle handle) {
    delegate.rollback(handle);
  }

  @Override
  public boolean isInTransaction(Handle handle) {
    return delegate.isInTransaction(handle);
  }

  @Override
  public void savepoint(Handle handle, String name) {
    delegate.savepoint(handle, name);
  }

  @Override
  public void rollbackToSavepoint(Handle handle, String name) {
    delegate.rollbackToSavepoint(handle, name);
  }

  @Override
  public void releaseSavepoint(Handle handle, String name) {
    delegate.releaseSavepoint(handle, name);
  }
}
