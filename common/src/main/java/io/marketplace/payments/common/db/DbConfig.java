package io.marketplace.payments.common.db;

import io.marketplace.payments.common.config.Deployment;
import io.marketplace.payments.common.config.Env;
import io.marketplace.payments.common.config.InvalidConfigException;
import java.time.Duration;
import java.util.Set;

/**
 * Where PostgreSQL is (SPEC §2) and how a session with it must behave. The password never appears
 * in {@link #toString()}.
 *
 * @param synchronousCommit the {@code synchronous_commit} every session of a service runs with: a
 *     worker commits a Kafka offset only after its database commit, so that commit must be durable
 *     when it returns, whatever the server's default says. {@code on} (the default), {@code
 *     remote_write} or {@code remote_apply}; never {@code off} or {@code local}
 * @param connectTimeout how long opening a TCP connection may take
 * @param socketTimeout how long a read from PostgreSQL may wait before the connection is given up:
 *     a connection the network dropped silently fails after this, not after the kernel's TCP
 *     timeout (hours). Statements are cancelled by the server a little earlier ({@code
 *     statement_timeout}), so a slow statement ends with a clear error and a healthy connection
 * @param migrate whether the service applies the schema's migrations when it starts ({@code
 *     DATABASE_MIGRATE}, default true). False where the service's role may only read and write
 *     rows: the schema's owner migrates first ({@code ./payments migrate}, the deployment's
 *     migration Job), and a service finding migrations it needs not yet applied refuses to start
 */
public record DbConfig(
    String url,
    String user,
    String password,
    int maxPoolSize,
    String synchronousCommit,
    Duration connectTimeout,
    Duration socketTimeout,
    boolean migrate) {

  static final Set<String> DURABLE_COMMITS = Set.of("on", "remote_write", "remote_apply");
  static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
  static final Duration SOCKET_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration STATEMENT_MARGIN = Duration.ofSeconds(2);

  public DbConfig {
    if (!DURABLE_COMMITS.contains(synchronousCommit)) {
      throw new InvalidConfigException(
          "DATABASE_SYNCHRONOUS_COMMIT", "must be one of on, remote_write, remote_apply");
    }
    if (socketTimeout.compareTo(STATEMENT_MARGIN.multipliedBy(2)) < 0) {
      throw new InvalidConfigException("DATABASE_SOCKET_TIMEOUT", "must be at least 4s");
    }
    if (connectTimeout.isNegative() || connectTimeout.isZero()) {
      throw new InvalidConfigException("DATABASE_CONNECT_TIMEOUT", "must be positive");
    }
  }

  /** The defaults: durable commits, 5 s to connect, 30 s for a read, migrations applied. */
  public DbConfig(String url, String user, String password, int maxPoolSize) {
    this(url, user, password, maxPoolSize, "on", CONNECT_TIMEOUT, SOCKET_TIMEOUT);
  }

  /** Migrations applied at start, as services do unless told otherwise. */
  public DbConfig(
      String url,
      String user,
      String password,
      int maxPoolSize,
      String synchronousCommit,
      Duration connectTimeout,
      Duration socketTimeout) {
    this(url, user, password, maxPoolSize, synchronousCommit, connectTimeout, socketTimeout, true);
  }

  public static DbConfig fromEnv(Env env) {
    String url = env.required("DATABASE_URL");
    requireJdbcUrl(url);
    if (Deployment.fromEnv(env).isProduction() && !verifiesServer(url)) {
      // the URL is not quoted: it may carry a password
      throw new InvalidConfigException(
          "DATABASE_URL",
          Deployment.inProduction(
              "must set sslmode=verify-full (with sslrootcert, the server's CA): with require or"
                  + " less, whoever sits on the network can pose as the database"));
    }
    return new DbConfig(
        url,
        env.required("DATABASE_USER"),
        env.optionalSecret("DATABASE_PASSWORD"),
        env.integer("DATABASE_POOL_SIZE", 10),
        env.optional("DATABASE_SYNCHRONOUS_COMMIT", "on"),
        env.duration("DATABASE_CONNECT_TIMEOUT", CONNECT_TIMEOUT),
        env.duration("DATABASE_SOCKET_TIMEOUT", SOCKET_TIMEOUT),
        env.bool("DATABASE_MIGRATE", true));
  }

  /**
   * Refuses, naming the variable and never its value, a URL the driver would print: one of another
   * scheme ({@code postgres://user:password@host/db}, as psql and hosting platforms write it), or a
   * JDBC URL with a user and password before its host. The driver and the pool quote such a URL
   * whole in their errors (the second is even looked up as a host name), the password with it.
   */
  static void requireJdbcUrl(String url) {
    if (!url.startsWith(JDBC_PREFIX)) {
      throw new InvalidConfigException(
          "DATABASE_URL",
          "must be a JDBC URL of PostgreSQL, "
              + JDBC_PREFIX
              + "//HOST:PORT/DATABASE (the postgres:// form psql takes is not one), with the"
              + " user and password in DATABASE_USER and DATABASE_PASSWORD");
    }
    String rest = url.substring(JDBC_PREFIX.length());
    if (rest.startsWith("//")) {
      int end = rest.length();
      for (char stop : new char[] {'/', '?'}) {
        int at = rest.indexOf(stop, 2);
        if (at >= 0 && at < end) {
          end = at;
        }
      }
      if (rest.substring(2, end).contains("@")) {
        throw new InvalidConfigException(
            "DATABASE_URL",
            "must not carry a user or password before its host (USER:PASSWORD@HOST), which the"
                + " driver takes for a host name: put them in DATABASE_USER and"
                + " DATABASE_PASSWORD");
      }
    }
  }

  private static final String JDBC_PREFIX = "jdbc:postgresql:";

  /** Whether the JDBC URL asks for TLS with the server's certificate and host name verified. */
  static boolean verifiesServer(String url) {
    int query = url.indexOf('?');
    if (query < 0) {
      return false;
    }
    String mode = null;
    for (String parameter : url.substring(query + 1).split("&")) {
      if (parameter.startsWith("sslmode=")) {
        // the driver reads the last one
        mode = parameter.substring("sslmode=".length());
      }
    }
    return "verify-full".equals(mode);
  }

  public DbConfig withPoolSize(int size) {
    return new DbConfig(
        url, user, password, size, synchronousCommit, connectTimeout, socketTimeout, migrate);
  }

  public DbConfig withSocketTimeout(Duration timeout) {
    return new DbConfig(
        url, user, password, maxPoolSize, synchronousCommit, connectTimeout, timeout, migrate);
  }

  /** The server cancels a statement this long after it started, before the client gives up. */
  public Duration statementTimeout() {
    return socketTimeout.minus(STATEMENT_MARGIN);
  }

  @Override
  public String toString() {
    return "DbConfig[url="
        + url
        + ", user="
        + user
        + ", maxPoolSize="
        + maxPoolSize
        + ", synchronousCommit="
        + synchronousCommit
        + ", connectTimeout="
        + connectTimeout
        + ", socketTimeout="
        + socketTimeout
        + ", migrate="
        + migrate
        + "]";
  }
}
