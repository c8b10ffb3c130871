package io.marketplace.payments.common.stripe;

import com.stripe.StripeClient;
import io.marketplace.payments.common.config.Deployment;
import io.marketplace.payments.common.config.Env;
import io.marketplace.payments.common.config.InvalidConfigException;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;

/**
 * How to reach Stripe (SPEC §2). One {@link StripeClient} is built in {@code main} and passed in;
 * the global {@code Stripe.apiKey} is never set. The key never appears in {@link #toString()}.
 */
public record StripeConfig(String secretKey, String apiBase) {

  public static final String DEFAULT_API_BASE = "https://api.stripe.com";

  public static StripeConfig fromEnv(Env env) {
    StripeConfig config =
        new StripeConfig(
            env.secret("STRIPE_SECRET_KEY"), env.optional("STRIPE_API_BASE", DEFAULT_API_BASE));
    if (Deployment.fromEnv(env).isProduction()) {
      config.requireLive();
    } else if (config.isLive()) {
      config.refuseLiveOutsideProduction();
    }
    return config;
  }

  /** A live-mode key: its charges and refunds move real money. */
  private boolean isLive() {
    return secretKey.startsWith("sk_live_") || secretKey.startsWith("rk_live_");
  }

  /**
   * Real money only with production's checks: a deployment that holds a live key but forgot to say
   * it is production would otherwise run it over an unverified database, plain-text Kafka or the
   * secrets this repository publishes, since every one of those checks is production's.
   */
  private void refuseLiveOutsideProduction() {
    throw new InvalidConfigException(
        "STRIPE_SECRET_KEY",
        "is a live-mode key, which takes real money: set "
            + Deployment.VARIABLE
            + "=production, whose checks guard it, or use a test-mode key");
  }

  /**
   * Production takes real money: a live key ({@code sk_live_}, or a restricted {@code rk_live_}),
   * sent over TLS. A test-mode key would take Stripe's test cards as payment.
   */
  private void requireLive() {
    if (!isLive()) {
      throw new InvalidConfigException(
          "STRIPE_SECRET_KEY",
          Deployment.inProduction(
              "must be a live-mode key (sk_live_ or rk_live_): with a test-mode key, test cards"
                  + " pay and paid listings go live unpaid"));
    }
    if (!apiBase.startsWith("https://")) {
      throw new InvalidConfigException(
          "STRIPE_API_BASE",
          Deployment.inProduction("must be https: the secret key goes with every request"));
    }
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

  /**
   * {@link #client()} for a command that reads Stripe in bulk (reconcile): a read Stripe answers
   * 429 is asked again, up to 5 times over 6 seconds at most, rather than failing the whole run on
   * the account's rate limit, which the services at work share. Writes are not repeated.
   */
  public StripeClient readingClient() {
    return builder()
        .setHttpClient(new PatientReadsHttpClient(5, Duration.ofMillis(250), Duration.ofSeconds(2)))
        .build();
  }

  private StripeClient.StripeClientBuilder builder() {
    return StripeClient.builder()
        .setApiKey(secretKey)
        .setApiBase(apiBase)
        .setConnectTimeout(5_000)
        .setReadTimeout(20_000)
        .setMaxNetworkRetries(0);
  }

  /**
   * Tells keys apart without revealing them: the first 16 hex digits of the key's SHA-256. A secret
   * key belongs to one account and mode, so two objects recorded with the same fingerprint were
   * seen by the same account and mode.
   */
  public String keyFingerprint() {
    try {
      byte[] digest =
          MessageDigest.getInstance("SHA-256").digest(secretKey.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest, 0, 8);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }

  @Override
  public String toString() {
    return "StripeConfig[apiBase=" + apiBase + "]";
  }
}
