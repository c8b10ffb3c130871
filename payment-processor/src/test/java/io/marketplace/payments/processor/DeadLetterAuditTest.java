package io.marketplace.payments.processor;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.common.kafka.RecordHeaders;
import io.marketplace.payments.processor.support.ProcessorFixture;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.StripeFixtures;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A dead letter's audit row is written in a transaction of its own once the record is on the
 * dead-letter topic. A failure of PostgreSQL there that would pass (a deadlock, a failover) is
 * waited out as for any record: dropped, the event stayed on the dead-letter topic with no trace in
 * {@code webhook_events}, where an operator looks for a payment that did not go through.
 */
class DeadLetterAuditTest {

  private static ProcessorFixture world;

  @BeforeAll
  static void start() {
    world = new ProcessorFixture();
    world.start();
  }

  @AfterAll
  static void stop() {
    world.close();
  }

  @Test
  void shouldAuditADeadLetterWhoseAuditRowFailedForAPassingReasonOnceTheDatabaseTakesIt() {
    // Given a database that refuses, for a passing reason, to write the row of a failed event
    // (each refusal counted by a sequence, which a rollback does not take back)
    world.db.execute("CREATE SEQUENCE refused_audits");
    world.db.execute("CREATE TABLE audits_refused (since timestamptz NOT NULL)");
    world.db.execute("INSERT INTO audits_refused VALUES (now())");
    world.db.execute(
        """
        CREATE FUNCTION refuse_failed_audit() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.status = 'failed' AND EXISTS (SELECT 1 FROM audits_refused) THEN
            PERFORM nextval('refused_audits');
            RAISE EXCEPTION 'deadlock detected' USING ERRCODE = 'deadlock_detected';
          END IF;
          RETURN NEW;
        END $$""");
    world.db.execute(
        "CREATE TRIGGER refuse_failed_audit BEFORE INSERT OR UPDATE ON webhook_events"
            + " FOR EACH ROW EXECUTE FUNCTION refuse_failed_audit()");
    // And a poison record followed by a good event on the same partition
    UUID listing = world.listing("pending_payment");
    String pi = world.payment(listing, "posting_fee", 500);
    String poisonId = StripeFixtures.id("evt");
    world.kafka.send(
        world.topics.stripeEvents(),
        pi,
        "{\"id\": \"" + poisonId + "\", \"object\": \"event\", truncated",
        Map.of(
            RecordHeaders.STRIPE_EVENT_ID,
            poisonId,
            RecordHeaders.STRIPE_EVENT_TYPE,
            "payment_intent.succeeded",
            RecordHeaders.RECEIVED_AT,
            Instant.now().toString()));
    var good = StripeFixtures.succeeded(pi, 500, world.metadataFor(listing, "posting_fee"));
    world.deliver(good);

    // When the poison record is dead-lettered while its audit row is refused
    world.kafka.awaitRecord(
        world.topics.stripeEvents().dlq(), r -> pi.equals(r.key()), ProcessorFixture.WAIT);
    Await.until(
        ProcessorFixture.WAIT,
        "the dead letter's audit row refused once",
        () -> world.db.count("refused_audits WHERE is_called") == 1);
    // and the database takes it again
    world.db.execute("DELETE FROM audits_refused");

    // Then the dead letter is audited as failed, and the event behind it applied
    Map<String, Object> outcome = world.awaitOutcome(poisonId);
    assertThat(outcome).containsEntry("status", "failed");
    assertThat(world.awaitOutcome(good.eventId())).containsEntry("status", "processed");
    assertThat(world.listingRow(listing)).containsEntry("status", "active");
  }
}
