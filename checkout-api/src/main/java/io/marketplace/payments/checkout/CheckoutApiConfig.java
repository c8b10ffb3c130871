package io.marketplace.payments.checkout;

import io.marketplace.payments.common.config.Deployment;
import io.marketplace.payments.common.config.Env;
import io.marketplace.payments.common.config.InvalidConfigException;
import io.marketplace.payments.common.config.SecretCheck;
import io.marketplace.payments.common.db.DbConfig;
import io.marketplace.payments.common.http.HttpConfig;
import io.marketplace.payments.common.kafka.KafkaConfig;
import io.marketplace.payments.common.stripe.StripeConfig;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Everything checkout-api reads from the environment (SPEC §2). The JWT secret never appears in
 * {@link #toString()}.
 *
 * @param jwtSecret the HS256 key of user tokens ({@code AUTH_JWT_SECRET}, at least 32 bytes)
 * @param port {@code API_PORT}: the API the frontend calls; 0 picks a free port
 * @param adminPort health and metrics ({@code ADMIN_PORT}, default 8087; 0 picks a free port): the
 *     port the kubelet probes and Prometheus scrapes, which the frontend does not reach, so that
 *     its traffic can neither read the metrics nor crowd the probes out
 * @param listingTtl how long a listing stays active after activation ({@code LISTING_TTL_DAYS})
 * @param rateLimitPerMinute payment requests a user may make per minute ({@code
 *     RATE_LIMIT_PER_MINUTE})
 * @param writeRateLimitPerMinute other writes a user may make per minute: new listings, refund
 *     requests ({@code WRITE_RATE_LIMIT_PER_MINUTE})
 * @param corsOrigins frontend origins allowed to call from a browser ({@code CORS_ALLOWED_ORIGINS})
 * @param http the HTTP server's limits and bind address ({@code HTTP_*})
 * @param jwtIssuer the {@code iss} every token must carry ({@code AUTH_JWT_ISSUER}), or null
 * @param jwtAudience an {@code aud} every token must include ({@code AUTH_JWT_AUDIENCE}), or null:
 *     where one issuer signs tokens for several services with one key, a token meant for another
 *     service is no token for this API. Both are required in production ({@link #fromEnv}).
 * @param jwtMaxLifetime how far ahead of now a token's {@code exp} may lie, and how long after its
 *     {@code iat} when it has one ({@code AUTH_JWT_MAX_LIFETIME}, 24 h by default)
 */
public record CheckoutApiConfig(
    DbConfig db,
    KafkaConfig kafka,
    StripeConfig stripe,
    String jwtSecret,
    int port,
    int adminPort,
    Duration listingTtl,
    int rateLimitPerMinute,
    int writeRateLimitPerMinute,
    List<String> corsOrigins,
    HttpConfig http,
    String jwtIssuer,
    String jwtAudience,
    Duration jwtMaxLifetime) {

  public static final int DEFAULT_PORT = 8081;
  public static final int DEFAULT_ADMIN_PORT = 8087;
  public static final int DEFAULT_LISTING_TTL_DAYS = 30;
  public static final int MAX_LISTING_TTL_DAYS = 3650;
  public static final int DEFAULT_RATE_LIMIT_PER_MINUTE = 10;
  public static final int DEFAULT_WRITE_RATE_LIMIT_PER_MINUTE = 30;

  /**
   * How far ahead a token's {@code exp} may lie by default: a leaked token, a super_admin's above
   * all, works until then (or until the key rotates), whatever {@code exp} its maker chose.
   */
  public static final Duration DEFAULT_JWT_MAX_LIFETIME = Duration.ofHours(24);

  /** HS256 needs a key at least as long as its 256-bit hash to be as strong as it claims. */
  public static final int MIN_JWT_SECRET_BYTES = 32;

  public CheckoutApiConfig {
    Objects.requireNonNull(db, "db");
    Objects.requireNonNull(kafka, "kafka");
    Objects.requireNonNull(stripe, "stripe");
    Objects.requireNonNull(jwtSecret, "jwtSecret");
    if (jwtSecret.getBytes(StandardCharsets.UTF_8).length < MIN_JWT_SECRET_BYTES) {
      throw new InvalidConfigException(
          "AUTH_JWT_SECRET", "must be at least " + MIN_JWT_SECRET_BYTES + " bytes long");
    }
    if (port < 0 || port > 65535) {
      throw new InvalidConfigException("API_PORT", "must be a port number (0 to 65535)");
    }
    if (adminPort < 0 || adminPort > 65535) {
      throw new InvalidConfigException(
          "ADMIN_PORT", "must be a port number (0 to 65535; 0 picks a free one)");
    }
    if (adminPort != 0 && adminPort == port) {
      throw new InvalidConfigException(
          "ADMIN_PORT",
          "must differ from API_PORT (" + port + "): health and metrics have their own");
    }
    if (listingTtl.isNegative() || listingTtl.isZero()) {
      throw new InvalidConfigException("LISTING_TTL_DAYS", "must be at least 1");
    }
    if (listingTtl.toDays() > MAX_LISTING_TTL_DAYS) {
      // extra zeros by mistake: an expiry past PostgreSQL's last timestamp fails every listing
      throw new InvalidConfigException(
          "LISTING_TTL_DAYS", "must be at most " + MAX_LISTING_TTL_DAYS + " (ten years)");
    }
    if (rateLimitPerMinute < 1) {
      throw new InvalidConfigException("RATE_LIMIT_PER_MINUTE", "must be at least 1");
    }
    if (writeRateLimitPerMinute < 1) {
      throw new InvalidConfigException("WRITE_RATE_LIMIT_PER_MINUTE", "must be at least 1");
    }
    corsOrigins = List.copyOf(corsOrigins);
    Objects.requireNonNull(http, "http");
    Objects.requireNonNull(jwtMaxLifetime, "jwtMaxLifetime");
    if (jwtMaxLifetime.isNegative() || jwtMaxLifetime.isZero()) {
      throw new InvalidConfigException(
          "AUTH_JWT_MAX_LIFETIME", "must be positive: no token could be accepted");
    }
  }

  /**
   * A configuration whose server has the default limits, on every interface, with an admin port
   * picked free.
   */
  public CheckoutApiConfig(
      DbConfig db,
      KafkaConfig kafka,
      StripeConfig stripe,
      String jwtSecret,
      int port,
      Duration listingTtl,
      int rateLimitPerMinute,
      int writeRateLimitPerMinute,
      List<String> corsOrigins) {
    this(
        db,
        kafka,
        stripe,
        jwtSecret,
        port,
        0,
        listingTtl,
        rateLimitPerMinute,
        writeRateLimitPerMinute,
        corsOrigins,
        HttpConfig.defaults(),
        null,
        null,
        DEFAULT_JWT_MAX_LIFETIME);
  }

  public static CheckoutApiConfig fromEnv(Env env) {
    return new CheckoutApiConfig(
        DbConfig.fromEnv(env),
        KafkaConfig.fromEnv(env),
        StripeConfig.fromEnv(env),
        env.secret("AUTH_JWT_SECRET"),
        env.integer("API_PORT", DEFAULT_PORT),
        env.integer("ADMIN_PORT", DEFAULT_ADMIN_PORT),
        Duration.ofDays(env.integer("LISTING_TTL_DAYS", DEFAULT_LISTING_TTL_DAYS)),
        env.integer("RATE_LIMIT_PER_MINUTE", DEFAULT_RATE_LIMIT_PER_MINUTE),
        env.integer("WRITE_RATE_LIMIT_PER_MINUTE", DEFAULT_WRITE_RATE_LIMIT_PER_MINUTE),
        env.list("CORS_ALLOWED_ORIGINS", false),
        HttpConfig.fromEnv(env),
        tokenClaim(env, "AUTH_JWT_ISSUER"),
        tokenClaim(env, "AUTH_JWT_AUDIENCE"),
        env.duration("AUTH_JWT_MAX_LIFETIME", DEFAULT_JWT_MAX_LIFETIME));
  }

  /**
   * The {@code iss} or {@code aud} of {@code variable}, or null (any) when it is not set; required
   * in production. The key of {@code AUTH_JWT_SECRET} is shared with the issuer, which signs tokens
   * for other services with it too: without both claims checked, a token minted for another
   * service, or for whoever that service lets mint them, would be a token for this API. A
   * placeholder copied from an example is refused as well: every token would be refused.
   */
  private static String tokenClaim(Env env, String variable) {
    String value = env.optional(variable, null);
    if (!Deployment.fromEnv(env).isProduction()) {
      return value;
    }
    if (value == null) {
      throw new InvalidConfigException(
          variable,
          Deployment.inProduction(
              "must be set: without it, a token signed with the shared key for another service is"
                  + " accepted"));
    }
    if (SecretCheck.isPlaceholder(value)) {
      throw new InvalidConfigException(
          variable,
          Deployment.inProduction(
              "is a placeholder; set what the users' token issuer puts in their tokens"));
    }
    return value;
  }

  public CheckoutApiConfig withDb(DbConfig newDb) {
    return copy(c -> c.db = newDb);
  }

  public CheckoutApiConfig withStripe(StripeConfig newStripe) {
    return copy(c -> c.stripe = newStripe);
  }

  public CheckoutApiConfig withPort(int newPort) {
    return copy(c -> c.port = newPort);
  }

  /** The same configuration with health and metrics on {@code newPort} (0 picks a free one). */
  public CheckoutApiConfig withAdminPort(int newPort) {
    return copy(c -> c.adminPort = newPort);
  }

  public CheckoutApiConfig withRateLimitPerMinute(int perMinute) {
    return copy(c -> c.rateLimitPerMinute = perMinute);
  }

  public CheckoutApiConfig withWriteRateLimitPerMinute(int perMinute) {
    return copy(c -> c.writeRateLimitPerMinute = perMinute);
  }

  public CheckoutApiConfig withCorsOrigins(List<String> origins) {
    return copy(c -> c.corsOrigins = origins);
  }

  /** The same configuration with {@code limits} for the HTTP server. */
  public CheckoutApiConfig withHttp(HttpConfig limits) {
    return copy(c -> c.http = limits);
  }

  /** The same configuration, taking only tokens of {@code issuer} for {@code audience}. */
  public CheckoutApiConfig withTokenIssuer(String issuer, String audience) {
    return copy(
        c -> {
          c.jwtIssuer = issuer;
          c.jwtAudience = audience;
        });
  }

  /**
   * The same configuration, refusing tokens whose {@code exp} lies further ahead than {@code max}.
   */
  public CheckoutApiConfig withJwtMaxLifetime(Duration max) {
    return copy(c -> c.jwtMaxLifetime = max);
  }

  /** This configuration with {@code change} made, checked again as a new one is. */
  private CheckoutApiConfig copy(Consumer<Copy> change) {
    Copy copy = new Copy(this);
    change.accept(copy);
    return copy.build();
  }

  /** The fields of a configuration, to change some before building a new one from them. */
  private static final class Copy {
    DbConfig db;
    KafkaConfig kafka;
    StripeConfig stripe;
    String jwtSecret;
    int port;
    int adminPort;
    Duration listingTtl;
    int rateLimitPerMinute;
    int writeRateLimitPerMinute;
    List<String> corsOrigins;
    HttpConfig http;
    String jwtIssuer;
    String jwtAudience;
    Duration jwtMaxLifetime;

    Copy(CheckoutApiConfig from) {
      db = from.db;
      kafka = from.kafka;
      stripe = from.stripe;
      jwtSecret = from.jwtSecret;
      port = from.port;
      adminPort = from.adminPort;
      listingTtl = from.listingTtl;
      rateLimitPerMinute = from.rateLimitPerMinute;
      writeRateLimitPerMinute = from.writeRateLimitPerMinute;
      corsOrigins = from.corsOrigins;
      http = from.http;
      jwtIssuer = from.jwtIssuer;
      jwtAudience = from.jwtAudience;
      jwtMaxLifetime = from.jwtMaxLifetime;
    }

    CheckoutApiConfig build() {
      return new CheckoutApiConfig(
          db,
          kafka,
          stripe,
          jwtSecret,
          port,
          adminPort,
          listingTtl,
          rateLimitPerMinute,
          writeRateLimitPerMinute,
          corsOrigins,
          http,
          jwtIssuer,
          jwtAudience,
          jwtMaxLifetime);
    }
  }

  @Override
  public String toString() {
    return "CheckoutApiConfig[db="
        + db
        + ", kafka="
        + kafka
        + ", stripe="
        + stripe
        + ", port="
        + port
        + ", adminPort="
        + adminPort
        + ", listingTtl="
        + listingTtl
        + ", rateLimitPerMinute="
        + rateLimitPerMinute
        + ", writeRateLimitPerMinute="
        + writeRateLimitPerMinute
        + ", corsOrigins="
        + corsOrigins
        + ", http="
        + http
        + ", jwtIssuer="
        + jwtIssuer
        + ", jwtAudience="
        + jwtAudience
        + ", jwtMaxLifetime="
        + jwtMaxLifetime
        + "]";
  }
}
