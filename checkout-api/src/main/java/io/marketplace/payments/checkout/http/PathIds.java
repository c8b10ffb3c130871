package io.marketplace.payments.checkout.http;

import io.javalin.http.Context;
import io.marketplace.payments.common.http.ProblemException;
import java.util.UUID;

/** Ids in paths are UUIDs; anything else names nothing that exists, so it is a 404. */
public final class PathIds {

  private PathIds() {}

  public static UUID uuid(Context ctx, String param, String what) {
    String raw = ctx.pathParam(param);
    try {
      UUID id = UUID.fromString(raw);
      // UUID.fromString accepts shortened forms; only the canonical one names a resource
      if (id.toString().equalsIgnoreCase(raw)) {
        return id;
      }
    } catch (IllegalArgumentException e) {
      // fall through
    }
    throw ProblemException.notFound("no " + what + " " + raw);
  }
}
