package io.marketplace.payments.processor;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.marketplace.payments.common.worker.StreamWorker;
import io.marketplace.payments.processor.support.ProcessorFixture;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.StripeFixtures;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * A database that is not what the code expects (a table missing or renamed, a migration not applied
 * yet, a privilege not granted) fails every record alike, whatever the record: it is a fault of the
 * deployment, waited out and surfaced (the worker not ready), never a reason to dead-letter good
 * payments one after the other.
 */
class SchemaNotAsExpectedTest {

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
            () -> deadLettered(logged) || waitedOut(logged) >= 5);
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

  private static long waitedOut(ListAppender<ILoggingEvent> logged) {
    return List.copyOf(logged.list).stream()
        .filter(e -> e.getFormattedMessage().contains("infrastructure unavailable"))
        .count();
  }
}
