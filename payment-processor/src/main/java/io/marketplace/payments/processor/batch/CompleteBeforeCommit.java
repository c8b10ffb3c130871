package io.marketplace.payments.processor.batch;

import java.sql.SQLException;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.HandleCallback;
import org.jdbi.v3.core.transaction.TransactionHandler;
import org.jdbi.v3.core.transaction.TransactionIsolationLevel;

/**
 * Jdbi's transaction handling plus one step: the transaction's {@link EventBatch} is applied at the
 * end of the transaction's work, inside it, before the commit; a failure there rolls everything
 * back like any other. Installed only on the worker's own Jdbi, whose transactions all run on the
 * worker thread.
 */
public final class CompleteBeforeCommit implements TransactionHandler {

  private final TransactionHandler delegate;
  private final EventBatch batch;

  public CompleteBeforeCommit(TransactionHandler delegate, EventBatch batch) {
    this.delegate = delegate;
    this.batch = batch;
  }

  @Override
  public <R, X extends Exception> R inTransaction(Handle handle, HandleCallback<R, X> callback)
      throws X {
    return delegate.inTransaction(handle, h -> completing(h, callback));
  }

  @Override
  public <R, X extends Exception> R inTransaction(
      Handle handle, TransactionIsolationLevel level, HandleCallback<R, X> callback) throws X {
    return delegate.inTransaction(handle, level, h -> completing(h, callback));
  }

  private <R, X extends Exception> R completing(Handle h, HandleCallback<R, X> callback) throws X {
    if (batch.isOpenOn(h)) {
      return callback.withHandle(h); // nested: the outermost transaction completes the batch
    }
    batch.open(h);
    try {
      R result = callback.withHandle(h);
      batch.complete(h);
      return result;
    } finally {
      batch.close();
    }
  }

  @Override
  public TransactionHandler specialize(Handle handle) throws SQLException {
    return new CompleteBeforeCommit(delegate.specialize(handle), batch);
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
