package io.marketplace.payments.stripeemulator.http;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Test control: makes the next calls of one API operation ({@code POST /v1/refunds}, {@code GET
 * /v1/payment_intents/{id}}, as the routes name them) answer as Stripe does when it holds a caller
 * off or refuses its key, before anything is done. None of these answers is kept for the request's
 * Idempotency-Key (Stripe keeps only what an endpoint answered once it began to execute), so a
 * retry with the same key goes through once the faults are used up.
 *
 * <ul>
 *   <li>{@link Kind#RATE_LIMIT}: 429 {@code rate_limit}, too many requests. Stripe's libraries do
 *       not retry it on their own: the caller must back off.
 *   <li>{@link Kind#LOCK_TIMEOUT}: 429 {@code lock_timeout}, another request or a Stripe process
 *       holds the object; sent with {@code Stripe-Should-Retry: true}, on which stripe-java retries
 *       when its network retries are on.
 *   <li>{@link Kind#PERMISSION}: 403, a restricted key without the permission the endpoint needs
 *       (stripe-java's {@code PermissionException}).
 *   <li>{@link Kind#AUTHENTICATION}: 401 {@code api_key_expired}, the key was rolled or revoked
 *       (stripe-java's {@code AuthenticationException}).
 * </ul>
 */
public final class ApiFaults {
  public enum Kind {
    RATE_LIMIT,
    LOCK_TIMEOUT,
    PERMISSION,
    AUTHENTICATION
  }

  private static final Pattern OPERATION = Pattern.compile("(GET|POST|DELETE) /v1/[^\\s]+");

  private record Armed(String operation, Kind kind) {}

  private final List<Armed> armed = new ArrayList<>();

  /** Arms {@code count} faults of {@code kind} for {@code operation}, after those armed before. */
  public synchronized void arm(String operation, int count, Kind kind) {
    if (operation == null || !OPERATION.matcher(operation).matches()) {
      throw StripeError.invalidRequest(
          "Invalid operation: a method and a route, such as 'POST /v1/refunds' or"
              + " 'GET /v1/payment_intents/{id}'",
          "operation",
          null);
    }
    if (count < 0 || count > 1000) {
      throw StripeError.invalidRequest("count must be between 0 and 1000", "count", null);
    }
    for (int i = 0; i < count; i++) {
      armed.add(new Armed(operation, kind));
    }
  }

  public synchronized void clear() {
    armed.clear();
  }

  public synchronized int remaining() {
    return armed.size();
  }

  /**
   * Called by every API endpoint once the key is checked: throws the first fault armed for {@code
   * operation}, using it up.
   */
  public void apply(String operation) {
    Kind kind = take(operation);
    if (kind != null) {
      throw failure(kind);
    }
  }

  private synchronized Kind take(String operation) {
    for (Iterator<Armed> it = armed.iterator(); it.hasNext(); ) {
      Armed next = it.next();
      if (next.operation().equals(operation)) {
        it.remove();
        return next.kind();
      }
    }
    return null;
  }

  static StripeError failure(Kind kind) {
    return switch (kind) {
      case RATE_LIMIT -> StripeError.rateLimited();
      case LOCK_TIMEOUT -> StripeError.lockTimeout();
      case PERMISSION -> StripeError.permission();
      case AUTHENTICATION -> StripeError.keyExpired();
    };
  }
}
