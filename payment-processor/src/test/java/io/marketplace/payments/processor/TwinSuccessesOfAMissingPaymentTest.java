package io.marketplace.payments.processor;

import static io.marketplace.payments.processor.support.ProcessorFixture.NOW;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import io.marketplace.payments.common.db.Database;
import io.marketplace.payments.common.db.PaymentIntentLock;
import io.marketplace.payments.common.kafka.RecordHeaders;
import io.marketplace.payments.common.worker.ProcessedEvents;
import io.marketplace.payments.processor.payment.PaymentMetrics;
import io.marketplace.payments.processor.support.ProcessorFixture;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.StripeFixtures;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.jdbi.v3.core.Handle;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Two successes of one PaymentIntent whose {@code payments} row is missing, applied at the same
 * time by two worker transactions: Stripe's twins (one change, two event ids), or a reconcile
 * repair or a redriven dead letter, reaching two consumers at once (a partition-count change moves
 * a PaymentIntent's later events to another partition). Both read the row missing and rebuild it
 * from the PaymentIntent's metadata; the one that gets the PaymentIntent's lock second must apply
 * its event on what the first committed, as a success delivered again is applied: it must not take
 * its twin's activation for another payment's and send a delivered posting fee for refund.
 */
class TwinSuccessesOfAMissingPaymentTest {

  private static final Instant PAID_AT = Instant.parse("2026-03-02T09:59:30Z");

  private static ProcessorFixture world;

  @BeforeAll
  static void start() {
    world = new ProcessorFixture();
    world.start(); // its outbox relay publishes what the transactions below announce
  }

  @AfterAll
  static void stop() {
    world.close();
  }

  @Test
  void shouldApplyTheLaterOfTwoConcurrentTwinSuccessesAsARepeatWhenThePaymentRowWasMissing()
      throws Exception {
    // Given a listing waiting for its posting fee, and a PaymentIntent of ours for it whose
    // payments row is missing (checkout-api priced it, its insert of the row was lost)
    UUID listing = world.listing("pending_payment");
    world.checkoutAttempt(listing, "posting_fee", 500);
    String pi = StripeFixtures.id("pi");
    var meta = world.metadataFor(listing, "posting_fee");
    var first = StripeFixtures.succeeded(pi, 500, meta).created(PAID_AT);
    var twin = StripeFixtures.succeeded(pi, 500, meta).charge(first.charge()).created(PAID_AT);

    Clock clock = Clock.fixed(NOW, ZoneOffset.UTC);
    PaymentMetrics metrics = new PaymentMetrics(new SimpleMeterRegistry());
    try (Database database = Database.open(world.config().database(), "twin-successes");
        ExecutorService threads = Executors.newFixedThreadPool(2)) {
      StripeEventHandlers workerA =
          PaymentProcessor.handlers(world.config(), clock, database, metrics);
      StripeEventHandlers workerB =
          PaymentProcessor.handlers(world.config(), clock, database, metrics);

      // When two worker transactions apply the twins at once: both read the row missing while
      // the PaymentIntent's lock is held (here by the test, as the refund worker holds it while
      // it keeps a refund awaiting the row), and both wait for that lock
      Future<?> a;
      Future<?> b;
      try (Handle holder = world.db.jdbi().open()) {
        holder.begin();
        PaymentIntentLock.lock(holder, pi);
        a = threads.submit(() -> apply(workerA, first, 0));
        b = threads.submit(() -> apply(workerB, twin, 1));
        Await.until(
            ProcessorFixture.WAIT,
            "both worker transactions waiting for the PaymentIntent's lock",
            () ->
                world.db.count(
                        "pg_locks WHERE locktype = 'advisory' AND NOT granted"
                            + " AND database = (SELECT oid FROM pg_database"
                            + " WHERE datname = current_database())")
                    == 2);
        holder.commit();
      }
      a.get(ProcessorFixture.WAIT.toSeconds(), TimeUnit.SECONDS);
      b.get(ProcessorFixture.WAIT.toSeconds(), TimeUnit.SECONDS);
    }

    // Then the listing is activated once, by this payment, which succeeded
    assertThat(world.listingRow(listing))
        .containsEntry("status", "active")
        .containsEntry("payment_intent_id", pi)
        .containsEntry("activated_at", NOW)
        .containsEntry("expires_at", NOW.plus(Duration.ofDays(30)));
    assertThat(world.paymentRow(pi)).containsEntry("status", "succeeded");

    // And the success and the activation are announced once each, and no refund is asked for
    assertThat(world.paymentEvents(listing))
        .extracting(e -> e.get("type"))
        .containsExactly("payment.succeeded", "listing.activated");
    assertThat(world.kafka.readAll(world.topics.refundCommands()))
        .filteredOn(r -> pi.equals(r.key()))
        .isEmpty();

    // And one of the twins applied the success, the other changed nothing, as a repeat does
    assertThat(
            world.db.rows(
                "SELECT status, error_message FROM webhook_events WHERE event_id IN (?, ?)",
                first.eventId(),
                twin.eventId()))
        .extracting(r -> r.get("status"), r -> r.get("error_message"))
        .containsExactlyInAnyOrder(
            tuple("processed", null), tuple("ignored", "payment is already succeeded"));
  }

  /** Applies {@code event} in one transaction, as a worker applies a record of its poll. */
  private static Void apply(StripeEventHandlers worker, StripeFixtures.Builder event, long offset)
      throws Exception {
    var record =
        new ConsumerRecord<>(
            world.topics.stripeEvents().name(),
            0,
            offset,
            event.paymentIntentId(),
            event.json().getBytes(StandardCharsets.UTF_8));
    RecordHeaders.put(record.headers(), RecordHeaders.STRIPE_EVENT_ID, event.eventId());
    RecordHeaders.put(record.headers(), RecordHeaders.STRIPE_EVENT_TYPE, event.type());
    RecordHeaders.put(
        record.headers(), RecordHeaders.RECEIVED_AT, event.created().plusSeconds(1).toString());
    worker
        .jdbi()
        .useTransaction(
            tx -> {
              ProcessedEvents.markNew(
                  tx, world.config().consumer(), List.of(worker.dedupeKey(record)));
              worker.apply(tx, record);
            });
    return null;
  }
}
