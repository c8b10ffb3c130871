package io.marketplace.payments.testsupport;

import io.marketplace.payments.common.db.Database;
import io.marketplace.payments.common.db.DbConfig;
import io.marketplace.payments.common.json.Json;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.sql.Types;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import javax.sql.DataSource;
import org.jdbi.v3.core.Jdbi;
import org.postgresql.ds.PGSimpleDataSource;
import org.postgresql.util.PGobject;

/**
 * One migrated PostgreSQL database of its own for a test (see {@link TestInfra#freshDatabase()}),
 * with the settings a service needs and a few helpers to set up and inspect tables in plain SQL.
 *
 * <p>Rows come back as maps from column label to value, in column order, with {@code timestamptz}
 * as {@link Instant}, {@code uuid} as {@link java.util.UUID} and {@code json}/{@code jsonb} as
 * their text. Arguments bind positionally to {@code ?}; an {@link Instant} binds as a {@code
 * timestamptz}.
 */
public final class TestDatabase {

  private static final int POOL_SIZE = 4;

  private final String name;
  private final String url;
  private final String user;
  private final String password;
  private final DataSource dataSource;
  private final Jdbi jdbi;

  TestDatabase(String name, String url, String user, String password) {
    this.name = name;
    this.url = url;
    this.user = user;
    this.password = password;
    PGSimpleDataSource simple = new PGSimpleDataSource();
    simple.setUrl(url);
    simple.setUser(user);
    simple.setPassword(password);
    this.dataSource = simple;
    this.jdbi = Database.jdbi(dataSource, Json.mapper());
  }

  public String name() {
    return name;
  }

  public String url() {
    return url;
  }

  public String user() {
    return user;
  }

  public String password() {
    return password;
  }

  /** What a service under test is given, with a small pool: many services share one server. */
  public DbConfig dbConfig() {
    return new DbConfig(url, user, password, POOL_SIZE);
  }

  /** An unpooled data source: every connection is a new session, nothing to close. */
  public DataSource dataSource() {
    return dataSource;
  }

  /** The Jdbi a service would build on this database (SqlObject, PostgreSQL types, JSON). */
  public Jdbi jdbi() {
    return jdbi;
  }

  /** Every row {@code sql} returns. */
  public List<Map<String, Object>> rows(String sql, Object... args) {
    try (Connection connection = dataSource.getConnection();
        PreparedStatement statement = prepare(connection, sql, args);
        ResultSet resultSet = statement.executeQuery()) {
      List<Map<String, Object>> rows = new ArrayList<>();
      ResultSetMetaData meta = resultSet.getMetaData();
      while (resultSet.next()) {
        Map<String, Object> row = new LinkedHashMap<>();
        for (int column = 1; column <= meta.getColumnCount(); column++) {
          row.put(meta.getColumnLabel(column), read(resultSet, meta, column));
        }
        rows.add(row);
      }
      return rows;
    } catch (SQLException e) {
      throw new IllegalStateException("query failed: " + sql + " " + e.getMessage(), e);
    }
  }

  /** The one row {@code sql} returns, or empty; more than one row is a mistake in the test. */
  public Optional<Map<String, Object>> row(String sql, Object... args) {
    List<Map<String, Object>> rows = rows(sql, args);
    if (rows.size() > 1) {
      throw new IllegalStateException("expected at most one row, got " + rows.size() + ": " + sql);
    }
    return rows.stream().findFirst();
  }

  /**
   * Waits until the outbox relay published every outbox row committed so far. The relay deletes
   * what the broker acknowledged, so once the outbox is empty everything committed before the call
   * is on its topic, and a test can read the topic without racing the relay.
   */
  public void awaitOutboxPublished(Duration timeout) {
    Await.until(timeout, "every outbox row published", () -> count("outbox_events") == 0);
  }

  /**
   * A count: either a whole query whose first column is the number ({@code SELECT count(*) FROM
   * ...}), or just what follows {@code FROM}: {@code count("payment_refunds WHERE status = ?",
   * "pending")}.
   */
  public long count(String sql, Object... args) {
    String trimmed = sql.strip();
    String lower = trimmed.toLowerCase(Locale.ROOT);
    String query =
        lower.startsWith("select") || lower.startsWith("with")
            ? trimmed
            : "SELECT count(*) FROM " + trimmed;
    Map<String, Object> row =
        row(query, args).orElseThrow(() -> new IllegalStateException("no row from " + query));
    Object value = row.values().iterator().next();
    if (!(value instanceof Number number)) {
      throw new IllegalStateException("not a number from " + query + ": " + value);
    }
    return number.longValue();
  }

  /** Runs a statement (insert, update, delete, DDL) and returns how many rows it changed. */
  public int execute(String sql, Object... args) {
    try (Connection connection = dataSource.getConnection();
        PreparedStatement statement = prepare(connection, sql, args)) {
      statement.execute();
      return Math.max(0, statement.getUpdateCount());
    } catch (SQLException e) {
      throw new IllegalStateException("statement failed: " + sql + " " + e.getMessage(), e);
    }
  }

  @Override
  public String toString() {
    return "TestDatabase[" + url + "]";
  }

  private static PreparedStatement prepare(Connection connection, String sql, Object... args)
      throws SQLException {
    PreparedStatement statement = connection.prepareStatement(sql);
    try {
      for (int i = 0; i < args.length; i++) {
        statement.setObject(i + 1, bindable(args[i]));
      }
      return statement;
    } catch (SQLException | RuntimeException e) {
      statement.close();
      throw e;
    }
  }

  private static Object bindable(Object arg) {
    if (arg instanceof Instant instant) {
      return instant.atOffset(ZoneOffset.UTC);
    }
    if (arg instanceof Enum<?> constant) {
      return constant.name();
    }
    return arg;
  }

  private static Object read(ResultSet resultSet, ResultSetMetaData meta, int column)
      throws SQLException {
    String type = meta.getColumnTypeName(column);
    if ("timestamptz".equals(type)) {
      OffsetDateTime time = resultSet.getObject(column, OffsetDateTime.class);
      return time == null ? null : time.toInstant();
    }
    if (meta.getColumnType(column) == Types.TIMESTAMP) {
      Timestamp time = resultSet.getTimestamp(column);
      return time == null ? null : time.toLocalDateTime();
    }
    Object value = resultSet.getObject(column);
    if (value instanceof PGobject object) {
      return object.getValue();
    }
    return value;
  }
}
