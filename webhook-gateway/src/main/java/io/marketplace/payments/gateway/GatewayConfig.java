package io.marketplace.payments.gateway;

import io.marketplace.payments.common.config.Env;
import io.marketplace.payments.common.config.InvalidConfigException;
import io.marketplace.payments.common.http.HttpConfig;
import io.marketplace.payments.common.kafka.KafkaConfig;
import java.util.List;
import java.util.Objects;

/**
 * What the gateway needs (SPEC §2): its port, the webhook signing secrets (several during a
 * rotation, every one accepted), the broker, and how many connections its HTTP server takes in
 * ({@code HTTP_*}). It never sees the database or the Stripe API key.
 */
public record GatewayConfig(
    int port, List<String> webhookSecrets, KafkaConfig kafka, HttpConfig http) {

  public static final int DEFAULT_PORT = 8080;

  public GatewayConfig {
    Objects.requireNonNull(kafka, "kafka");
    Objects.requireNonNull(http, "http");
    webhookSecrets = List.copyOf(webhookSecrets);
    if (webhookSecrets.isEmpty()) {
      throw new IllegalArgumentException("at least one webhook secret is needed");
    }
    if (port < 0 || port > 65_535) {
      throw new IllegalArgumentException("not a TCP port: " + port);
    }
  }

  /** A configuration with the default HTTP limits. */
  public GatewayConfig(int port, List<String> webhookSecrets, KafkaConfig kafka) {
    this(port, webhookSecrets, kafka, HttpConfig.defaults());
  }

  /** The same configuration with {@code limits} for the HTTP server. */
  public GatewayConfig withHttp(HttpConfig limits) {
    return new GatewayConfig(port, webhookSecrets, kafka, limits);
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
    return new GatewayConfig(port, secrets, kafka, HttpConfig.fromEnv(env));
  }

  /** Names how many secrets there are, never what they are: configs end up in logs. */
  @Override
  public String toString() {
    return "GatewayConfig[port="
        + port
        + ", webhookSecrets="
        + webhookSecrets.size()
        + " (redacted), kafka="
        + kafka
        + ", http="
        + http
        + "]";
  }
}
