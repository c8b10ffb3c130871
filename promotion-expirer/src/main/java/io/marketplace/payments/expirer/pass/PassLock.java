package io.marketplace.payments.expirer.pass;

import io.marketplace.payments.common.db.Database;
import io.marketplace.payments.common.db.DbConfig;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One pass at a time across the fleet: a PostgreSQL session advisory lock, taken with {@code
 * pg_try_advisory_lock} on a connection of its own that is opened for the pass and closed after it.
 *
 * <p>Why a session lock on a dedicated connection rather than {@code pg_try_advisory_xact_lock} per
 * batch: a pass is many transactions, and a lock per batch would let two replicas interleave their
 * batches, which is safe but is two passes at once. Why not a pooled connection: a session lock
 * survives the connection's return to the pool, so a failed unlock would leave an idle pooled
 * connection holding the lock and stall every other replica. Closing our own connection always
 * releases it, and so does the death of the process (PostgreSQL ends the session).
 *
 * <p>The lock is for order, not for correctness: each batch locks its rows ({@code FOR UPDATE SKIP
 * LOCKED}) and re-checks that they are still running, and event ids are derived from the rows, so
 * even two passes that both believe they hold the lock end each row once and announce it once.
 */
public final class PassLock {

  private static final Logger log = LoggerFactory.getLogger(PassLock.class);

  /** "expirer" in ASCII: the lock id every replica agrees on. */
  static final long KEY = 0x65787069726572L;

  static final String APPLICATION_NAME = "promotion-expirer-pass-lock";

  private final DbConfig db;

  public PassLock(DbConfig db) {
    this.db = db;
  }

  /** The lock if no one else holds it; empty when another pass is running. */
  public Optional<Held> tryAcquire() {
    Connection connection = connect();
    try (PreparedStatement statement =
        connection.prepareStatement("SELECT pg_try_advisory_lock(?)")) {
      statement.setLong(1, KEY);
      try (ResultSet result = statement.executeQuery()) {
        result.next();
        if (result.getBoolean(1)) {
          return Optional.of(new Held(connection));
        }
      }
    } catch (SQLException e) {
      closeQuietly(connection);
      throw new IllegalStateException("could not ask for the pass lock: " + e.getMessage(), e);
    }
    closeQuietly(connection);
    return Optional.empty();
  }

  /**
   * Opened as every service's sessions are ({@link Database#openSession(DbConfig, String)}): the
   * configured connect and read timeouts, so a database that goes silent fails the lock query or
   * the unlock within {@code DATABASE_SOCKET_TIMEOUT} instead of holding the pass and the scheduler
   * thread for hours; and TCP keepalives, so a vanished replica's lock does not linger.
   */
  private Connection connect() {
    try {
      return Database.openSession(db, APPLICATION_NAME);
    } catch (SQLException e) {
      throw new IllegalStateException("could not connect for the pass lock: " + e.getMessage(), e);
    }
  }

  private static void closeQuietly(Connection connection) {
    try {
      connection.close();
    } catch (SQLException e) {
      log.debug("closing the pass lock connection failed", e);
    }
  }

  /** The lock, held until {@link #close()}. */
  public static final class Held implements AutoCloseable {

    private final Connection connection;

    private Held(Connection connection) {
      this.connection = connection;
    }

    /** False once the lock's session is gone: another replica may then start a pass. */
    public boolean isHeld() {
      try {
        return connection.isValid(2);
      } catch (SQLException e) {
        return false;
      }
    }

    /** Releases the lock; closing the session releases it even if the unlock itself fails. */
    @Override
    public void close() {
      try (PreparedStatement statement =
          connection.prepareStatement("SELECT pg_advisory_unlock(?)")) {
        statement.setLong(1, KEY);
        statement.execute();
      } catch (SQLException e) {
        log.debug("unlocking the pass lock failed; closing its session releases it", e);
      } finally {
        closeQuietly(connection);
      }
    }
  }
}
