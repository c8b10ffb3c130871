package io.marketplace.payments.common.http;

import io.marketplace.payments.common.json.Json;
import java.nio.ByteBuffer;
import java.util.Locale;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

/**
 * What Jetty answers for a request it refuses before any route sees it (a malformed URI, headers
 * too large, a bad {@code Transfer-Encoding}): a problem in the API's format ({@code
 * application/problem+json}, SPEC §3) instead of Jetty's HTML page, with the status and its reason
 * only. Jetty's message and cause are not echoed: they can carry the request's own text.
 */
final class ProblemErrorHandler extends ErrorHandler {

  /**
   * Every refusal is a problem, whatever the method: Jetty's default writes a body only for GET,
   * POST and HEAD, and answers, say, {@code OPTIONS *} with an empty 404 of no type.
   */
  @Override
  public boolean errorPageForMethod(String method) {
    return true;
  }

  @Override
  protected void generateResponse(
      Request request,
      Response response,
      int code,
      String message,
      Throwable cause,
      Callback callback) {
    String reason = HttpStatus.getMessage(code);
    byte[] body =
        Json.bytes(
            Problem.of(
                code, reason, "the request was refused: " + reason.toLowerCase(Locale.ROOT)));
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, Problem.CONTENT_TYPE);
    response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
    response.write(true, ByteBuffer.wrap(body), callback);
  }
}
