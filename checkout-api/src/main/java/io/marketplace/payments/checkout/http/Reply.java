package io.marketplace.payments.checkout.http;

import io.javalin.http.Context;
import io.marketplace.payments.common.http.Problem;
import io.marketplace.payments.common.json.Json;

/**
 * An answer as it goes on the wire: the status and the JSON text. Kept as text so that an
 * Idempotency-Key replay sends back exactly the bytes of the first answer.
 */
public record Reply(int status, String json) {

  public static final String JSON = "application/json";

  public static Reply ok(Object body) {
    return of(200, body);
  }

  public static Reply of(int status, Object body) {
    return new Reply(status, Json.write(body));
  }

  /** Errors are problem+json (SPEC §3); everything else plain JSON. */
  public String contentType() {
    return status >= 400 ? Problem.CONTENT_TYPE : JSON;
  }

  public void writeTo(Context ctx) {
    ctx.status(status);
    ctx.contentType(contentType());
    ctx.result(json);
  }
}
