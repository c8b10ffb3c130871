package io.marketplace.payments.common.http;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.util.component.AbstractLifeCycle;
import org.eclipse.jetty.util.thread.Scheduler;

/**
 * The time a request's head (request line and headers) has to arrive in full once its first byte
 * came in ({@code HTTP_HEADER_TIMEOUT}). Jetty has no such limit: the idle timeout alone lets a
 * client that sends a header byte every few seconds hold its connection forever, and every
 * connection held counts against {@code HTTP_MAX_CONNECTIONS}, so a few thousand such clients would
 * keep everyone else out of the port (Stripe's webhooks out of the gateway, buyers out of the API).
 * A request reaches our code only once its head is complete, so this watches connections: bytes
 * that arrived on a connection since its last request ended, with no request begun since, are the
 * head of the next one; when they have waited for longer than the limit, the connection is closed.
 *
 * <p>A connection that sends nothing between requests is idle, not slow: the idle timeout closes
 * it. Nor is the body of a request watched here: the gateway bounds a webhook body's arrival itself
 * ({@code GATEWAY_BODY_TIMEOUT}). Connections are checked every {@link #sweepEvery(Duration)
 * fraction} of the limit, so a slow head is cut off between the limit and a little more than it
 * after its first byte arrived.
 *
 * <p>Registered with Jetty twice, by {@link HttpServers} on every connector it builds: as a {@link
 * Connection.Listener} bean of the connector (which also starts and stops it) and as a {@link
 * HttpConfiguration.Customizer}, called when a request's head is complete and before any handler
 * runs.
 */
final class HeaderDeadline extends AbstractLifeCycle
    implements Connection.Listener, HttpConfiguration.Customizer {

  private static final long NOT_WAITING = Long.MIN_VALUE;

  private final long limitNanos;
  private final Duration sweepEvery;
  private final Scheduler scheduler;
  private final Runnable onCutOff;
  private final Map<Connection, Watch> connections = new ConcurrentHashMap<>();
  private volatile Scheduler.Task sweep;

  /** What is known of one connection. */
  private static final class Watch {
    /** A request's head is complete and its exchange not yet: the head's deadline is over. */
    volatile boolean handling;

    /** The bytes the connection had received when its last request ended (0 when opened). */
    volatile long bytesAtRest;

    /** When bytes of a next head were first seen waiting, or {@link #NOT_WAITING}. */
    long waitingSince = NOT_WAITING;
  }

  /**
   * Heads must be whole within {@code limit} of their first byte; {@code scheduler} runs the
   * checks, and {@code onCutOff} is told of each connection closed for its slow head.
   */
  HeaderDeadline(Duration limit, Scheduler scheduler, Runnable onCutOff) {
    if (limit.toMillis() < 1) {
      throw new IllegalArgumentException("limit must be at least 1 ms: " + limit);
    }
    this.limitNanos = limit.toNanos();
    this.sweepEvery = sweepEvery(limit);
    this.scheduler = scheduler;
    this.onCutOff = onCutOff;
  }

  /** A tenth of the limit, between 10 ms and 1 s. */
  static Duration sweepEvery(Duration limit) {
    long millis = Math.clamp(limit.toMillis() / 10, 10, 1_000);
    return Duration.ofMillis(millis);
  }

  @Override
  public void onOpened(Connection connection) {
    connections.put(connection, new Watch());
  }

  @Override
  public void onClosed(Connection connection) {
    connections.remove(connection);
  }

  /** A request's head is complete: until its exchange ends, the head's deadline does not apply. */
  @Override
  public Request customize(Request request, HttpFields.Mutable responseHeaders) {
    Connection connection = request.getConnectionMetaData().getConnection();
    Watch watch = connections.get(connection);
    if (watch != null) {
      watch.handling = true;
      Request.addCompletionListener(
          request,
          failure -> {
            watch.bytesAtRest = connection.getBytesIn();
            watch.handling = false;
          });
    }
    return request;
  }

  @Override
  protected void doStart() {
    schedule();
  }

  @Override
  protected void doStop() {
    Scheduler.Task task = sweep;
    if (task != null) {
      task.cancel();
    }
    connections.clear();
  }

  private void schedule() {
    if (isRunning() || isStarting()) {
      sweep = scheduler.schedule(this::sweep, sweepEvery.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  /** One pass over the open connections; only the scheduler's one task runs it at a time. */
  private void sweep() {
    try {
      long now = System.nanoTime();
      connections.forEach((connection, watch) -> check(connection, watch, now));
    } finally {
      schedule();
    }
  }

  private void check(Connection connection, Watch watch, long now) {
    if (watch.handling || connection.getBytesIn() <= watch.bytesAtRest) {
      watch.waitingSince = NOT_WAITING; // busy with a request, or silent between two
      return;
    }
    if (watch.waitingSince == NOT_WAITING) {
      watch.waitingSince = now;
      return;
    }
    if (now - watch.waitingSince >= limitNanos) {
      connections.remove(connection);
      onCutOff.run();
      connection
          .getEndPoint()
          .close(
              new TimeoutException(
                  "the request head did not arrive within "
                      + TimeUnit.NANOSECONDS.toMillis(limitNanos)
                      + " ms"));
    }
  }
}
