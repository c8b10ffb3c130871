package io.marketplace.payments.common.worker;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.ConnectException;
import java.sql.SQLException;
import org.junit.jupiter.api.Test;

class FailuresTest {

  @Test
  void shouldWaitOutTheDatabaseWhenItIsUnreachableOrRestarting() {
    // connection refused, admin shutdown, serialization conflict, deadlock: never dead-lettered
    assertThat(Failures.isTransient(new RuntimeException(new SQLException("gone", "08006"))))
        .isTrue();
    assertThat(Failures.isTransient(new SQLException("shutdown", "57P01"))).isTrue();
    assertThat(Failures.isTransient(new SQLException("conflict", "40001"))).isTrue();
    assertThat(Failures.isTransient(new SQLException("deadlock", "40P01"))).isTrue();
    // a standby reached during a failover refuses writes: the database is not there yet
    assertThat(Failures.isTransient(new SQLException("read-only transaction", "25006"))).isTrue();
    assertThat(Failures.isTransient(new IllegalStateException(new ConnectException("refused"))))
        .isTrue();
    assertThat(Failures.isTransient(new Failures.TransientFailure("stripe down", null))).isTrue();
  }

  @Test
  void shouldWaitOutADatabaseThatIsNotWhatTheCodeExpects() {
    // a grant missing, a migration not run, a password rotated on one side: no record causes it
    assertThat(Failures.isTransient(new SQLException("permission denied", "42501"))).isTrue();
    assertThat(Failures.isTransient(new SQLException("no such table", "42P01"))).isTrue();
    assertThat(Failures.isTransient(new SQLException("no such column", "42703"))).isTrue();
    assertThat(Failures.isTransient(new SQLException("no such function", "42883"))).isTrue();
    assertThat(Failures.isTransient(new SQLException("no such schema", "3F000"))).isTrue();
    assertThat(Failures.isTransient(new SQLException("password refused", "28P01"))).isTrue();
    assertThat(Failures.isTransient(new SQLException("no such database", "3D000"))).isTrue();
    // while a value a record brought that the database refuses is the record's
    assertThat(Failures.isTransient(new SQLException("not a uuid", "22P02"))).isFalse();
  }

  @Test
  void shouldDeadLetterWhenTheRecordItselfIsWrong() {
    // a constraint violation or a bug in the handler is the record's failure, not the database's
    assertThat(Failures.isTransient(new SQLException("duplicate", "23505"))).isFalse();
    // a handler that went on after a failed statement: the record's failure, every time
    assertThat(Failures.isTransient(new SQLException("aborted", "25P02"))).isFalse();
    assertThat(Failures.isTransient(new IllegalArgumentException("bad payload"))).isFalse();
    assertThat(Failures.isTransient(new NullPointerException())).isFalse();
  }
}
