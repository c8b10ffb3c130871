package io.marketplace.payments.expirer.pass;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;

/**
 * {@code timestamptz} in and out as explicit UTC offsets, whatever the JVM's time zone, at
 * PostgreSQL's precision (microseconds).
 */
public final class Times {

  private Times() {}

  public static OffsetDateTime bindable(Instant instant) {
    return instant.atOffset(ZoneOffset.UTC);
  }

  /** {@code instant} as PostgreSQL stores it, so what is compared is what is written. */
  public static Instant stored(Instant instant) {
    return instant.truncatedTo(ChronoUnit.MICROS);
  }

  public static Instant read(ResultSet rs, String column) throws SQLException {
    OffsetDateTime value = rs.getObject(column, OffsetDateTime.class);
    return value == null ? null : value.toInstant();
  }
}
