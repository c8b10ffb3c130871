package io.marketplace.payments.common.stripe;

import com.stripe.exception.ApiConnectionException;
import com.stripe.net.HttpURLConnectionClient;
import com.stripe.net.StripeRequest;
import com.stripe.net.StripeResponse;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * stripe-java's own HTTP client, timing every call to Stripe ({@code payments.stripe.requests}) by
 * operation ({@code POST /v1/payment_intents/{id}/cancel}: object ids folded, so the series stay
 * few) and outcome (the status class, or {@code connection_error} when no answer came): what the
 * Stripe latency and error-rate alerts read. Three client errors are not ours to fix per request
 * and keep their own code as outcome: {@code 401} and {@code 403}, Stripe refusing our key (rolled,
 * revoked, or restricted without a permission: every call fails until an operator fixes it, the
 * alert StripeKeyRefused), and {@code 429}, Stripe holding us off (StripeRateLimited); the other
 * 4xx (a card declined, a parameter refused) stay {@code 4xx}.
 */
final class MeteredStripeHttpClient extends HttpURLConnectionClient {

  static final String METRIC = "payments.stripe.requests";

  /** A path segment that is an object id: a lower-case prefix, then a digit or capital after it. */
  private static final Pattern OBJECT_ID =
      Pattern.compile("(?<=/)[a-z]+_[A-Za-z0-9]*[A-Z0-9][A-Za-z0-9]*(?=/|$)");

  private final MeterRegistry registry;

  MeteredStripeHttpClient(MeterRegistry registry) {
    this.registry = registry;
  }

  @Override
  public StripeResponse request(StripeRequest request) throws ApiConnectionException {
    String operation = operation(request.method().name(), request.url().getPath());
    long started = System.nanoTime();
    String outcome = "connection_error";
    try {
      StripeResponse response = super.request(request);
      outcome = outcome(response.code());
      return response;
    } finally {
      Timer.builder(METRIC)
          .description("calls to Stripe's API, by operation and outcome")
          .tag("operation", operation)
          .tag("outcome", outcome)
          .publishPercentileHistogram()
          .register(registry)
          .record(System.nanoTime() - started, TimeUnit.NANOSECONDS);
    }
  }

  static String outcome(int status) {
    return switch (status) {
      case 401, 403, 429 -> Integer.toString(status);
      default -> (status / 100) + "xx";
    };
  }

  static String operation(String method, String path) {
    return method + " " + OBJECT_ID.matcher(path).replaceAll("{id}");
  }
}
