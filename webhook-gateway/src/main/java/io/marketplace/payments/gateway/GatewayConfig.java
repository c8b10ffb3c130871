package io.marketplace.payments.gateway;

import io.marketplace.payments.common.config.Deployment;
import io.marketplace.payments.common.config.Env;
import io.marketplace.payments.common.config.InvalidConfigException;
import io.marketplace.payments.common.http.HttpConfig;
import io.marketplace.payments.common.kafka.KafkaConfig;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * What the gateway needs (SPEC §2): its public port, its admin port (health and metrics), the
 * webhook signing secrets (several during a rotation, every one accepted), the broker, how many
 * connections its HTTP server takes in ({@code HTTP_*}) and how long a request body may take to
 * arrive. It never sees the database or the Stripe API key.
 *
 * @param port the public port: {@code POST /webhooks/stripe} and health ({@code GATEWAY_PORT})
 * @param adminPort health and metrics ({@code ADMIN_PORT}, default 8085; 0 picks a free port)
 * @param bodyTimeout how long a request body may take to arrive in full ({@code
 *     GATEWAY_BODY_TIMEOUT}, default 10 s); a client still sending after it is cut off
 * @param liveModeOnly refuse events of Stripe's test mode ({@code livemode} not true): set in
 *     production ({@code PAYMENTS_ENVIRONMENT=production}), where a test endpoint's secret given by
 *     mistake would otherwise let test cards "pay" for listings
 */
public record GatewayConfig(
    int port,
    int adminPort,
    List<String> webhookSecrets,
    KafkaConfig kafka,
    HttpConfig http,
    Duration bodyTimeout,
    boolean liveModeOnly) {

  public static final int DEFAULT_PORT = 8080;
  public static final int DEFAULT_ADMIN_PORT = 8085;
  public static final Duration DEFAULT_BODY_TIMEOUT = Duration.ofSeconds(10);

  public GatewayConfig {
    Objects.requireNonNull(kafka, "kafka");
    Objects.requireNonNull(http, "http");
    Objects.requireNonNull(bodyTimeout, "bodyTimeout");
    webhookSecrets = List.copyOf(webhookSecrets);
    if (webhookSecrets.isEmpty()) {
      throw new IllegalArgumentException("at least one webhook secret is needed");
    }
    if (port < 0 || port > 65_535) {
      throw new IllegalArgumentException("not a TCP port: " + port);
    }
    if (adminPort < 0 || adminPort > 65_535) {
      throw new IllegalArgumentException("not a TCP port: " + adminPort);
    }
    if (bodyTimeout.toMillis() < 1) {
      throw new IllegalArgumentException("bodyTimeout must be at least 1 ms: " + bodyTimeout);
    }
  }

  /** A configuration with the default HTTP limits and an admin port picked free. */
  public GatewayConfig(int port, List<String> webhookSecrets, KafkaConfig kafka) {
    this(port, webhookSecrets, kafka, HttpConfig.defaults());
  }

  /** A configuration with an admin port picked free. */
  public GatewayConfig(int port, List<String> webhookSecrets, KafkaConfig kafka, HttpConfig http) {
    this(port, 0, webhookSecrets, kafka, http, DEFAULT_BODY_TIMEOUT, false);
  }

  /** The same configuration with {@code limits} for the HTTP server. */
  public GatewayConfig withHttp(HttpConfig limits) {
    return new GatewayConfig(
        port, adminPort, webhookSecrets, kafka, limits, bodyTimeout, liveModeOnly);
  }

  /** The same configuration with another deadline for request bodies. */
  public GatewayConfig withBodyTimeout(Duration timeout) {
    return new GatewayConfig(port, adminPort, webhookSecrets, kafka, http, timeout, liveModeOnly);
  }

  /** The same configuration taking live-mode events only, as production does. */
  public GatewayConfig withLiveModeOnly() {
    return new GatewayConfig(port, adminPort, webhookSecrets, kafka, http, bodyTimeout, true);
  }

  public static GatewayConfig fromEnv(Env env) {
    KafkaConfig kafka = KafkaConfig.fromEnv(env);
    List<String> secrets = env.secrets("STRIPE_WEBHOOK_SECRET");
    if (secrets.isEmpty()) {
      throw new InvalidConfigException(
          "STRIPE_WEBHOOK_SECRET", "must hold at least one secret (comma-separated)");
    }
    int port = env.integer("GATEWAY_PORT", DEFAULT_PORT);
    if (port < 0 || port > 65_535) {
      throw new InvalidConfigException("GATEWAY_PORT", "must be a TCP port (0 picks a free one)");
    }
    int adminPort = env.integer("ADMIN_PORT", DEFAULT_ADMIN_PORT);
    if (adminPort < 0 || adminPort > 65_535) {
      throw new InvalidConfigException("ADMIN_PORT", "must be a TCP port (0 picks a free one)");
    }
    Duration bodyTimeout = env.duration("GATEWAY_BODY_TIMEOUT", DEFAULT_BODY_TIMEOUT);
    if (bodyTimeout.toMillis() < 1) {
      throw new InvalidConfigException("GATEWAY_BODY_TIMEOUT", "must be at least 1ms");
    }
    return new GatewayConfig(
        port,
        adminPort,
        secrets,
        kafka,
        HttpConfig.fromEnv(env),
        bodyTimeout,
        Deployment.fromEnv(env).isProduction());
  }

  /** Names how many secrets there are, never what they are: configs end up in logs. */
  @Override
  public String toString() {
    return "GatewayConfig[port="
        + port
        + ", adminPort="
        + adminPort
        + ", webhookSecrets="
        + webhookSecrets.size()
        + " (redacted), kafka="
        + kafka
        + ", http="
        + http
        + ", bodyTimeout="
        + bodyTimeout
        + ", liveModeOnly="
        + liveModeOnly
        + "]";
  }
}
