package io.marketplace.payments.gateway.webhook;

import jakarta.servlet.http.HttpServletRequest;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.eclipse.jetty.ee10.servlet.ServletContextRequest;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.util.thread.Scheduler;

/**
 * The time a request's body has to arrive in full. The idle timeout alone does not bound it: a
 * client that sends a byte every few seconds is never idle, and holds its request (a virtual
 * thread, a buffer, room in the {@link BodyBudget}) for as long as it likes. At the deadline the
 * connection is closed, which fails the blocked read; nothing of the body is verified or sent.
 */
final class BodyDeadline implements AutoCloseable {

  private final Scheduler.Task task;
  private final AtomicBoolean passed;

  private BodyDeadline(Scheduler.Task task, AtomicBoolean passed) {
    this.task = task;
    this.passed = passed;
  }

  /** Starts the clock on the body of {@code request}: it must have arrived within {@code limit}. */
  static BodyDeadline start(HttpServletRequest request, Duration limit) {
    AtomicBoolean passed = new AtomicBoolean();
    ServletContextRequest jetty = ServletContextRequest.getServletContextRequest(request);
    if (jetty == null) {
      return new BodyDeadline(null, passed); // not on Jetty: the idle timeout alone applies
    }
    EndPoint endPoint = jetty.getConnectionMetaData().getConnection().getEndPoint();
    Scheduler.Task task =
        jetty
            .getComponents()
            .getScheduler()
            .schedule(
                () -> {
                  passed.set(true);
                  endPoint.close(
                      new TimeoutException(
                          "the body did not arrive within " + limit.toMillis() + " ms"));
                },
                limit.toMillis(),
                TimeUnit.MILLISECONDS);
    return new BodyDeadline(task, passed);
  }

  /** True when the body was cut off at the deadline. */
  boolean passed() {
    return passed.get();
  }

  /** The body is in: the deadline no longer applies. */
  @Override
  public void close() {
    if (task != null) {
      task.cancel();
    }
  }
}
