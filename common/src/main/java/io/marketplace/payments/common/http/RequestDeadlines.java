package io.marketplace.payments.common.http;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.util.component.AbstractLifeCycle;
import org.eclipse.jetty.util.thread.Scheduler;

/**
 * The time a request has to arrive: its head (request line and headers) in full within {@code
 * HTTP_HEADER_TIMEOUT} of its first byte, and its body in full within {@code HTTP_BODY_TIMEOUT} of
 * the service starting to read it (in full: its last chunk, or its declared length, read). Jetty
 * has neither limit: the idle timeout alone lets a client that sends a byte every few seconds, of a
 * head or of a body, hold its connection forever, and every connection held counts against {@code
 * HTTP_MAX_CONNECTIONS}, so a few thousand such clients would keep everyone else out of the port
 * (Stripe's webhooks out of the gateway, buyers out of the API). A slow body also holds a request
 * thread for as long as it trickles.
 *
 * <p>Heads: a request reaches our code only once its head is complete, so this watches connections:
 * bytes that arrived on a connection since its last request ended, with no request begun since, are
 * the head of the next one; when they have waited for longer than the limit, the connection is
 * closed. A connection that sends nothing between requests is idle, not slow: the idle timeout
 * closes it.
 *
 * <p>Bodies: a request with a body ({@code Content-Length} above 0, or chunked) is handed to the
 * handlers wrapped, so that its first read starts the body's clock and its last chunk stops it.
 * Jetty reads a body from the network only as the handler reads it, so the clock starts with the
 * handler's first read (at once after the head, for every route that takes a body) and does not run
 * while a handler works without reading; a body a handler never reads is left unread, and Jetty
 * closes the connection when the exchange ends. At the deadline the connection is closed, and the
 * handler's read fails with a {@link BodyTimeoutException}.
 *
 * <p>Connections are checked every {@link #sweepEvery(Duration) fraction} of the shorter limit, so
 * a slow head or body is cut off between its limit and a little more than it.
 *
 * <p>Registered with Jetty twice, by {@link HttpServers} on every connector it builds: as a {@link
 * Connection.Listener} bean of the connector (which also starts and stops it) and as a {@link
 * HttpConfiguration.Customizer}, called when a request's head is complete and before any handler
 * runs.
 */
final class RequestDeadlines extends AbstractLifeCycle
    implements Connection.Listener, HttpConfiguration.Customizer {

  private static final long NOT_WAITING = Long.MIN_VALUE;

  private final Duration headLimit;
  private final Duration bodyLimit;
  private final Duration sweepEvery;
  private final Scheduler scheduler;
  private final Runnable onHeadCutOff;
  private final Runnable onBodyCutOff;
  private final Map<Connection, Watch> connections = new ConcurrentHashMap<>();
  private volatile Scheduler.Task sweep;

  /** What is known of one connection. */
  private static final class Watch {
    /** A request's head is complete and its exchange not yet: the head's deadline is over. */
    volatile boolean handling;

    /** The body of the request being handled, or null when it has none. */
    volatile Body body;

    /** The bytes the connection had received when its last request ended (0 when opened). */
    volatile long bytesAtRest;

    /** When bytes of a next head were first seen waiting, or {@link #NOT_WAITING}. */
    long waitingSince = NOT_WAITING;
  }

  /** The body of one request: read by one handler thread at a time, checked by the sweep. */
  private static final class Body {
    /** When the handler first read or asked for the body, or {@link #NOT_WAITING}. */
    volatile long readingSince = NOT_WAITING;

    /** The last chunk was read: the body's deadline is over. */
    volatile boolean complete;

    /** Closed at the deadline: the failure the handler reads names it. */
    volatile boolean cutOff;

    void reading() {
      if (readingSince == NOT_WAITING) {
        readingSince = System.nanoTime();
      }
    }

    boolean overdue(long now, long limitNanos) {
      long since = readingSince;
      return !complete && since != NOT_WAITING && now - since >= limitNanos;
    }
  }

  /**
   * Heads must be whole within {@code headLimit} of their first byte, bodies within {@code
   * bodyLimit} of their first read; {@code scheduler} runs the checks, and {@code onHeadCutOff} and
   * {@code onBodyCutOff} are told of each connection closed for its slow head or body.
   */
  RequestDeadlines(
      Duration headLimit,
      Duration bodyLimit,
      Scheduler scheduler,
      Runnable onHeadCutOff,
      Runnable onBodyCutOff) {
    if (headLimit.toMillis() < 1) {
      throw new IllegalArgumentException("headLimit must be at least 1 ms: " + headLimit);
    }
    if (bodyLimit.toMillis() < 1) {
      throw new IllegalArgumentException("bodyLimit must be at least 1 ms: " + bodyLimit);
    }
    this.headLimit = headLimit;
    this.bodyLimit = bodyLimit;
    this.sweepEvery = sweepEvery(headLimit.compareTo(bodyLimit) <= 0 ? headLimit : bodyLimit);
    this.scheduler = scheduler;
    this.onHeadCutOff = onHeadCutOff;
    this.onBodyCutOff = onBodyCutOff;
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

  /**
   * A request's head is complete: until its exchange ends, the head's deadline does not apply, and
   * its body's does once the handler reads it.
   */
  @Override
  public Request customize(Request request, HttpFields.Mutable responseHeaders) {
    Connection connection = request.getConnectionMetaData().getConnection();
    Watch watch = connections.get(connection);
    if (watch == null) {
      return request;
    }
    Body body = hasBody(request) ? new Body() : null;
    watch.body = body;
    watch.handling = true;
    Request.addCompletionListener(
        request,
        failure -> {
          watch.body = null;
          watch.bytesAtRest = connection.getBytesIn();
          watch.handling = false;
        });
    return body == null ? request : new TimedBody(request, body);
  }

  private static boolean hasBody(Request request) {
    return request.getLength() > 0 || request.getHeaders().contains(HttpHeader.TRANSFER_ENCODING);
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
    if (watch.handling) {
      watch.waitingSince = NOT_WAITING; // busy with a request: only its body can be late
      Body body = watch.body;
      if (body != null && body.overdue(now, bodyLimit.toNanos())) {
        body.cutOff = true;
        cutOff(connection, onBodyCutOff, new BodyTimeoutException(bodyLimit));
      }
      return;
    }
    if (connection.getBytesIn() <= watch.bytesAtRest) {
      watch.waitingSince = NOT_WAITING; // silent between two requests
      return;
    }
    if (watch.waitingSince == NOT_WAITING) {
      watch.waitingSince = now;
      return;
    }
    if (now - watch.waitingSince >= headLimit.toNanos()) {
      cutOff(
          connection,
          onHeadCutOff,
          new TimeoutException(
              "the request head did not arrive within " + headLimit.toMillis() + " ms"));
    }
  }

  private void cutOff(Connection connection, Runnable counter, Throwable cause) {
    connections.remove(connection);
    counter.run();
    connection.getEndPoint().close(cause);
  }

  /**
   * A request whose body is timed: its first read (or demand) starts the clock, its last chunk
   * stops it, and a read failed by the deadline's close says so.
   */
  private final class TimedBody extends Request.Wrapper {
    private final Body body;

    /** The declared length, or -1 (chunked). */
    private final long length;

    /** The bytes read so far; only the handler's thread reads. */
    private long delivered;

    TimedBody(Request request, Body body) {
      super(request);
      this.body = body;
      this.length = request.getLength();
    }

    /**
     * The body is complete at its last chunk, or once its declared length is read: a handler that
     * reads exactly that many bytes never reads the end, and the deadline must not then cut off the
     * answer of a handler still at work (the gateway waiting for Kafka's acknowledgement).
     */
    @Override
    public Content.Chunk read() {
      body.reading();
      Content.Chunk chunk = super.read();
      if (chunk == null) {
        return null;
      }
      if (Content.Chunk.isFailure(chunk) && body.cutOff) {
        return Content.Chunk.from(new BodyTimeoutException(bodyLimit), true);
      }
      delivered += chunk.remaining();
      if (chunk.isLast() || (length >= 0 && delivered >= length)) {
        body.complete = true;
      }
      return chunk;
    }

    @Override
    public void demand(Runnable demandCallback) {
      body.reading();
      super.demand(demandCallback);
    }
  }
}
