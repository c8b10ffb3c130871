package io.marketplace.payments.system.support;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
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
 * Instant}, {@code jsonb} as its text. Every call opens its own session, so nothing is held across
 * an outage.
 */
public final class Sql {

  private final PGSimpleDataSource dataSource = new PGSimpleDataSource();

  public Sql(String url, String user, String password) {
    dataSource.setUrl(url);
    dataSource.setUser(user);
    dataSource.setPassword(password);
    dataSource.setConnectTimeout(5);
    dataSource.setSocketTimeout(30);
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
