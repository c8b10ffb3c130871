package io.marketplace.payments.system.support;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.postgresql.ds.PGSimpleDataSource;
import org.postgresql.util.PGobject;

/**
 * Plain SQL against a database the test did not create itself (the local stack's, or a server the
 * test stops and starts): rows as maps from column label to value, {@code timestamptz} as {@link
 * Instant}, {@code jsonb} as its text. Calls share a few pooled sessions: a test that polls from
 * many threads (every shopper of a crash test waiting for its listing) would otherwise open a new
 * PostgreSQL backend per look, hundreds a second, and starve the services it is testing of the CPU.
 * A session broken by an outage is dropped from the pool (checked before it is lent again, and
 * evicted when it fails), and a call made while the server is down fails within the connect
 * timeout, as a new session's would.
 */
public final class Sql {

  private static final int SESSIONS = 4;

  private final HikariDataSource dataSource;

  public Sql(String url, String user, String password) {
    PGSimpleDataSource postgres = new PGSimpleDataSource();
    postgres.setUrl(url);
    postgres.setUser(user);
    postgres.setPassword(password);
    postgres.setConnectTimeout(5);
    postgres.setSocketTimeout(30);
    HikariConfig pool = new HikariConfig();
    pool.setDataSource(postgres);
    pool.setPoolName("test-sql");
    pool.setMaximumPoolSize(SESSIONS);
    pool.setMinimumIdle(0);
    pool.setConnectionTimeout(Duration.ofSeconds(6).toMillis());
    pool.setIdleTimeout(Duration.ofSeconds(10).toMillis());
    // a server that is down when the test starts is the test's to wait for, not a failure here
    pool.setInitializationFailTimeout(-1);
    this.dataSource = new HikariDataSource(pool);
  }

  public List<Map<String, Object>> rows(String sql, Object... args) {
    try (Connection connection = dataSource.getConnection();
        PreparedStatement statement = prepare(connection, sql, args);
        ResultSet result = statement.executeQuery()) {
      List<Map<String, Object>> rows = new ArrayList<>();
      ResultSetMetaData meta = result.getMetaData();
      while (result.next()) {
        Map<String, Object> row = new LinkedHashMap<>();
        for (int column = 1; column <= meta.getColumnCount(); column++) {
          row.put(meta.getColumnLabel(column), read(result, meta, column));
        }
        rows.add(row);
      }
      return rows;
    } catch (SQLException e) {
      throw new IllegalStateException("query failed: " + sql + ": " + e.getMessage(), e);
    }
  }

  /** The one row, or empty; more than one is a mistake in the test. */
  public Optional<Map<String, Object>> row(String sql, Object... args) {
    List<Map<String, Object>> rows = rows(sql, args);
    if (rows.size() > 1) {
      throw new IllegalStateException("expected at most one row, got " + rows.size() + ": " + sql);
    }
    return rows.stream().findFirst();
  }

  /** {@code count("payments WHERE status = ?", "succeeded")}: what follows FROM. */
  public long count(String fromWhere, Object... args) {
    Object value =
        row("SELECT count(*) AS n FROM " + fromWhere, args)
            .orElseThrow()
            .values()
            .iterator()
            .next();
    return ((Number) value).longValue();
  }

  public int execute(String sql, Object... args) {
    try (Connection connection = dataSource.getConnection();
        PreparedStatement statement = prepare(connection, sql, args)) {
      statement.execute();
      return Math.max(0, statement.getUpdateCount());
    } catch (SQLException e) {
      throw new IllegalStateException("statement failed: " + sql + ": " + e.getMessage(), e);
    }
  }

  /** Runs {@code sql} once per argument list, as one JDBC batch in one transaction. */
  public void batch(String sql, List<Object[]> argLists) {
    try (Connection connection = dataSource.getConnection()) {
      connection.setAutoCommit(false);
      try (PreparedStatement statement = connection.prepareStatement(sql)) {
        for (Object[] args : argLists) {
          bind(statement, args);
          statement.addBatch();
        }
        statement.executeBatch();
      }
      connection.commit();
    } catch (SQLException e) {
      throw new IllegalStateException("batch failed: " + sql + ": " + e.getMessage(), e);
    }
  }

  private static PreparedStatement prepare(Connection connection, String sql, Object... args)
      throws SQLException {
    PreparedStatement statement = connection.prepareStatement(sql);
    bind(statement, args);
    return statement;
  }

  private static void bind(PreparedStatement statement, Object... args) throws SQLException {
    for (int i = 0; i < args.length; i++) {
      Object arg = args[i];
      statement.setObject(i + 1, arg instanceof Instant at ? at.atOffset(ZoneOffset.UTC) : arg);
    }
  }

  private static Object read(ResultSet result, ResultSetMetaData meta, int column)
      throws SQLException {
    if ("timestamptz".equals(meta.getColumnTypeName(column))) {
      OffsetDateTime time = result.getObject(column, OffsetDateTime.class);
      return time == null ? null : time.toInstant();
    }
    Object value = result.getObject(column);
    return value instanceof PGobject object ? object.getValue() : value;
  }
}
