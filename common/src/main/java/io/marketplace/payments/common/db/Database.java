package io.marketplace.payments.common.db;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.marketplace.payments.common.json.Json;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.stream.Collectors;
import javax.sql.DataSource;
import org.flywaydb.core.api.output.MigrateResult;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.postgres.PostgresPlugin;
import org.jdbi.v3.sqlobject.SqlObjectPlugin;
import org.postgresql.ds.PGSimpleDataSource;

/** A pooled connection to PostgreSQL and the Jdbi on top of it; one per service. */
public final class Database implements AutoCloseable {

  private static final Duration IDLE_IN_TRANSACTION = Duration.ofMinutes(5);

  private final DbConfig config;
  private final HikariDataSource dataSource;
  private final Jdbi jdbi;

  private Database(DbConfig config, HikariDataSource dataSource) {
    this.config = config;
    this.dataSource = dataSource;
    this.jdbi = jdbi(dataSource, Json.mapper());
  }

  /**
   * Opens the pool. Connections are made lazily, so a service starts while PostgreSQL is down.
   *
   * <p>Every session is set up by the client, not left to the server's defaults: {@code
   * synchronous_commit} as configured (a commit is durable when it returns, which the offset commit
   * after it relies on, even on a server whose default is {@code off}), {@code read committed} as
   * the isolation of every transaction that does not ask for another (each lock-then-look-again of
   * the services, an advisory or row lock followed by a read, needs that read to see what the
   * lock's holder committed, which a server defaulting to {@code repeatable read} would hide behind
   * the snapshot of the transaction's first statement), a {@code statement_timeout} below the
   * socket timeout, and an {@code idle_in_transaction_session_timeout}, so a client that vanished
   * mid-transaction does not hold its row locks. Connect and read timeouts and TCP keepalives make
   * a silently dropped connection fail in seconds instead of hanging a worker or a request for the
   * kernel's TCP timeout.
   */
  public static Database open(DbConfig config, String poolName) {
    HikariConfig hikari = new HikariConfig();
    // the driver lets a parameter of the URL override the same property, so the URL's own options
    // would replace all of the session's: they travel in the session's options instead
    hikari.setJdbcUrl(withoutOptions(config.url()));
    hikari.setUsername(config.user());
    hikari.setPassword(config.password());
    hikari.setMaximumPoolSize(config.maxPoolSize());
    hikari.setMinimumIdle(Math.min(2, config.maxPoolSize()));
    hikari.setPoolName(poolName);
    hikari.setConnectionTimeout(Duration.ofSeconds(5).toMillis());
    hikari.setInitializationFailTimeout(-1);
    sessionProperties(config, config.socketTimeout(), poolName)
        .forEach((name, value) -> hikari.addDataSourceProperty((String) name, value));
    return new Database(config, new HikariDataSource(hikari));
  }

  /** What every connection to PostgreSQL is opened with; {@code read} 0 waits without limit. */
  static Properties sessionProperties(DbConfig config, Duration read, String applicationName) {
    Properties props = new Properties();
    props.setProperty("ApplicationName", applicationName);
    props.setProperty("connectTimeout", Long.toString(seconds(config.connectTimeout())));
    props.setProperty("loginTimeout", Long.toString(2 * seconds(config.connectTimeout())));
    props.setProperty("socketTimeout", Long.toString(seconds(read)));
    props.setProperty("tcpKeepAlive", "true");
    long statementMillis = read.isZero() ? 0 : config.statementTimeout().toMillis();
    // the URL's own options (a search path) first: the server applies the last of a setting given
    // twice, so these stay the session's
    String own = options(config.url());
    props.setProperty(
        "options",
        (own.isBlank() ? "" : own + " ")
            + "-c synchronous_commit="
            + config.synchronousCommit()
            // the server splits options on spaces, unless escaped
            + " -c default_transaction_isolation=read\\ committed"
            + " -c statement_timeout="
            + statementMillis
            + " -c idle_in_transaction_session_timeout="
            + IDLE_IN_TRANSACTION.toMillis());
    return props;
  }

  /** The {@code options} parameter of a JDBC URL, decoded; empty when it has none. */
  static String options(String url) {
    String options = "";
    for (String parameter : parameters(url)) {
      if (parameter.startsWith(OPTIONS)) {
        // the driver reads the last one
        options = URLDecoder.decode(parameter.substring(OPTIONS.length()), StandardCharsets.UTF_8);
      }
    }
    return options;
  }

  /** A JDBC URL without its {@code options} parameters. */
  static String withoutOptions(String url) {
    int query = url.indexOf('?');
    if (query < 0) {
      return url;
    }
    String rest =
        parameters(url).stream()
            .filter(parameter -> !parameter.startsWith(OPTIONS))
            .collect(Collectors.joining("&"));
    return rest.isEmpty() ? url.substring(0, query) : url.substring(0, query + 1) + rest;
  }

  private static final String OPTIONS = "options=";

  private static List<String> parameters(String url) {
    int query = url.indexOf('?');
    return query < 0 ? List.of() : List.of(url.substring(query + 1).split("&"));
  }

  private static long seconds(Duration duration) {
    return Math.max(1, (duration.toMillis() + 999) / 1000);
  }

  /**
   * The Jdbi set-up every service shares: SqlObject DAOs and PostgreSQL types (uuid, timestamptz).
   */
  public static Jdbi jdbi(DataSource dataSource, ObjectMapper mapper) {
    Jdbi jdbi =
        Jdbi.create(dataSource)
            .installPlugin(new SqlObjectPlugin())
            .installPlugin(new PostgresPlugin());
    // after the plugins: the factory registered last is asked first
    jdbi.registerArgument(new TextArrays());
    return jdbi;
  }

  /**
   * Applies the schema over a connection of its own, without the pool's read and statement
   * timeouts: a migration may rewrite a large table or wait for a lock longer than any request.
   * Where the service does not migrate ({@link DbConfig#migrate()} false), only checks that the
   * schema's owner has applied every migration it needs.
   */
  public Database migrate() {
    if (config.migrate()) {
      applyMigrations(config);
    } else {
      Migrations.requireCurrent(unpooled(Duration.ZERO, "flyway"));
    }
    return this;
  }

  /**
   * Applies every pending migration as {@code config}'s user, who must own the schema, whatever
   * {@link DbConfig#migrate()} says: {@code ./payments migrate} and the migration Job.
   */
  public static MigrateResult applyMigrations(DbConfig config) {
    return Migrations.migrate(unpooled(config, Duration.ZERO, "flyway"));
  }

  /**
   * {@link #applyMigrations}, refusing and applying nothing unless {@code config}'s user owns every
   * table the schema has ({@link Migrations#migrateAsOwner}): {@code ./payments migrate} and the
   * migration Job, where the services' role relies on the owner's default privileges.
   */
  public static MigrateResult applyMigrationsAsOwner(DbConfig config) {
    return Migrations.migrateAsOwner(unpooled(config, Duration.ZERO, "flyway"));
  }

  /**
   * A connection of its own, outside the pool, with the pool's session settings and timeouts: for a
   * session that lives as long as the process rather than a request (a session-level advisory
   * lock). The caller closes it.
   */
  public Connection openSession(String applicationName) throws SQLException {
    return openSession(config, applicationName);
  }

  /**
   * {@link #openSession(String)} for a caller that has the configuration but no pool of its own to
   * hand (a lock taken per pass): the same session settings and the same connect and read timeouts,
   * so a database gone silent fails it within {@code DATABASE_SOCKET_TIMEOUT}.
   */
  public static Connection openSession(DbConfig config, String applicationName)
      throws SQLException {
    return unpooled(config, config.socketTimeout(), applicationName).getConnection();
  }

  private PGSimpleDataSource unpooled(Duration read, String applicationName) {
    return unpooled(config, read, applicationName);
  }

  private static PGSimpleDataSource unpooled(
      DbConfig config, Duration read, String applicationName) {
    PGSimpleDataSource source = new PGSimpleDataSource();
    source.setUrl(config.url());
    source.setUser(config.user());
    source.setPassword(config.password());
    try {
      for (var property : sessionProperties(config, read, applicationName).entrySet()) {
        source.setProperty((String) property.getKey(), (String) property.getValue());
      }
    } catch (SQLException e) {
      throw new IllegalStateException("cannot set up a connection of its own", e);
    }
    return source;
  }

  public Jdbi jdbi() {
    return jdbi;
  }

  public DataSource dataSource() {
    return dataSource;
  }

  /** True when PostgreSQL answers a trivial query within a second: the readiness check. */
  public boolean isReachable() {
    try (var connection = dataSource.getConnection()) {
      return connection.isValid(1);
    } catch (SQLException e) {
      return false;
    }
  }

  @Override
  public void close() {
    dataSource.close();
  }
}
