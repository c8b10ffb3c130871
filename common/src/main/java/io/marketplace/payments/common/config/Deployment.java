package io.marketplace.payments.common.config;

import java.util.Locale;

/**
 * Where a service runs ({@code PAYMENTS_ENVIRONMENT}): {@code production}, {@code staging} or
 * {@code development}, the default (the local stack, compose, tests).
 *
 * <p>Production refuses at start, each with one line naming its variable, what is fine in a test
 * and loses money or secrets in production: a Stripe key of test mode (test cards "pay", so every
 * paid listing would go live unpaid), Stripe's API over plain HTTP, a database server the service
 * does not verify ({@code sslmode} other than {@code verify-full}: whoever sits on the network can
 * pose as the database and read the password and every payment), Kafka without TLS (any pod could
 * write "Stripe events"). The part of the configuration that holds each setting checks it, so every
 * service checks what it reads and nothing else. An unknown name is refused too: {@code prod} would
 * otherwise turn every check off.
 */
public enum Deployment {
  PRODUCTION,
  STAGING,
  DEVELOPMENT;

  public static final String VARIABLE = "PAYMENTS_ENVIRONMENT";

  public static Deployment fromEnv(Env env) {
    String name = env.optional(VARIABLE, "development");
    try {
      return valueOf(name.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new InvalidConfigException(VARIABLE, "must be production, staging or development");
    }
  }

  public boolean isProduction() {
    return this == PRODUCTION;
  }

  /** The reason a production setting is refused, as the refusal's line says it. */
  public static String inProduction(String problem) {
    return problem + " (" + VARIABLE + "=production)";
  }
}
