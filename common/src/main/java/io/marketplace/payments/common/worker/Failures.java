package io.marketplace.payments.common.worker;

import java.net.ConnectException;
import java.sql.SQLException;
import java.sql.SQLRecoverableException;
import java.sql.SQLTransientException;
import java.util.Set;
import org.apache.kafka.common.errors.RetriableException;

/**
 * Tells a failure of our infrastructure (PostgreSQL or Kafka down, a serialization conflict), which
 * is waited out however long it lasts, from a failure of the record itself, which is retried a few
 * times and then dead-lettered. Dead-lettering a good event because the database was restarting
 * would lose a payment, so when in doubt about the database, this says transient.
 */
public final class Failures {

  /**
   * SQLSTATE classes that say "try again": connection, resources, admin shutdown, system errors;
   * and the deployment's faults no record causes: a login refused ({@code 28}, a password rotated
   * on one side only) or a database that does not exist ({@code 3D}).
   */
  private static final Set<String> TRANSIENT_CLASSES = Set.of("08", "53", "57", "58", "28", "3D");

  /**
   * Conflicts and lock waits, and {@code 25006} (read_only_sql_transaction): a server that refuses
   * writes is a standby, reached by a connection during a failover (a stale DNS name or endpoint,
   * an old primary coming back as a replica) or made read-only for maintenance, not a bad record;
   * dead-lettering on it would take good payments out of the stream within a second.
   */
  private static final Set<String> TRANSIENT_STATES =
      Set.of(
          "40001",
          "40P01",
          "55P03",
          "25006",
          // a database that is not what the code expects: a privilege not granted (42501), a
          // schema, table, column or function missing (3F000, 42P01, 42703, 42883), as while a
          // release runs before its migration or under a role without its grants. Every record
          // fails alike, whatever it holds: dead-lettering would take every payment out of the
          // stream until someone redrives them all, where waiting keeps them in order, surfaced by
          // readiness and lag, and applies them once the deployment is mended
          "42501",
          "3F000",
          "42P01",
          "42703",
          "42883");

  private Failures() {}

  public static boolean isTransient(Throwable error) {
    for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof TransientFailure
          || t instanceof SQLTransientException
          || t instanceof SQLRecoverableException
          || t instanceof ConnectException
          || t instanceof RetriableException
          || t instanceof org.apache.kafka.common.errors.TimeoutException) {
        return true;
      }
      if (t instanceof SQLException sql && sql.getSQLState() != null) {
        String state = sql.getSQLState();
        if (TRANSIENT_STATES.contains(state)
            || (state.length() >= 2 && TRANSIENT_CLASSES.contains(state.substring(0, 2)))) {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * Thrown by a handler for a failure to be waited out, not dead-lettered (a dependency is down).
   */
  public static final class TransientFailure extends RuntimeException {
    public TransientFailure(String message, Throwable cause) {
      super(message, cause);
    }
  }
}
