package io.marketplace.payments.common.db;

import io.marketplace.payments.common.config.Env;

/**
 * Where PostgreSQL is (SPEC §2). The password never appears in {@link #toString()}; it may be unset
 * (a server that trusts its clients), and when set it must not be a placeholder or guessable.
 */
public record DbConfig(String url, String user, String password, int maxPoolSize) {

  public static DbConfig fromEnv(Env env) {
    return new DbConfig(
        env.required("DATABASE_URL"),
        env.required("DATABASE_USER"),
        env.optionalSecret("DATABASE_PASSWORD"),
        env.integer("DATABASE_POOL_SIZE", 10));
  }

  public DbConfig withPoolSize(int size) {
    return new DbConfig(url, user, password, size);
  }

  @Override
  public String toString() {
    return "DbConfig[url=" + url + ", user=" + user + ", maxPoolSize=" + maxPoolSize + "]";
  }
}
