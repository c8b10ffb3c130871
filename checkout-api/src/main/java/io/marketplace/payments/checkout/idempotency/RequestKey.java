package io.marketplace.payments.checkout.idempotency;

import io.javalin.http.Context;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Optional;
import java.util.UUID;

/**
 * One request under an {@code Idempotency-Key}, as a route keeps it on the row its effect writes
 * (an admin's decision, a rejection, an unban, a clear), in the effect's own transaction.
 *
 * <p>Why: {@link Idempotency} stores the answer after the effect commits. When the process dies, or
 * the database goes away, in between, the client's retry with the same key and body runs the route
 * again; a route whose effect is a state change (pending → rejected) would then refuse it with a
 * 409 ("already rejected"), or do it a second time. Finding its own key on the row, the route
 * answers from what the first run did instead.
 *
 * <p>The value is a SHA-256 of the caller, the key and the request's {@link Fingerprint} (method,
 * path, body), so the key itself is not kept, another admin's or another body's request under the
 * same key is another request, and an effect binds its key for the key's 24 hours only ({@link
 * #bindsSince}), as a stored answer does.
 */
public final class RequestKey {

  private RequestKey() {}

  /** The request's key, or empty when it came without an {@code Idempotency-Key}. */
  public static Optional<String> of(Context ctx, UUID callerId) {
    String key = ctx.header(Idempotency.HEADER);
    if (key == null) {
      return Optional.empty();
    }
    String fingerprint = Fingerprint.of(ctx.method().name(), ctx.path(), ctx.bodyAsBytes());
    return Optional.of(sha256(callerId + "\n" + key + "\n" + fingerprint));
  }

  /** The oldest effect a request at {@code now} may answer from: within the key's 24 hours. */
  public static Instant bindsSince(Instant now) {
    return now.minus(Idempotency.RETENTION);
  }

  private static String sha256(String text) {
    try {
      return HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }
}
