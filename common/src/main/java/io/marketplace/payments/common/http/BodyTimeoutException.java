package io.marketplace.payments.common.http;

import java.time.Duration;
import org.eclipse.jetty.io.EofException;

/**
 * What reading a request's body throws once the body is past its deadline ({@code
 * HTTP_BODY_TIMEOUT}) and the server closed the connection: the client's doing, like a body that
 * ends early, so it is an {@link EofException} too. Nobody reads an answer to it.
 */
public final class BodyTimeoutException extends EofException {

  BodyTimeoutException(Duration limit) {
    super("the body did not arrive within " + limit.toMillis() + " ms");
  }

  /** Whether {@code error} or one of its causes is a body cut off at its deadline. */
  public static boolean isCause(Throwable error) {
    for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof BodyTimeoutException) {
        return true;
      }
    }
    return false;
  }
}
