package io.marketplace.payments.common.db;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.marketplace.payments.common.json.Json;
import java.sql.SQLException;
import java.time.Duration;
import javax.sql.DataSource;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.postgres.PostgresPlugin;
import org.jdbi.v3.sqlobject.SqlObjectPlugin;

/** A pooled connection to PostgreSQL and the Jdbi on top of it; one per service. */
public final class Database implements AutoCloseable {

  private final HikariDataSource dataSource;
  private final Jdbi jdbi;

  private Database(HikariDataSource dataSource) {
    this.dataSource = dataSource;
    this.jdbi = jdbi(dataSource, Json.mapper());
  }

  /** Opens the pool. Connections are made lazily, so a service starts while PostgreSQL is down. */
  public static Database open(DbConfig config, String poolName) {
    HikariConfig hikari = new HikariConfig();
    hikari.setJdbcUrl(config.url());
    hikari.setUsername(config.user());
    hikari.setPassword(config.password());
    hikari.setMaximumPoolSize(config.maxPoolSize());
    hikari.setMinimumIdle(Math.min(2, config.maxPoolSize()));
    hikari.setPoolName(poolName);
    hikari.setConnectionTimeout(Duration.ofSeconds(5).toMillis());
    hikari.setInitializationFailTimeout(-1);
    return new Database(new HikariDataSource(hikari));
  }

  /**
   * The Jdbi set-up every service shares: SqlObject DAOs and PostgreSQL types (uuid, timestamptz).
   */
  public static Jdbi jdbi(DataSource dataSource, ObjectMapper mapper) {
    Jdbi jdbi =
        Jdbi.create(dataSource)
            .installPlugin(new SqlObjectPlugin())
            .installPlugin(new PostgresPlugin());
    return jdbi;
  }

  public Database migrate() {
    Migrations.migrate(dataSource);
    return this;
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
