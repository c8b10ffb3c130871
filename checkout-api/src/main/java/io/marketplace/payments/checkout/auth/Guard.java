package io.marketplace.payments.checkout.auth;

import io.javalin.http.Context;
import io.javalin.http.Handler;
import io.javalin.http.HandlerType;
import io.marketplace.payments.checkout.http.ApiHandler;
import io.marketplace.payments.checkout.http.RequestBody;
import io.marketplace.payments.checkout.idempotency.Idempotency;
import io.marketplace.payments.checkout.ratelimit.RateLimiter;
import io.marketplace.payments.common.http.ProblemException;

/**
 * What stands before a route, in this order: the token (401), the role (403), for POSTs a body sent
 * as JSON (415) and {@code Idempotency-Key} (a stored answer is replayed here), then the rate limit
 * (429) of payments or of other writes for a request that will run, taken before its key is
 * claimed, so a refused request claims none. A client retrying a completed request gets its answer,
 * not a 429, and a replay costs it nothing. Ownership is the route's own check, as only it knows
 * whose resource it touches.
 */
public final class Guard {

  private final JwtAuthenticator authenticator;
  private final RateLimiter rateLimiter;
  private final RateLimiter writeLimiter;
  private final Idempotency idempotency;

  public Guard(
      JwtAuthenticator authenticator,
      RateLimiter rateLimiter,
      RateLimiter writeLimiter,
      Idempotency idempotency) {
    this.authenticator = authenticator;
    this.rateLimiter = rateLimiter;
    this.writeLimiter = writeLimiter;
    this.idempotency = idempotency;
  }

  /** A marketplace user's route. */
  public Handler user(ApiHandler route) {
    return ctx -> {
      Caller caller = authenticate(ctx);
      requireUser(caller);
      run(ctx, caller, route);
    };
  }

  /**
   * A user's route that creates a PaymentIntent: also rate limited per user, counting only the
   * requests that run (not the replay of a stored answer).
   */
  public Handler payment(ApiHandler route) {
    return limited(rateLimiter, route);
  }

  /**
   * A user's route that creates something other than a payment (a listing, a refund request): rate
   * limited per user on its own budget, as {@link #payment} is.
   */
  public Handler write(ApiHandler route) {
    return limited(writeLimiter, route);
  }

  private Handler limited(RateLimiter limiter, ApiHandler route) {
    return ctx -> {
      Caller caller = authenticate(ctx);
      requireUser(caller);
      run(ctx, caller, () -> limiter.acquire(caller.userId()), route);
    };
  }

  /** A {@code super_admin} route. */
  public Handler admin(ApiHandler route) {
    return ctx -> {
      Caller caller = authenticate(ctx);
      if (!caller.isAdmin()) {
        throw ProblemException.forbidden("this needs the super_admin role");
      }
      run(ctx, caller, route);
    };
  }

  private Caller authenticate(Context ctx) {
    return authenticator.authenticate(ctx.header("Authorization"));
  }

  private static void requireUser(Caller caller) {
    if (!caller.isUser()) {
      throw ProblemException.forbidden("this needs the user role");
    }
  }

  private void run(Context ctx, Caller caller, ApiHandler route) throws Exception {
    run(ctx, caller, () -> {}, route);
  }

  /** Runs the route, {@code admit} first when it will run (not for a replayed answer). */
  private void run(Context ctx, Caller caller, Runnable admit, ApiHandler route) throws Exception {
    if (ctx.method().equals(HandlerType.POST)) {
      // before the key is claimed: a body not sent as JSON is refused, and spends no key
      RequestBody.requireJson(ctx);
      idempotency.handle(ctx, caller.userId(), admit, () -> route.handle(ctx, caller)).writeTo(ctx);
    } else {
      admit.run();
      route.handle(ctx, caller).writeTo(ctx);
    }
  }
}
