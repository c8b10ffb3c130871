package io.marketplace.payments.checkout.idempotency;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This process as the owner of the Idempotency-Key claims it makes, in a way every other
 * checkout-api process can see: a session-level advisory lock ({@link #LOCK_CLASS}, {@link #id()})
 * held on a database connection of its own for as long as the process lives. A claim records its
 * owner's number ({@code idempotency_keys.claimed_by}); a process that finds a claim in progress
 * asks whether its owner still holds the lock ({@link IdempotencyKeyDao#ownerAlive}) and, if not,
 * takes the claim over at once instead of answering "in progress" until it lapses.
 *
 * <p>When the process dies, {@code kill -9} included, the kernel closes its socket, PostgreSQL ends
 * the session and the lock is gone with it. When its host vanishes without closing anything, the
 * session's TCP keepalives (15 s idle, then 3 probes 5 s apart) end it within about half a minute.
 *
 * <p>Taking over a claim whose owner is in fact still running is safe, only wasteful: every route
 * behind an Idempotency-Key is safe to run again (a checkout reaches the same PaymentIntent through
 * Stripe's idempotency key, a new listing the listing its first run created). It can happen while
 * this process has lost its session; {@link #maintain}, run every second, opens a new one and takes
 * the same lock again (if the old session still holds it on the server, as after a network fault,
 * once that session ends).
 *
 * <p>The lock needs a session of its own end to end: behind a pooler in transaction mode
 * (PgBouncer's {@code pool_mode=transaction}) a session lock is not held, and every claim would
 * look abandoned.
 */
public final class ClaimOwner implements AutoCloseable {

  /** The first key of the advisory lock: "IDK1", so that it shares no lock with anything else. */
  public static final int LOCK_CLASS = 0x49444b31;

  /** The {@code application_name} of the lock's session, as {@code pg_stat_activity} shows it. */
  public static final String APPLICATION_NAME = "checkout-api-claims";

  private static final int ATTEMPTS = 20;
  private static final Logger log = LoggerFactory.getLogger(ClaimOwner.class);

  /** Opens the lock's connection: outside any pool, the caller's to close. */
  @FunctionalInterface
  public interface Sessions {
    Connection open() throws SQLException;
  }

  private final Sessions sessions;
  private final int id;
  private Connection session;
  private volatile boolean held;

  private ClaimOwner(Sessions sessions, int id, Connection session) {
    this.sessions = sessions;
    this.id = id;
    this.session = session;
    this.held = true;
  }

  /**
   * Takes a lock no other process holds: a random positive number, drawn again if taken. Fails when
   * the database cannot be reached (the service does not start without it anyway).
   */
  public static ClaimOwner start(Sessions sessions, MeterRegistry registry) {
    SecureRandom random = new SecureRandom();
    Connection session = null;
    try {
      session = open(sessions);
      for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
        int id = 1 + random.nextInt(Integer.MAX_VALUE - 1);
        if (tryLock(session, id)) {
          ClaimOwner owner = new ClaimOwner(sessions, id, session);
          Gauge.builder("payments.idempotency.owner.lock", owner, o -> o.held ? 1 : 0)
              .description(
                  "1 while this process holds the lock that shows its Idempotency-Key claims are"
                      + " alive")
              .register(registry);
          log.info("idempotency claims owned as {}", id);
          return owner;
        }
      }
      throw new IllegalStateException("no free idempotency claim owner in " + ATTEMPTS + " draws");
    } catch (SQLException e) {
      closeQuietly(session);
      throw new IllegalStateException("cannot take the idempotency claim owner's lock", e);
    } catch (RuntimeException e) {
      closeQuietly(session);
      throw e;
    }
  }

  /** The number claims made by this process carry. */
  public int id() {
    return id;
  }

  /** Whether the lock is held right now, as far as this process knows. */
  public boolean held() {
    return held;
  }

  /**
   * Checks the session; when it is gone, opens another and takes the lock again. Run every second.
   */
  public synchronized void maintain() {
    try {
      if (session == null || !session.isValid(2)) {
        if (held) {
          log.warn("lost the database session that shows this process's idempotency claims alive");
        }
        held = false;
        closeQuietly(session);
        session = null;
        session = open(sessions);
      }
      if (!held) {
        held = tryLock(session, id);
        if (held) {
          log.info("idempotency claims owned as {} again", id);
        }
      }
    } catch (SQLException e) {
      held = false;
      closeQuietly(session);
      session = null;
      log.debug("idempotency claim owner's lock not held yet: {}", e.toString());
    }
  }

  /** Ends the session, and with it the lock: claims left unfinished are then abandoned. */
  @Override
  public synchronized void close() {
    held = false;
    closeQuietly(session);
    session = null;
  }

  private static Connection open(Sessions sessions) throws SQLException {
    Connection connection = sessions.open();
    try (Statement statement = connection.createStatement()) {
      connection.setAutoCommit(true);
      // the server notices a vanished host in seconds, not after the kernel's two hours
      statement.execute("SET tcp_keepalives_idle = 15");
      statement.execute("SET tcp_keepalives_interval = 5");
      statement.execute("SET tcp_keepalives_count = 3");
      return connection;
    } catch (SQLException e) {
      closeQuietly(connection);
      throw e;
    }
  }

  private static boolean tryLock(Connection session, int id) throws SQLException {
    try (PreparedStatement statement =
        session.prepareStatement("SELECT pg_try_advisory_lock(?, ?)")) {
      statement.setInt(1, LOCK_CLASS);
      statement.setInt(2, id);
      try (ResultSet result = statement.executeQuery()) {
        result.next();
        return result.getBoolean(1);
      }
    }
  }

  private static void closeQuietly(Connection connection) {
    if (connection == null) {
      return;
    }
    try {
      connection.close();
    } catch (SQLException e) {
      log.debug("closing the idempotency claim owner's session: {}", e.toString());
    }
  }
}
