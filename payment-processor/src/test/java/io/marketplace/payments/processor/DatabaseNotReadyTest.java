package io.marketplace.payments.processor;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.marketplace.payments.common.worker.StreamWorker;
import io.marketplace.payments.processor.support.ProcessorFixture;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.StripeFixtures;
import io.marketplace.payments.testsupport.TestInfra;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * A database that answers but cannot take the payment, whatever the payment, is waited out, and the
 * payment applied once it can, never dead-lettered: one that refuses writes for a while (a
 * failover: the service's connections reach a server that is, or has just become, a standby; an
 * operator's maintenance window), and one that is not what the code expects (a table missing or
 * renamed, a migration not applied yet, a privilege not granted), a fault of the deployment that
 * would otherwise take good payments out of the stream one after the other.
 */
class DatabaseNotReadyTest {

  @Test
  void shouldWaitOutADatabaseThatRefusesWritesInsteadOfDeadLetteringThePayment() throws Exception {
    Logger workerLog = (Logger) LoggerFactory.getLogger(StreamWorker.class);
    ListAppender<ILoggingEvent> logged = new ListAppender<>();
    logged.start();
    workerLog.addAppender(logged);
    try (ProcessorFixture world = new ProcessorFixture().workers(1)) {
      UUID listing = world.listing("pending_payment");
      String pi = world.payment(listing, "posting_fee", 500);
      world.start();

      var succeeded = StripeFixtures.succeeded(pi, 500, world.metadataFor(listing, "posting_fee"));

      // Given a database whose sessions are all read-only, as a standby's are
      readOnly(world, true);
      try {
        // When a payment succeeds meanwhile
        world.deliver(succeeded);

        // Then the worker waits the database out (well past its attempts for a bad record)
        // rather than dead-letter the payment
        Await.until(
            ProcessorFixture.WAIT,
            "the worker to wait out the read-only database, or to dead-letter the payment",
            () -> deadLettered(logged) || waitedOut(logged, "read-only") >= 5);
        assertThat(deadLettered(logged)).as("the payment dead-lettered").isFalse();
      } finally {
        readOnly(world, false);
      }

      // And once the database takes writes again, the payment is applied
      assertThat(world.awaitOutcome(succeeded.eventId())).containsEntry("status", "processed");
      assertThat(world.listingRow(listing)).containsEntry("status", "active");
    } finally {
      workerLog.detachAppender(logged);
    }
  }

  @Test
  void shouldWaitOutAMissingTableInsteadOfDeadLetteringThePayment() throws Exception {
    Logger workerLog = (Logger) LoggerFactory.getLogger(StreamWorker.class);
    ListAppender<ILoggingEvent> logged = new ListAppender<>();
    logged.start();
    workerLog.addAppender(logged);
    try (ProcessorFixture world = new ProcessorFixture().workers(1)) {
      UUID listing = world.listing("pending_payment");
      String pi = world.payment(listing, "posting_fee", 500);
      world.start();

      var succeeded = StripeFixtures.succeeded(pi, 500, world.metadataFor(listing, "posting_fee"));

      // Given a table the processor writes to that is not there (as to a release whose migration
      // has not run, or a role without its grant)
      world.db.execute("ALTER TABLE webhook_events RENAME TO webhook_events_elsewhere");
      try {
        // When a payment succeeds meanwhile
        world.deliver(succeeded);

        // Then the worker waits (well past its attempts for a bad record) rather than
        // dead-letter the payment
        Await.until(
            ProcessorFixture.WAIT,
            "the worker to wait out the missing table, or to dead-letter the payment",
            () -> deadLettered(logged) || waitedOut(logged, "webhook_events") >= 5);
        assertThat(deadLettered(logged)).as("the payment dead-lettered").isFalse();
      } finally {
        world.db.execute("ALTER TABLE webhook_events_elsewhere RENAME TO webhook_events");
      }

      // And once the table is back, the payment is applied
      assertThat(world.awaitOutcome(succeeded.eventId())).containsEntry("status", "processed");
      assertThat(world.listingRow(listing)).containsEntry("status", "active");
    } finally {
      workerLog.detachAppender(logged);
    }
  }

  private static boolean deadLettered(ListAppender<ILoggingEvent> logged) {
    return List.copyOf(logged.list).stream()
        .anyMatch(e -> e.getFormattedMessage().contains("dead-lettered"));
  }

  private static long waitedOut(ListAppender<ILoggingEvent> logged, String why) {
    return List.copyOf(logged.list).stream()
        .filter(e -> e.getFormattedMessage().contains("infrastructure unavailable"))
        .filter(e -> e.getFormattedMessage().contains(why))
        .count();
  }

  /**
   * Makes every new session of the test's database read-only (or writable again), and ends the
   * sessions open now, so that the service's pool reconnects to a database in that state.
   */
  private static void readOnly(ProcessorFixture world, boolean on) throws SQLException {
    try (Connection connection = TestInfra.postgres().dataSource("postgres").getConnection();
        Statement statement = connection.createStatement()) {
      statement.execute(
          "ALTER DATABASE "
              + world.db.name()
              + " SET default_transaction_read_only = "
              + (on ? "on" : "off"));
      statement.execute(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '"
              + world.db.name()
              + "'");
    }
  }
}
