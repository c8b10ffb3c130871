package io.marketplace.payments.common.stripe;

import com.stripe.StripeClient;
import io.marketplace.payments.common.config.Env;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * How to reach Stripe (SPEC §2). One {@link StripeClient} is built in {@code main} and passed in;
 * the global {@code Stripe.apiKey} is never set. The key never appears in {@link #toString()}.
 */
public record StripeConfig(String secretKey, String apiBase) {

  public static final String DEFAULT_API_BASE = "https://api.stripe.com";

  public static StripeConfig fromEnv(Env env) {
    return new StripeConfig(
        env.secret("STRIPE_SECRET_KEY"), env.optional("STRIPE_API_BASE", DEFAULT_API_BASE));
  }

  /**
   * A client with bounded timeouts. Network retries stay off: callers retry with their own
   * idempotency keys, so a retry can never become a second charge or refund.
   */
  public StripeClient client() {
    return builder().build();
  }

  /** {@link #client()}, timing every call to Stripe in {@code registry}. */
  public StripeClient client(MeterRegistry registry) {
    return builder().setHttpClient(new MeteredStripeHttpClient(registry)).build();
  }

  private StripeClient.StripeClientBuilder builder() {
    return StripeClient.builder()
        .setApiKey(secretKey)
        .setApiBase(apiBase)
        .setConnectTimeout(5_000)
        .setReadTimeout(20_000)
        .setMaxNetworkRetries(0);
  }

  @Override
  public String toString() {
    return "StripeConfig[apiBase=" + apiBase + "]";
  }
}
