package io.marketplace.payments.stripeemulator;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the emulator alone (the local stack, a container). Environment:
 *
 * <ul>
 *   <li>{@code STRIPE_EMULATOR_PORT}: default 12111
 *   <li>{@code STRIPE_SECRET_KEY}: the accepted API key, default a random {@code sk_test_} key
 *       ({@link StripeEmulator#DEFAULT_SECRET_KEY})
 *   <li>{@code STRIPE_WEBHOOK_URL} and {@code STRIPE_WEBHOOK_SECRET}: where events go and the
 *       secret that signs them (the first of a comma-separated list)
 *   <li>{@code STRIPE_EMULATOR_DATA_DIR}: keeps state, and pending webhook deliveries, across
 *       restarts and crashes
 *   <li>{@code STRIPE_EMULATOR_WEBHOOK_RETRY_BASE_MS} (1000), {@code
 *       STRIPE_EMULATOR_WEBHOOK_MAX_ATTEMPTS} (12), {@code STRIPE_EMULATOR_DISPUTE_DELAY_MS} (1000)
 * </ul>
 */
public final class Main {
  private static final Logger LOG = LoggerFactory.getLogger(Main.class);
  static final int DEFAULT_PORT = 12111;

  private Main() {}

  public static void main(String[] args) throws InterruptedException {
    StripeEmulator.Config config;
    try {
      config = configFromEnv(System.getenv());
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      System.exit(2);
      return;
    }
    StripeEmulator emulator = StripeEmulator.start(config);
    LOG.info(
        "Stripe emulator listening at {} ({} webhook endpoint(s), state {})",
        emulator.baseUrl(),
        config.webhookEndpoints().size(),
        config.dataDir() == null ? "in memory" : "in " + config.dataDir());
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  emulator.close();
                  stopped.countDown();
                },
                "stripe-emulator-shutdown"));
    stopped.await();
  }

  /** The configuration named by the environment; a bad value is one clear message. */
  static StripeEmulator.Config configFromEnv(Map<String, String> env) {
    StripeEmulator.Config config =
        StripeEmulator.Config.defaults()
            .withPort(intVar(env, "STRIPE_EMULATOR_PORT", DEFAULT_PORT))
            .withSecretKey(
                nonBlank(env.get("STRIPE_SECRET_KEY"), StripeEmulator.DEFAULT_SECRET_KEY))
            .withWebhookRetries(
                Duration.ofMillis(intVar(env, "STRIPE_EMULATOR_WEBHOOK_RETRY_BASE_MS", 1000)),
                intVar(env, "STRIPE_EMULATOR_WEBHOOK_MAX_ATTEMPTS", 12))
            .withDisputeDelay(
                Duration.ofMillis(intVar(env, "STRIPE_EMULATOR_DISPUTE_DELAY_MS", 1000)));
    String url = nonBlank(env.get("STRIPE_WEBHOOK_URL"), null);
    String secrets = nonBlank(env.get("STRIPE_WEBHOOK_SECRET"), null);
    if (url != null) {
      if (secrets == null) {
        throw new IllegalArgumentException(
            "STRIPE_WEBHOOK_SECRET is required when STRIPE_WEBHOOK_URL is set");
      }
      config = config.withWebhookEndpoint(url, secrets.split(",")[0].trim());
    }
    String dataDir = nonBlank(env.get("STRIPE_EMULATOR_DATA_DIR"), null);
    if (dataDir != null) {
      config = config.withDataDir(Path.of(dataDir));
    }
    return config;
  }

  private static int intVar(Map<String, String> env, String name, int fallback) {
    String value = nonBlank(env.get(name), null);
    if (value == null) {
      return fallback;
    }
    try {
      return Integer.parseInt(value.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(name + " must be an integer, got '" + value + "'");
    }
  }

  private static String nonBlank(String value, String fallback) {
    return value == null || value.isBlank() ? fallback : value;
  }
}
