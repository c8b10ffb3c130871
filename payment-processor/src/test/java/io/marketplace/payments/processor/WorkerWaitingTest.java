package io.marketplace.payments.processor;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.processor.support.ProcessorFixture;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.StripeFixtures;
import java.sql.Connection;
import java.sql.Statement;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A record the processor cannot apply for a passing reason (here a row lock another transaction
 * holds) is never dead-lettered, and every record behind it waits: the processor's {@code /metrics}
 * says how long, so an operator sees one stuck worker even while the rest of the fleet applies.
 */
class WorkerWaitingTest {

  private static final String WAITING = "payments_worker_waiting_seconds";

  private static ProcessorFixture world;

  @BeforeAll
  static void start() {
    world = new ProcessorFixture().workers(1);
    world.start();
  }

  @AfterAll
  static void stop() {
    world.close();
  }

  @Test
  void shouldShowHowLongItsRecordsWaitWhileTheirRowIsLockedAndNothingOnceApplied()
      throws Exception {
    // Given a posting fee whose payment row another transaction holds locked
    UUID listing = world.listing("pending_payment");
    String pi = world.payment(listing, "posting_fee", 500);
    var event = StripeFixtures.succeeded(pi, 500, world.metadataFor(listing, "posting_fee"));
    try (Connection other = world.db.dataSource().getConnection()) {
      other.setAutoCommit(false);
      try (Statement lock = other.createStatement()) {
        lock.execute(
            "SELECT 1 FROM payments WHERE stripe_payment_intent_id = '" + pi + "' FOR UPDATE");
      }
      assertThat(world.metric(WAITING, "consumer=\"payment-processor\"")).isZero();

      // When its success is delivered
      world.deliver(event);

      // Then the processor's metrics show the worker holding it for seconds, then longer
      Await.until(
          ProcessorFixture.WAIT,
          "the worker shown waiting for 2 s",
          () -> world.metric(WAITING, "consumer=\"payment-processor\"") >= 2);
      double shown = world.metric(WAITING, "consumer=\"payment-processor\"");
      Await.until(
          ProcessorFixture.WAIT,
          "the wait shown growing",
          () -> world.metric(WAITING, "consumer=\"payment-processor\"") > shown);
      other.rollback();
    }

    // And once the lock is gone the event is applied and the worker is shown waiting for nothing
    assertThat(world.awaitOutcome(event.eventId())).containsEntry("status", "processed");
    Await.until(
        ProcessorFixture.WAIT,
        "the worker shown holding nothing",
        () -> world.metric(WAITING, "consumer=\"payment-processor\"") == 0);
  }
}
