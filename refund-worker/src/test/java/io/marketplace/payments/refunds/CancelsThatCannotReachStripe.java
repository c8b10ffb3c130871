package io.marketplace.payments.refunds;

import com.stripe.exception.ApiConnectionException;
import com.stripe.net.HttpURLConnectionClient;
import com.stripe.net.StripeRequest;
import com.stripe.net.StripeResponse;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * stripe-java's HTTP client for the worker's Stripe calls, but a PaymentIntent cancellation cannot
 * reach Stripe while {@link #down} is set (as a network fault would have it); counts the
 * cancellations asked for.
 */
public final class CancelsThatCannotReachStripe extends HttpURLConnectionClient {

  public final AtomicBoolean down = new AtomicBoolean();
  public final AtomicInteger calls = new AtomicInteger();

  @Override
  public StripeResponse request(StripeRequest request) throws ApiConnectionException {
    if (request.url().getPath().endsWith("/cancel")) {
      calls.incrementAndGet();
      if (down.get()) {
        throw new ApiConnectionException("Connection refused");
      }
    }
    return super.request(request);
  }
}
