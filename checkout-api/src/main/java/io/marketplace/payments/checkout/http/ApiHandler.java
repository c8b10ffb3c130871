package io.marketplace.payments.checkout.http;

import io.javalin.http.Context;
import io.marketplace.payments.checkout.auth.Caller;

/**
 * A route of the API once the caller is known: parses the request, delegates, and returns the
 * answer (or throws a {@link io.marketplace.payments.common.http.ProblemException}).
 */
@FunctionalInterface
public interface ApiHandler {
  Reply handle(Context ctx, Caller caller) throws Exception;
}
