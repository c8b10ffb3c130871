package io.marketplace.payments.ops.acceptance;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.ops.Cli;
import io.marketplace.payments.ops.PaymentsWorld;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.TestDatabase;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * Acceptance: a stream of Stripe events applied by the real payment processor, then replayed from
 * the earliest offset. Re-reading changes no row of any table and announces no new event id.
 */
class ReplayAcceptanceTest {

  private static final List<String> TABLES =
      List.of(
          "users",
          "marketplace_listings",
          "payments",
          "checkout_attempts",
          "listing_promotions",
          "payment_refunds",
          "payment_disputes",
          "webhook_events",
          "processed_events",
          "outbox_events",
          "idempotency_keys");

  @Test
  void shouldLeaveEveryTableEqualAndPublishNoNewIdWhenReplayedFromEarliest() {
    try (PaymentsWorld world = new PaymentsWorld()) {
      world.startProcessor();
      List<String> delivered = new ArrayList<>();

      // Given a stream of events, applied: posting fees, a decline then a success, a featured
      // promotion and a bump, a cancellation, a re-delivery, and someone else's PaymentIntent
      UUID first = world.pendingListing();
      world.paymentRow("pi_replay_1", first, "posting_fee", 500);
      Map<String, Object> firstPaid =
          PaymentsWorld.paymentIntent(
              "pi_replay_1", "succeeded", 500, world.metadata(first, "posting_fee"));
      String firstEvent = world.deliver("payment_intent.succeeded", firstPaid);
      delivered.add(firstEvent);

      UUID second = world.pendingListing();
      world.paymentRow("pi_replay_2", second, "posting_fee", 500);
      Map<String, Object> declined =
          PaymentsWorld.paymentIntent(
              "pi_replay_2", "requires_payment_method", 500, world.metadata(second, "posting_fee"));
      declined.put(
          "last_payment_error",
          Map.of(
              "code",
              "card_declined",
              "decline_code",
              "generic_decline",
              "message",
              "Your card was declined."));
      delivered.add(world.deliver("payment_intent.payment_failed", declined));
      delivered.add(
          world.deliver(
              "payment_intent.succeeded",
              PaymentsWorld.paymentIntent(
                  "pi_replay_2", "succeeded", 500, world.metadata(second, "posting_fee"))));

      world.awaitListingStatus(first, "active");
      world.paymentRow("pi_replay_3", first, "promotion_featured", 500);
      delivered.add(
          world.deliver(
              "payment_intent.succeeded",
              PaymentsWorld.paymentIntent(
                  "pi_replay_3", "succeeded", 500, world.metadata(first, "promotion_featured"))));
      world.paymentRow("pi_replay_4", first, "promotion_bump", 200);
      delivered.add(
          world.deliver(
              "payment_intent.succeeded",
              PaymentsWorld.paymentIntent(
                  "pi_replay_4", "succeeded", 200, world.metadata(first, "promotion_bump"))));

      UUID third = world.pendingListing();
      world.paymentRow("pi_replay_5", third, "posting_fee", 1000);
      delivered.add(
          world.deliver(
              "payment_intent.canceled",
              PaymentsWorld.paymentIntent(
                  "pi_replay_5", "canceled", 1000, world.metadata(third, "posting_fee"))));
      delivered.add(
          world.deliver(
              "payment_intent.succeeded",
              PaymentsWorld.paymentIntent("pi_not_ours", "succeeded", 4200, Map.of())));
      // Stripe delivering the first event again, under its own id
      world.redeliver(firstEvent);

      awaitApplied(world, delivered);
      Map<String, List<String>> before = snapshot(world.db);
      List<String> announcedBefore = world.paymentEvents(null);
      assertThat(announcedBefore)
          .anyMatch(e -> e.startsWith("listing.activated"))
          .anyMatch(e -> e.startsWith("promotion.created"))
          .anyMatch(e -> e.startsWith("payment.failed"));

      // When the operator stops the processor, replays it from the earliest offset, starts it
      // again and waits for its lag to reach 0
      world.stopProcessor();
      Cli cli = world.cli();
      Cli.Result replay = cli.run("replay", "--consumer", world.processorGroup, "--to-earliest");
      world.startProcessor();
      Cli.Result lag =
          cli.run("lag", "--consumer", world.processorGroup, "--wait", "--timeout", "30s");

      // Then every record was re-read, and nothing changed
      assertThat(replay.exitCode()).as(replay.toString()).isZero();
      assertThat(replay.out()).contains("total: " + (delivered.size() + 1) + " records to re-read");
      assertThat(lag.exitCode()).as(lag.toString()).isZero();
      assertThat(lag.out()).contains("lag 0");
      assertThat(snapshot(world.db)).isEqualTo(before);
      assertThat(world.paymentEvents(null)).containsExactlyElementsOf(announcedBefore);
    }
  }

  /** Every delivered event has an outcome and every announcement is on the topic. */
  private static void awaitApplied(PaymentsWorld world, List<String> eventIds) {
    Await.until(
        PaymentsWorld.WAIT,
        "every event applied and announced",
        () ->
            eventIds.stream()
                    .allMatch(
                        id ->
                            world.db.count(
                                    "webhook_events WHERE event_id = ? AND status <> 'received'",
                                    id)
                                == 1)
                // the relay deletes a row once the broker acknowledged it
                && world.db.count("outbox_events") == 0);
  }

  /** Every row of every table, as text, in a stable order. */
  private static Map<String, List<String>> snapshot(TestDatabase db) {
    Map<String, List<String>> tables = new LinkedHashMap<>();
    for (String table : TABLES) {
      List<String> rows =
          new ArrayList<>(
              db.rows("SELECT * FROM " + table).stream().map(Object::toString).toList());
      rows.sort(Comparator.naturalOrder());
      tables.put(table, rows);
    }
    return tables;
  }
}
