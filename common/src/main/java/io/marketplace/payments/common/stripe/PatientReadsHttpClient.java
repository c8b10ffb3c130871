package io.marketplace.payments.common.stripe;

import com.stripe.exception.ApiConnectionException;
import com.stripe.net.ApiResource;
import com.stripe.net.HttpURLConnectionClient;
import com.stripe.net.StripeRequest;
import com.stripe.net.StripeResponse;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * stripe-java's own HTTP client for a command that reads Stripe in bulk (reconcile): a read Stripe
 * answers 429 (the account's rate limit, shared with the services at work beside it, or an object
 * locked for a moment) is asked again after a growing, jittered pause, up to {@code retries} times,
 * before its 429 is the caller's. stripe-java retries a 429 only when Stripe says so ({@code
 * Stripe-Should-Retry}, a lock timeout) and only with network retries, which stay off; a read
 * changes nothing at Stripe, so asking again is always safe. Writes are never repeated here.
 */
final class PatientReadsHttpClient extends HttpURLConnectionClient {

  private static final int TOO_MANY_REQUESTS = 429;

  private final int retries;
  private final Duration firstPause;
  private final Duration longestPause;

  PatientReadsHttpClient(int retries, Duration firstPause, Duration longestPause) {
    this.retries = retries;
    this.firstPause = firstPause;
    this.longestPause = longestPause;
  }

  @Override
  public StripeResponse request(StripeRequest request) throws ApiConnectionException {
    StripeResponse response = super.request(request);
    Duration pause = firstPause;
    for (int retry = 0;
        retry < retries
            && response.code() == TOO_MANY_REQUESTS
            && request.method() == ApiResource.RequestMethod.GET;
        retry++) {
      if (!sleep(pause)) {
        return response; // interrupted: the caller gets the 429 and stops
      }
      pause =
          pause.multipliedBy(2).compareTo(longestPause) > 0 ? longestPause : pause.multipliedBy(2);
      response = super.request(request);
    }
    return response;
  }

  /** Half to all of {@code pause}, so that readers held off together do not come back together. */
  private static boolean sleep(Duration pause) {
    long millis = pause.toMillis();
    try {
      Thread.sleep(millis / 2 + ThreadLocalRandom.current().nextLong(millis / 2 + 1));
      return true;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }
}
